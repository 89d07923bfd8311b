import Foundation
import Testing
import TimbreAudio
import TimbreCore
import TimbreDatasets
@testable import TimbreSynth
import TimbreTestSupport

struct RecordedPhrasesTests {
    /// A library folder with songs/<take>/<take>_song.wav and _speech.wav recordings whose
    /// every sample is distinct: recording `index` counts up from `index` in steps of 1e-6,
    /// so a stretch of output names the recording and the place it came from.
    private struct Library {
        let root: URL
        var songs: URL { root.appendingPathComponent("songs") }

        init(takes: Int, seconds: Double, rate: Int = 8_000) throws {
            root = scratchPath("phrases")
            for index in 0..<takes {
                let folder = root.appendingPathComponent("songs/take\(index)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let samples = (0..<Int(seconds * Double(rate))).map { Float(index + 1) * 0.1 + Float($0) * 1e-6 }
                try AudioFileWriter.write(samples, sampleRate: rate, to: folder.appendingPathComponent("take\(index)_song.wav"), format: .wavFloat)
                try AudioFileWriter.write(samples.map { -$0 }, sampleRate: rate, to: folder.appendingPathComponent("take\(index)_speech.wav"), format: .wavFloat)
            }
        }

        /// A recording patch of the library's songs, as the catalogue would name it.
        static let songsPatch = Patch(family: "singer", code: "voi", kind: .recording, location: "lib/songs", preset: "_song", heldOutOnly: false)
        static let context = MusicalContext(tempo: 120, beatsPerBar: 4, tonic: 0, scale: MusicalContext.major, progression: [0], swing: 0)

        /// A new sources folder whose `lib` links to the library: the catalogue names
        /// libraries relative to the sources folder. The caller removes it.
        func linkedAsSources() throws -> URL {
            let sources = root.deletingLastPathComponent().appendingPathComponent("sources-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(at: sources.appendingPathComponent("lib"), withDestinationURL: root)
            return sources
        }

        /// The recording and frame a sample was read from.
        func origin(of sample: Float) -> (take: Int, frame: Int) {
            let take = Int((Double(sample) / 0.1).rounded(.down)) - 1
            return (take, Int(((Double(sample) - Double(take + 1) * 0.1) / 1e-6).rounded()))
        }
    }

    @Test func recordingsAreFoundInSubfoldersByNameAndNeverOutsideTheRoot() throws {
        let library = try Library(takes: 2, seconds: 0.1)
        defer { try? FileManager.default.removeItem(at: library.root) }
        // A link to a recording outside the library is not taken.
        let outside = scratchPath("phrases-outside")
        defer { try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try AudioFileWriter.write([Float](repeating: 0.5, count: 800), sampleRate: 8_000, to: outside.appendingPathComponent("secret_song.wav"))
        try FileManager.default.createSymbolicLink(at: library.songs.appendingPathComponent("take0/secret_song.wav"), withDestinationURL: outside.appendingPathComponent("secret_song.wav"))

        let songs = try RecordedPhrases(folder: library.songs, root: library.root, filter: "_song")
        #expect(songs.files.map(\.lastPathComponent) == ["take0_song.wav", "take1_song.wav"])
        #expect(try RecordedPhrases(folder: library.songs, root: library.root).files.count == 4)
        #expect {
            try RecordedPhrases(folder: library.songs, root: library.root, filter: "_choir")
        } throws: { error in
            (error as? FileError)?.path == library.songs.path && (error as? FileError)?.reason.contains("_choir") == true
        }
    }

    @Test func aHeldOutShareSplitsTheRecordingsBetweenTheSplits() throws {
        let library = try Library(takes: 40, seconds: 0.01)
        defer { try? FileManager.default.removeItem(at: library.root) }
        func names(_ share: Double?, _ split: SynthSplit) throws -> Set<String> {
            let heldOut = share.map { RecordedPhrases.HeldOutShare(share: $0, split: split) }
            return Set(try RecordedPhrases(folder: library.songs, root: library.root, filter: "_song", heldOut: heldOut).files.map(\.lastPathComponent))
        }
        let all = try names(nil, .train)
        #expect(all.count == 40)
        // A quarter, give or take what a hash of 40 names gives: the two sides never meet
        // and together are every recording. The known answer: the FNV-1a hash of each path
        // in the folder ("take1/take1_song.wav"), below 0.25 of its range in millionths,
        // the same on every machine.
        let training = try names(0.25, .train), heldOut = try names(0.25, .heldOut)
        #expect(heldOut == Set([1, 6, 7, 10, 11, 14, 16, 17, 20, 25, 26, 27, 33, 34, 37].map { "take\($0)_song.wav" }), "\(heldOut.sorted())")
        #expect(training.isDisjoint(with: heldOut) && training.union(heldOut) == all)
        // A larger share holds out what a smaller one did, and more.
        #expect(try names(0.5, .heldOut).isSuperset(of: heldOut) && names(0.5, .heldOut).count == 22)
        #expect(try names(0, .train) == all)
        // A share that leaves a split nothing is named.
        #expect {
            try RecordedPhrases(folder: library.songs, root: library.root, filter: "_song", heldOut: .init(share: 0, split: .heldOut))
        } throws: { error in
            (error as? FileError)?.reason.contains("held-out split's share") == true
        }
    }

    @Test func aStretchIsOneRecordingUnchangedAndShortRecordingsFollowEachOther() throws {
        let library = try Library(takes: 3, seconds: 0.5)
        defer { try? FileManager.default.removeItem(at: library.root) }
        let phrases = try RecordedPhrases(folder: library.songs, root: library.root, filter: "_song")
        for seed in 1...6 as ClosedRange<UInt64> {
            var rng = SeededGenerator(seed: seed)
            // 0.3 s of 0.5-s recordings: one contiguous stretch of one of them, sample for sample.
            let short = try phrases.render(seconds: 0.3, sampleRate: 8_000, rng: &rng)
            #expect(short.frames == 2_400 && short.left == short.right)
            let (take, frame) = library.origin(of: short.left[0])
            #expect((0..<3).contains(take) && frame + 2_400 <= 4_000)
            let expected = (0..<2_400).map { Float(take + 1) * 0.1 + Float(frame + $0) * 1e-6 }
            #expect(zip(short.left, expected).allSatisfy { abs($0 - $1) < 1e-7 }, "seed \(seed)")
        }
        // 1.2 s of them: whole recordings one after another with no gap, then part of a third.
        var rng = SeededGenerator(seed: 9)
        let long = try phrases.render(seconds: 1.2, sampleRate: 8_000, rng: &rng)
        #expect(long.frames == 9_600 && long.left.allSatisfy { $0 > 0.09 })
        #expect(library.origin(of: long.left[0]).frame == 0 && library.origin(of: long.left[3_999]).frame == 3_999)
        #expect(library.origin(of: long.left[4_000]).frame == 0 && library.origin(of: long.left[7_999]).frame == 3_999)
        #expect(library.origin(of: long.left[9_599]).frame == library.origin(of: long.left[8_000]).frame + 1_599)
    }

    /// Writes `folder`/tone_song.wav: `seconds` of a 440-Hz tone at 16 kHz, RMS 0.354.
    private static func writeTone(seconds: Double, into folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tone = (0..<Int(seconds * 16_000)).map { Float(0.5 * sin(2 * Double.pi * 440 * Double($0) / 16_000)) }
        try AudioFileWriter.write(tone, sampleRate: 16_000, to: folder.appendingPathComponent("tone_song.wav"), format: .wavFloat)
    }

    /// A recording played faster sounds higher by the same ratio, and the stretch keeps its
    /// length: a 440-Hz tone played a fifth up (7 semitones) is a 659-Hz tone.
    @Test func aFasterPlaybackRaisesThePitchByItsRatioAndKeepsTheLength() throws {
        let root = scratchPath("phrases-tone")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent("tone")
        try Self.writeTone(seconds: 1, into: folder)
        let phrases = try RecordedPhrases(folder: folder, root: root)
        for (rate, expected) in [(1.0, 440.0), (pow(2, 7.0 / 12), 659.26), (pow(2, -5.0 / 12), 329.63)] {
            var rng = SeededGenerator(seed: 3)
            let signal = try phrases.render(seconds: 0.5, sampleRate: 22_050, playbackRate: rate, rng: &rng)
            #expect(abs(frequency(signal.left[...], rate: 22_050) - expected) < 1, "rate \(rate)")
            // Sounding to the end: the tone's RMS (0.354) over the last tenth.
            let tail = signal.left.suffix(1_100)
            #expect(abs((tail.map { $0 * $0 }.reduce(0, +) / Float(tail.count)).squareRoot() - 0.354) < 0.02, "rate \(rate)")
        }
    }

    /// The option reaches every part a corpus renders: takes of a 440-Hz recording played
    /// up to an octave faster or slower sound at other pitches, each within the octave, and
    /// without the option at 440 Hz.
    @Test func aCorpusPlaysItsRecordingsAtTheSpeedsItsOptionAllows() throws {
        let sources = scratchPath("phrases-sources")
        defer { try? FileManager.default.removeItem(at: sources) }
        try Self.writeTone(seconds: 10, into: sources.appendingPathComponent("lib/songs"))
        func pitches(repitch: Double) throws -> [Double] {
            var options = SynthOptions(output: scratchFolder("synth"), catalogue: SoundCatalogue(patches: [Library.songsPatch]))
            defer { try? FileManager.default.removeItem(at: options.output) }
            options.families = ["singer"]
            options.classes = ["voi"]
            options.sources = sources
            options.takesPerClass = 4
            options.excerpts = 1
            options.augment = false
            options.recordingRepitch = repitch
            _ = try SynthCorpus(options: options).run()
            return try AudioFileFinder.allFiles(under: options.output.appendingPathComponent("IRMAS-TrainingData")).map { file in
                let audio = try MultichannelAudio(contentsOf: file)
                return frequency(audio.channels[0][...], rate: Double(audio.sampleRate))
            }
        }
        let asRecorded = try pitches(repitch: 0)
        #expect(asRecorded.count == 4 && asRecorded.allSatisfy { abs($0 - 440) < 1 }, "\(asRecorded)")
        let repitched = try pitches(repitch: 12)
        #expect(repitched.count == 4 && repitched.allSatisfy { (219...881).contains($0) }, "\(repitched)")
        #expect(repitched.filter { abs($0 - 440) > 5 }.count >= 3, "\(repitched)")
    }

    @Test func aStretchAvoidsTheSilenceOfItsRecording() {
        // 9,000 frames of silence, then 1,000 of sound: every stretch of 500 holds sound.
        let samples = [Float](repeating: 0, count: 9_000) + [Float](repeating: 0.5, count: 1_000)
        for seed in 1...40 as ClosedRange<UInt64> {
            var rng = SeededGenerator(seed: seed)
            let start = RecordedPhrases.start(of: 500, in: samples, rng: &rng)
            #expect(start + 500 > 9_000 && start + 500 <= 10_000, "seed \(seed): \(start)")
        }
        var rng = SeededGenerator(seed: 1)
        #expect(RecordedPhrases.start(of: 20_000, in: samples, rng: &rng) == 0)
    }

    @Test func restingBarsAreSilentWithShortFades() {
        var signal = StereoSignal(frames: 8_000, sampleRate: 8_000)
        signal.left = [Float](repeating: 1, count: 8_000)
        signal.right = [Float](repeating: -1, count: 8_000)
        // Bars of 0.25 s (2,000 frames): bar 1 rests; fades of 80 frames on either side.
        RecordedPhrases.silence(bars: [1], secondsPerBar: 0.25, in: &signal)
        #expect(signal.left[2_000..<4_000].allSatisfy { $0 == 0 } && signal.right[2_000..<4_000].allSatisfy { $0 == 0 })
        #expect(signal.left[..<1_920].allSatisfy { $0 == 1 } && signal.left[4_080...].allSatisfy { $0 == 1 })
        #expect(abs(signal.left[1_960] - 0.5) < 0.02 && abs(signal.right[4_039] + 0.5) < 0.02)
    }

    @Test func aRecordingPatchPlaysItsRecordingsThroughThePartsChain() throws {
        let library = try Library(takes: 2, seconds: 1)
        defer { try? FileManager.default.removeItem(at: library.root) }
        let sources = try library.linkedAsSources()
        defer { try? FileManager.default.removeItem(at: sources) }
        let part = PartPlan(code: "voi", patch: Library.songsPatch, detuneCents: 0, vibrato: 0, drumPiece: nil, chain: .levelOnly(-20), renderSeed: 5)
        let played = try PartRenderer(sources: sources, sampleRate: 8_000).render(part, context: Library.context, seconds: 0.5)
        // A stretch of one song (no speech) at the chain's level: -20 dBFS RMS.
        #expect(played.frames == 4_000 && played.left.allSatisfy { $0 > 0 })
        #expect(abs(20 * log10(Double(played.rms)) + 20) < 0.1)
        // Scaled, not changed: the step between samples gives the gain, and the gain the
        // recording and place the stretch came from.
        let gain = Double(played.left[3_999] - played.left[0]) / (3_999 * 1e-6)
        let (take, frame) = library.origin(of: Float(Double(played.left[0]) / gain))
        #expect((0..<2).contains(take) && frame + 4_000 <= 8_000)
        let expected = (0..<4_000).map { gain * (Double(take + 1) * 0.1 + Double(frame + $0) * 1e-6) }
        #expect(zip(played.left, expected).allSatisfy { abs(Double($0) - $1) < 1e-5 })
    }

    /// With a share held out, each split plays only its recordings, and a share that leaves
    /// a split none is refused when the corpus is set up. The known answer: of take0_song
    /// and take1_song, the FNV-1a hash of "take1/take1_song.wav" falls at 0.075 of its
    /// range and of "take0/take0_song.wav" at 0.33, so a share of 0.2 holds out take1 alone.
    @Test func eachSplitPlaysItsOwnRecordingsAndASplitLeftWithoutAnyIsRefused() throws {
        let library = try Library(takes: 2, seconds: 1)
        defer { try? FileManager.default.removeItem(at: library.root) }
        let patch = Library.songsPatch
        let sources = try library.linkedAsSources()
        defer { try? FileManager.default.removeItem(at: sources) }
        for (split, take) in [(SynthSplit.train, 0), (.heldOut, 1)] {
            let renderer = PartRenderer(sources: sources, sampleRate: 8_000, recordingsHeldOut: .init(share: 0.2, split: split))
            for seed in 1...8 as ClosedRange<UInt64> {
                let part = PartPlan(code: "voi", patch: patch, detuneCents: 0, vibrato: 0, drumPiece: nil, chain: .levelOnly(-20), renderSeed: seed)
                let played = try renderer.render(part, context: Library.context, seconds: 0.25)
                // The chain only scales: the first sample over the step between samples
                // names the recording.
                let gain = Double(played.left[1_999] - played.left[0]) / (1_999 * 1e-6)
                #expect(library.origin(of: Float(Double(played.left[0]) / gain)).take == take, "\(split) seed \(seed)")
            }
        }
        func corpus(_ share: Double, _ split: SynthSplit) throws -> SynthCorpus {
            var options = SynthOptions(output: scratchFolder("synth"), catalogue: SoundCatalogue(patches: [patch]))
            options.families = ["singer"]
            options.classes = ["voi"]
            options.sources = sources
            options.split = split
            options.recordingHoldOut = share
            return try SynthCorpus(options: options)
        }
        _ = try corpus(0.2, .train)
        _ = try corpus(0.2, .heldOut)
        #expect {
            try corpus(0.05, .heldOut)
        } throws: { error in
            (error as? FileError)?.reason.contains("held-out split's share") == true
        }
    }
}
