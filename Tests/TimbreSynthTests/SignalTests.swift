import Foundation
import Testing
import TimbreCore
@testable import TimbreSynth

/// Magnitude response of a biquad at `frequency`, from its transfer function.
private func response(_ f: Biquad, at frequency: Double, sampleRate: Double) -> Double {
    let w = 2 * Double.pi * frequency / sampleRate
    func polynomial(_ c0: Double, _ c1: Double, _ c2: Double) -> (Double, Double) {
        (c0 + c1 * cos(-w) + c2 * cos(-2 * w), c1 * sin(-w) + c2 * sin(-2 * w))
    }
    let (nr, ni) = polynomial(f.b0, f.b1, f.b2), (dr, di) = polynomial(1, f.a1, f.a2)
    return ((nr * nr + ni * ni) / (dr * dr + di * di)).squareRoot()
}

struct SignalTests {
    @Test func equaliserFiltersHaveTheirDesignedGains() {
        let rate = 44_100.0
        let peak = Biquad(.peak, frequency: 1000, gainDB: 6, q: 1, sampleRate: 44_100)
        #expect(abs(20 * log10(response(peak, at: 1000, sampleRate: rate)) - 6) < 1e-9)
        #expect(abs(20 * log10(response(peak, at: 20, sampleRate: rate))) < 0.05)
        let low = Biquad(.lowPass, frequency: 2000, sampleRate: 44_100)
        #expect(abs(response(low, at: 0, sampleRate: rate) - 1) < 1e-12)
        #expect(abs(20 * log10(response(low, at: 2000, sampleRate: rate)) + 3.0103) < 0.01)
        let shelf = Biquad(.highShelf, frequency: 4000, gainDB: -9, sampleRate: 44_100)
        #expect(abs(20 * log10(response(shelf, at: 20_000, sampleRate: rate)) + 9) < 0.3)
        #expect(abs(20 * log10(response(shelf, at: 50, sampleRate: rate))) < 0.05)

        // Running the filter over a sine gives the same gain as the formula.
        var sine = (0..<44_100).map { Float(sin(2 * Double.pi * 1000 * Double($0) / rate)) }
        peak.apply(to: &sine)
        let tail = sine[22_050...]
        let amplitude = tail.map { abs(Double($0)) }.max()!
        #expect(abs(20 * log10(amplitude) - 6) < 0.01)
    }

    @Test func chainSetsTheLevelAndNeverClips() {
        var rng = SeededGenerator(seed: 4)
        for _ in 0..<5 {
            var signal = StereoSignal(frames: 44_100, sampleRate: 44_100)
            for i in 0..<signal.frames { signal.left[i] = Float(sin(Double(i) * 0.05)); signal.right[i] = signal.left[i] * 0.5 }
            let chain = AugmentationChain.random(using: &rng)
            chain.apply(to: &signal, rng: &rng)
            #expect(signal.peak <= 0.98 + 1e-6)
            let level = 20 * log10(Double(signal.rms))
            #expect(level <= chain.levelDB + 1e-3)
            #expect(signal.peak < 0.98 ? abs(level - chain.levelDB) < 0.01 : true)
        }
    }

    @Test func drumKitInstrumentNamesMapToGeneralMIDIKeys() {
        typealias K = PhraseComposer.DrumKey
        let cases: [(String, Int?)] = [
            ("Kick (Tama Superstar 22\")", K.kick), ("c3 - bass drum 1", K.kick), ("BassDrum", K.kick),
            ("Snare Rock", K.snare), ("Snare Roll", nil), ("Pearl Side Stick", K.sideStick),
            ("Hi-Hat Closed (Paiste Alpha Metal edge 14\")", K.closedHat), ("Sabian Hat Pedal", K.pedalHat), ("Open HH", K.openHat),
            ("Ride Jazz", K.ride), ("Ride Bell", nil), ("Crash Left", K.crash),
            ("Floor Tom", K.lowTom), ("Tom Mid", K.midTom), ("Tom Hi", K.highTom), ("Cowbell", nil), ("Hand Clap", nil),
        ]
        for (name, key) in cases { #expect(HydrogenDrumKit.drumKey(forInstrumentNamed: name) == key, "\(name)") }
    }

    @Test func phrasesStayInRangeAndInTime() {
        var rng = SeededGenerator(seed: 11)
        for source in InstrumentSources.all {
            for _ in 0..<20 {
                let context = MusicalContext.random(using: &rng)
                let notes = PhraseComposer.compose(source.idiom, range: source.range, context: context, seconds: 9, rng: &rng)
                #expect(!notes.isEmpty, "\(source.code)")
                #expect(notes.allSatisfy { (0...127).contains($0.key) && $0.start >= 0 && $0.duration > 0 }, "\(source.code)")
                if source.idiom == .melody || source.idiom == .voice || source.idiom == .bassLine {
                    #expect(notes.allSatisfy { source.range.contains($0.key) }, "\(source.code) leaves its range")
                }
                // Sound throughout: something starts in every 3-s excerpt.
                for excerpt in 0..<3 { #expect(notes.contains { $0.start >= Double(excerpt) * 3 && $0.start < Double(excerpt + 1) * 3 }, "\(source.code) excerpt \(excerpt) empty") }
            }
        }
    }
}

struct SoundFontSynthTests {
    /// Workers reuse one synthesiser for many takes, so a take must not depend on what
    /// was rendered before it.
    @Test func aRenderDoesNotDependOnThePreviousOne() throws {
        let font = URL(fileURLWithPath: "/usr/share/sounds/sf2/FluidR3_GM.sf2")
        var performance = Performance(notes: [Note(start: 0.1, duration: 0.8, key: 60, velocity: 90), Note(start: 0.5, duration: 1, key: 67, velocity: 70)], seconds: 2)
        performance.vibrato = 40
        let other = Performance(notes: [Note(start: 0, duration: 3, key: 40, velocity: 127)], seconds: 1)
        let fresh = try SoundFontSynth(soundFont: font).render(performance, preset: Preset(program: 40))
        let used = try SoundFontSynth(soundFont: font)
        _ = try used.render(other, preset: Preset(program: 0))
        _ = try used.render(other, preset: Preset(bank: 128, program: 0))
        let again = try used.render(performance, preset: Preset(program: 40))
        #expect(fresh.rms > 1e-3)
        let differing = zip(fresh.left + fresh.right, again.left + again.right).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(differing.isEmpty, "\(differing.count) samples differ, first at \(differing.first?.offset ?? -1): \(String(describing: differing.first?.element))")
    }
}
