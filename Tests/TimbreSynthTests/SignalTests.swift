import Foundation
import Testing
import TimbreCore
@testable import TimbreSynth
import TimbreDSP

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

    /// A file that is not a SoundFont is named with fluidsynth's own reason, on one line.
    @Test func aBrokenSoundFontIsReportedWithFluidSynthsReason() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("broken-sf2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases: [(bytes: [UInt8], reason: String)] = [
            (Array("this is no RIFF file at all".utf8), "not a SoundFont libfluidsynth can load (Not a RIFF file)"),
            (Array("RIFF".utf8) + [0x10, 0, 0, 0] + Array("sfbkLIST".utf8), "not a SoundFont libfluidsynth can load (SoundFont file size mismatch)"),
        ]
        for (index, broken) in cases.enumerated() {
            let file = folder.appendingPathComponent("font\(index).sf2")
            try Data(broken.bytes).write(to: file)
            #expect(throws: FileError(path: file.path, reason: broken.reason)) { try SoundFontSynth(soundFont: file) }
        }
    }

    /// Corpus workers each create their own synthesiser at the same moment; libfluidsynth's
    /// process-wide set-up must not let one of them load or play differently.
    @Test func synthesisersMadeOnManyThreadsAtOncePlayAlike() throws {
        let font = URL(fileURLWithPath: "/usr/share/sounds/sf2/sf_GMbank.sf2")
        let performance = Performance(notes: [Note(start: 0, duration: 0.4, key: 64, velocity: 50), Note(start: 0.2, duration: 0.3, key: 71, velocity: 110)], seconds: 0.6)
        let threads = 8
        let slots = UnsafeMutableBufferPointer<StereoSignal?>.allocate(capacity: threads)
        slots.initialize(repeating: nil)
        defer { slots.deallocate() }
        let shared = UncheckedBox(slots)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            shared.value[thread] = try? SoundFontSynth(soundFont: font).render(performance, preset: Preset(program: 73))
        }
        let renders = Array(slots)
        let reference = try SoundFontSynth(soundFont: font).render(performance, preset: Preset(program: 73))
        #expect(reference.rms > 1e-3)
        for (thread, render) in renders.enumerated() {
            #expect(render?.left == reference.left && render?.right == reference.right, "thread \(thread) rendered \(render.map { "rms \($0.rms)" } ?? "nothing")")
        }
    }
}

/// Amplitude of the `frequency` component of `x` (a single-bin DFT over whole periods).
private func component(_ x: [Float], frequency: Double, rate: Double = 44_100) -> Double {
    var re = 0.0, im = 0.0
    for (i, v) in x.enumerated() {
        let phase = 2 * Double.pi * frequency * Double(i) / rate
        re += Double(v) * cos(phase)
        im -= Double(v) * sin(phase)
    }
    return 2 * (re * re + im * im).squareRoot() / Double(x.count)
}

struct EffectTests {
    let rate = 44_100

    @Test func theAmplifierAddsEvenAndOddHarmonicsThatGrowWithDrive() {
        func harmonics(drive: Double) -> (second: Double, third: Double) {
            // 441 Hz over 0.5 s: whole periods, so each bin is exact.
            var x = (0..<22_050).map { Float(0.5 * sin(2 * Double.pi * 441 * Double($0) / 44_100)) }
            AmpSimulator(driveDB: drive).apply(to: &x, sampleRate: rate)
            let tail = Array(x[4_410...])
            let fundamental = component(tail, frequency: 441)
            return (20 * log10(component(tail, frequency: 882) / fundamental), 20 * log10(component(tail, frequency: 1_323) / fundamental))
        }
        let clean = harmonics(drive: 0), driven = harmonics(drive: 30)
        #expect(driven.second > -30 && driven.third > -20, "driven: \(driven)")
        #expect(driven.third > clean.third + 10, "clean: \(clean), driven: \(driven)")
        // Without the clipper's bias there are no even harmonics to speak of.
        var symmetric = (0..<22_050).map { Float(0.5 * sin(2 * Double.pi * 441 * Double($0) / 44_100)) }
        AmpSimulator(driveDB: 30, bias: 0).apply(to: &symmetric, sampleRate: rate)
        let tail = Array(symmetric[4_410...])
        #expect(20 * log10(component(tail, frequency: 882) / component(tail, frequency: 441)) < -60)
    }

    @Test func fastConvolutionEqualsTheDirectSum() {
        var rng = SeededGenerator(seed: 3)
        let x = (0..<500).map { _ in Float(rng.nextNormal()) }
        let h = (0..<37).map { _ in Float(rng.nextNormal()) }
        let fast = FastConvolution.apply(x, response: h)
        #expect(fast.count == x.count)
        for n in [0, 1, 36, 200, 499] {
            let direct = (0...min(n, 36)).reduce(0.0) { $0 + Double(h[$1]) * Double(x[n - $1]) }
            #expect(abs(Double(fast[n]) - direct) < 1e-4)
        }
    }

    @Test func theCompressorLowersPeaksAboveTheThresholdOnly() {
        // A quiet second followed by a loud one, 20 dB apart.
        var signal = StereoSignal(frames: 2 * rate, sampleRate: rate)
        for i in 0..<signal.frames {
            let v = Float((i < rate ? 0.05 : 0.5) * sin(2 * Double.pi * 441 * Double(i) / 44_100))
            signal.left[i] = v
            signal.right[i] = v
        }
        Compressor(thresholdDB: -10, ratio: 4).apply(to: &signal)
        func level(_ range: Range<Int>) -> Double { 20 * log10(signal.left[range].map { abs(Double($0)) }.max()!) }
        let quiet = level(22_050..<44_100), loud = level(66_150..<88_200)
        #expect(abs(quiet - 20 * log10(0.05)) < 0.1, "below the threshold nothing changes")
        // 10 dB over the threshold at 4:1 comes out 7.5 dB lower.
        #expect(abs(loud - (20 * log10(0.5) - 7.5)) < 0.5, "loud part at \(loud) dB")
    }

    @Test func anEchoRepeatsTheSignalLaterAndQuieter() {
        var signal = StereoSignal(frames: rate, sampleRate: rate)
        signal.left[100] = 1
        signal.right[100] = 1
        Echo(delay: 0.1, feedback: 0.5, mix: 0.5).apply(to: &signal)
        let first = 100 + 4_410
        #expect(signal.left[100] == 1)
        #expect(abs(signal.left[first] - 0.3) < 1e-6)
        let later = signal.left[(first + 4_410)..<(first + 4_420)].map(abs).max()!
        #expect(later > 0.01 && later < 0.3)
    }
}
