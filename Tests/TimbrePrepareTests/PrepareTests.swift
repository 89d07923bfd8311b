import Foundation
import Testing
import TimbreAudio
import TimbreDSP
import TimbreDatasets
import TimbreStore
@testable import TimbrePrepare

/// A folder of generated audio for pipeline tests.
final class AudioTree {
    let root: URL

    init() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-prepare-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// Writes a tone-plus-noise signal; `silentSeconds` of digital silence come first.
    @discardableResult
    func write(_ path: String, seconds: Double, rate: Int, channels: Int = 1, frequency: Double = 330, silentSeconds: Double = 0, seed: UInt64 = 1) -> URL {
        let url = url(path)
        try! FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var state = seed
        let frames = Int(seconds * Double(rate))
        var samples: [Float] = []
        samples.reserveCapacity(frames * channels)
        for n in 0..<frames {
            let t = Double(n) / Double(rate)
            for channel in 0..<channels {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let noise = (Double(state >> 40) / Double(1 << 24) - 0.5) * 0.02
                let value = t < silentSeconds ? 0 : 0.3 * sin(2 * Double.pi * frequency * Double(channel + 1) * t) + noise
                samples.append(Float(value))
            }
        }
        try! AudioFileWriter.write(samples, channels: channels, sampleRate: rate, to: url)
        return url
    }
}

@Suite struct PrepareTests {
    func outputURL() -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-out-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent("features.h5")
    }

    @Test func theFeatureFileHoldsExactlyWhatTheExtractorComputes() throws {
        let tree = AudioTree()
        tree.write("piano/a.wav", seconds: 7, rate: 44_100, channels: 2)
        tree.write("piano/b.flac", seconds: 3.5, rate: 22_050, frequency: 500)
        tree.write("Cello/c.wav", seconds: 6, rate: 48_000, silentSeconds: 3)
        try Data("RIFF....WAVEfmt garbage".utf8).write(to: tree.url("piano/bad.wav"))
        let output = outputURL()
        let summary = try Preparer(options: PrepareOptions(inputs: [tree.root], output: output)).run()
        #expect(summary.failures.count == 1 && summary.failures[0].contains("bad.wav"))
        #expect(summary.counts.clipsSilent == 1)
        let reader = try FeatureFileReader(url: output)
        // a.wav: 7 s → 2 clips (1 s tail dropped); b.flac: 3.5 s → 1 clip; c.wav: silent first clip dropped.
        #expect(reader.sources == ["Cello/c.wav", "piano/a.wav", "piano/a.wav", "piano/b.flac"])
        #expect(reader.offsets == [3, 0, 3, 0])
        #expect(reader.label == [0, 6, 6, 6].map(Int32.init))
        #expect(reader.groups == [0, 1, 1, 2])
        #expect(reader.metadata.layouts == ["folders"])

        let settings = FeatureSettings()
        let extractor = LogMelExtractor(settings: settings)
        for index in 0..<reader.count {
            let (samples, _) = try MonoAudioStream.load(tree.url(reader.sources[index]), sampleRate: 22_050)
            let start = Int(reader.offsets[index] * 22_050)
            let clip = Array(samples[start..<start + settings.clipSamples])
            #expect(try reader.mel(at: index) == extractor.logMel(clip), "clip \(index)")
            let level = clip.withUnsafeBufferPointer { Decibels.rmsLevel($0) }
            #expect(abs(Double(reader.rmsDB[index]) - level) < 1e-4)
        }
    }

    @Test func mixClipsTakeTheLabelsOfTheStemsSoundingInThem() throws {
        let tree = AudioTree()
        let song = "Audio/Band_Tune"
        tree.write("\(song)/Band_Tune_STEMS/Band_Tune_STEM_01.wav", seconds: 6, rate: 22_050, frequency: 110)
        tree.write("\(song)/Band_Tune_STEMS/Band_Tune_STEM_02.wav", seconds: 6, rate: 22_050, frequency: 440, silentSeconds: 3)
        tree.write("\(song)/Band_Tune_STEMS/Band_Tune_STEM_03.wav", seconds: 6, rate: 22_050, frequency: 880)
        tree.write("\(song)/Band_Tune_MIX.wav", seconds: 6, rate: 22_050, frequency: 220)
        try Data("""
            mix_filename: Band_Tune_MIX.wav
            stem_dir: Band_Tune_STEMS
            stems:
              S01: {filename: Band_Tune_STEM_01.wav, instrument: electric bass}
              S02: {filename: Band_Tune_STEM_02.wav, instrument: female singer}
              S03: {filename: Band_Tune_STEM_03.wav, instrument: synthesizer}
            """.utf8).write(to: tree.url("\(song)/Band_Tune_METADATA.yaml"))
        let output = outputURL()
        let summary = try Preparer(options: PrepareOptions(inputs: [tree.root], output: output)).run()
        #expect(summary.failures.isEmpty)
        #expect(summary.notes.count == 1)
        let reader = try FeatureFileReader(url: output)
        let taxonomy = Taxonomy.standard
        let bas = taxonomy.index(of: "bas")!, voi = taxonomy.index(of: "voi")!
        let rows = (0..<reader.count).map { (reader.sources[$0].components(separatedBy: "/").last!, reader.offsets[$0], reader.classIndices(of: $0)) }
        #expect(rows.map(\.0) == ["Band_Tune_STEM_01.wav", "Band_Tune_STEM_01.wav", "Band_Tune_STEM_02.wav", "Band_Tune_MIX.wav", "Band_Tune_MIX.wav"])
        #expect(rows.map(\.1) == [0, 3, 3, 0, 3])
        #expect(rows.map(\.2) == [[bas], [bas], [voi], [bas], [voi, bas].sorted()])
        #expect(Set(reader.groups) == [0])
        #expect(reader.label == [Int32(bas), Int32(bas), Int32(voi), Int32(bas), -1])
    }

    @Test func anInterruptedRunResumesWithoutRecomputingFinishedFiles() throws {
        let tree = AudioTree()
        for n in 0..<6 { tree.write("flute/take \(n).wav", seconds: 3, rate: 44_100, frequency: 300 + Double(n) * 50, seed: UInt64(n + 1)) }
        let output = outputURL()
        var options = PrepareOptions(inputs: [tree.root], output: output)
        options.workers = 1
        let first = Preparer(options: options)
        let interrupted = try first.run(progress: { state in if state.jobsDone >= 2 { first.cancel() } })
        #expect(interrupted.interrupted)
        #expect(!FileManager.default.fileExists(atPath: output.path))

        let resumed = try Preparer(options: options).run()
        #expect(!resumed.interrupted)
        #expect(resumed.counts.jobsResumed >= 2 && resumed.counts.jobsResumed < 6, "resumed \(resumed.counts.jobsResumed)")
        let fresh = outputURL()
        _ = try Preparer(options: PrepareOptions(inputs: [tree.root], output: fresh)).run()
        let a = try FeatureFileReader(url: output), b = try FeatureFileReader(url: fresh)
        #expect(a.count == 6 && a.sources == b.sources && a.groups == b.groups && a.labels == b.labels)
        for index in 0..<a.count { #expect(try a.mel(at: index) == b.mel(at: index)) }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: output.deletingLastPathComponent().path)
        #expect(leftovers == ["features.h5"], "resume record removed once the file is in place")
    }

    @Test func changedSettingsDiscardTheResumeRecord() throws {
        let tree = AudioTree()
        for n in 0..<3 { tree.write("organ/\(n).wav", seconds: 3, rate: 22_050, seed: UInt64(n + 7)) }
        let output = outputURL()
        var options = PrepareOptions(inputs: [tree.root], output: output)
        options.workers = 1
        let first = Preparer(options: options)
        _ = try first.run(progress: { state in if state.jobsDone >= 1 { first.cancel() } })
        options.settings.rmsThresholdDB = -60
        let second = try Preparer(options: options).run()
        #expect(second.counts.jobsResumed == 0)
        #expect(try FeatureFileReader(url: output).metadata.settings.rmsThresholdDB == -60)
    }
}

@Suite struct PartStoreTests {
    @Test func aDamagedPartIsTreatedAsMissing() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-parts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try PartStore(output: folder.appendingPathComponent("f.h5"), fingerprint: "settings")
        let clips = (0..<3).map { EncodedClip(melChunk: [UInt8](repeating: UInt8($0), count: 10 + $0), classIndices: [$0], source: "a.wav", offset: Float($0) * 3, group: 0, rmsDB: -20) }
        let result = JobResult(clips: clips, silentClips: 2, seconds: 9)
        try store.save(result, key: "k")
        #expect(store.counts("k")! == (3, 2))
        #expect(store.load("k") == result)

        let part = store.folder.appendingPathComponent("k.part")
        let bytes = try Data(contentsOf: part)
        try bytes.dropLast().write(to: part)
        #expect(store.counts("k") == nil && store.load("k") == nil)
        try (bytes + Data([0])).write(to: part)
        #expect(store.counts("k") == nil && store.load("k") == nil)
        #expect(store.counts("absent") == nil)
    }
}
