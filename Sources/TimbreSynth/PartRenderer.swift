import Foundation
import TimbreCore

/// Turns plans into audio. Holds the SoundFonts, SFZ instruments, note sets, drum kits and
/// lists of recordings it has used (loaded on first use), so make one per worker thread.
public final class PartRenderer {
    public let sampleRate: Int
    /// Where downloaded libraries live.
    public let sources: URL
    public let responses: ImpulseResponses?
    /// The recordings of `recording` patches kept for the held-out split, if any.
    public let recordingsHeldOut: RecordedPhrases.HeldOutShare?
    /// Each `recording` part plays its recording faster or slower by up to this many
    /// semitones, drawn per part (0: as recorded).
    public let recordingRepitch: Double
    private var soundFonts: [String: SoundFontSynth] = [:]
    private var samplers: [String: SfzInstrument] = [:]
    private var kits: [String: HydrogenDrumKit] = [:]
    private var recordings: [String: RecordedPhrases] = [:]

    public init(sources: URL, responses: ImpulseResponses? = nil, sampleRate: Int = 44_100, recordingsHeldOut: RecordedPhrases.HeldOutShare? = nil,
                recordingRepitch: Double = 0) {
        self.sources = sources
        self.responses = responses
        self.recordingsHeldOut = recordingsHeldOut
        self.recordingRepitch = recordingRepitch
        self.sampleRate = sampleRate
    }

    /// Renders the notes a part plays in `context` for `seconds`, leaving out notes that
    /// start in `restingBars`, then runs its recording chain.
    public func render(_ part: PartPlan, context: MusicalContext, seconds: Double, restingBars: [Int] = []) throws -> StereoSignal {
        var rng = SeededGenerator(seed: part.renderSeed)
        let instrument = InstrumentSources.source(for: part.code)!
        var notes = part.drumPiece.map { PhraseComposer.drumPiece($0, context: context, seconds: seconds, rng: &rng) }
            ?? PhraseComposer.compose(instrument.idiom, range: instrument.range, context: context, seconds: seconds, rng: &rng)
        if !restingBars.isEmpty {
            let resting = Set(restingBars)
            notes.removeAll { resting.contains(Int($0.start / context.secondsPerBar)) }
        }
        var performance = Performance(notes: notes, seconds: seconds)
        performance.detuneCents = part.detuneCents
        performance.vibrato = part.vibrato
        let patch = part.patch
        var signal: StereoSignal
        switch patch.kind {
        case .sf2:
            guard let preset = patch.soundFontPreset else { throw FileError(path: patch.location, reason: "preset \"\(patch.preset)\" is not bank:program") }
            signal = try soundFont(patch).render(performance, preset: preset)
        case .hydrogen:
            signal = try kit(patch).render(notes, seconds: seconds)
        case .stk:
            signal = try StkRenderer.render(performance, instrument: patch.preset, sampleRate: sampleRate, rng: &rng)
        case .festival:
            signal = try FestivalRenderer.render(performance, voice: patch.preset, sampleRate: sampleRate, rng: &rng)
        case .recording:
            // Drawn only when asked for, so the parts of a corpus without it stay as they were.
            let rate = recordingRepitch > 0 ? pow(2, rng.uniform(-recordingRepitch, recordingRepitch) / 12) : 1
            signal = try phrases(patch).render(seconds: seconds, sampleRate: sampleRate, playbackRate: rate, rng: &rng)
            RecordedPhrases.silence(bars: Set(restingBars), secondsPerBar: context.secondsPerBar, in: &signal)
        case .sfz, .notes:
            let sampler = try self.sampler(patch)
            if instrument.idiom == .drums {
                let playable = sampler.playableKeys
                performance.notes = notes.compactMap { note in
                    PhraseComposer.DrumKey.playable(note.key, in: playable).map { var n = note; n.key = $0; return n }
                }
                performance.vibrato = 0
            }
            signal = try sampler.render(performance, rng: &rng)
        }
        part.chain.apply(to: &signal, rng: &rng, responses: responses)
        return signal
    }

    private func phrases(_ patch: Patch) throws -> RecordedPhrases {
        let key = patch.location + "\u{1}" + patch.preset
        if let phrases = recordings[key] { return phrases }
        let phrases = try RecordedPhrases(folder: patch.url(sources: sources), root: patch.root(sources: sources), filter: patch.preset,
                                             heldOut: recordingsHeldOut)
        recordings[key] = phrases
        return phrases
    }

    private func soundFont(_ patch: Patch) throws -> SoundFontSynth {
        if let synth = soundFonts[patch.location] { return synth }
        let synth = try SoundFontSynth(soundFont: patch.url(sources: sources), sampleRate: sampleRate)
        soundFonts[patch.location] = synth
        return synth
    }

    private func kit(_ patch: Patch) throws -> HydrogenDrumKit {
        if let kit = kits[patch.location] { return kit }
        let folder = patch.url(sources: sources)
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("drumkit.xml").path) else {
            throw FileError(path: folder.path, reason: "drum kit not installed (see datasets/sources.md)")
        }
        let kit = try HydrogenDrumKit(folder: folder, sampleRate: sampleRate)
        kits[patch.location] = kit
        return kit
    }

    private func sampler(_ patch: Patch) throws -> SfzInstrument {
        let key = patch.location + "\u{1}" + patch.preset
        if let sampler = samplers[key] { return sampler }
        let url = patch.url(sources: sources)
        let sampler: SfzInstrument
        if patch.kind == .notes {
            sampler = try SfzInstrument(regions: NoteSampleSet.regions(folder: url, filter: patch.preset), sampleFolder: url, sampleRate: sampleRate)
        } else {
            let microphones = patch.preset.split(separator: "|").map(String.init)
            sampler = try SfzInstrument(url: url, root: patch.root(sources: sources), sampleRate: sampleRate) { opcodes in
                microphones.isEmpty || microphones.contains { opcodes["sample"]?.contains($0) == true }
            }
        }
        samplers[key] = sampler
        return sampler
    }
}
