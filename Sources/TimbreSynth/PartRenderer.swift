import Foundation
import TimbreCore

/// Turns plans into audio. Holds a loaded SoundFont and the drum kits it has used, so make
/// one per worker thread.
public final class PartRenderer {
    public let synth: SoundFontSynth
    public let drumKitFolder: URL
    private var kits: [String: HydrogenDrumKit] = [:]

    public init(soundFont: URL, drumKitFolder: URL, sampleRate: Int = 44_100) throws {
        synth = try SoundFontSynth(soundFont: soundFont, sampleRate: sampleRate)
        self.drumKitFolder = drumKitFolder
    }

    /// Renders the notes a part plays in `context` for `seconds`, leaving out notes that
    /// start in `restingBars`, then runs its recording chain.
    public func render(_ part: PartPlan, context: MusicalContext, seconds: Double, restingBars: [Int] = []) throws -> StereoSignal {
        var rng = SeededGenerator(seed: part.renderSeed)
        let instrument = InstrumentSources.source(for: part.code)!
        var notes = PhraseComposer.compose(instrument.idiom, range: instrument.range, context: context, seconds: seconds, rng: &rng)
        if !restingBars.isEmpty {
            let resting = Set(restingBars)
            notes.removeAll { resting.contains(Int($0.start / context.secondsPerBar)) }
        }
        var signal: StereoSignal
        switch part.source {
        case .soundFont(let preset):
            var performance = Performance(notes: notes, seconds: seconds)
            performance.detuneCents = part.detuneCents
            performance.vibrato = part.vibrato
            signal = try synth.render(performance, preset: preset)
        case .drumKit(let name):
            signal = try kit(named: name).render(notes, seconds: seconds)
        }
        part.chain.apply(to: &signal, rng: &rng)
        return signal
    }

    private func kit(named name: String) throws -> HydrogenDrumKit {
        if let kit = kits[name] { return kit }
        let folder = drumKitFolder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("drumkit.xml").path) else {
            throw FileError(path: folder.path, reason: "drum kit not installed (Debian package hydrogen-drumkits)")
        }
        let kit = try HydrogenDrumKit(folder: folder, sampleRate: synth.sampleRate)
        kits[name] = kit
        return kit
    }
}
