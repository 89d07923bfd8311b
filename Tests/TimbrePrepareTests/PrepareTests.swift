import Foundation
import Testing
import TimbreAudio
import TimbreDSP
import TimbreDatasets
import TimbreStore
import TimbreCore
@testable import TimbrePrepare
import TimbreTestSupport

/// A folder of generated audio for pipeline tests.
final class AudioTree {
    let root: URL

    init() {
        root = scratchFolder("prepare")
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
        let folder = scratchFolder("out")
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

    /// One MedleyDB song of 6 s: bass throughout, a singer in the second 3 s, and a
    /// synthesizer (no Timbre class).
    func writeBandTune(in tree: AudioTree) throws {
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
    }

    @Test func mixClipsTakeTheLabelsOfTheStemsSoundingInThem() throws {
        let tree = AudioTree()
        try writeBandTune(in: tree)
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
        #expect(reader.metadata.multitrackClips == nil)
    }

    /// Every clip of a file, one line each: source, offset, classes and the mel's hash.
    func rows(_ reader: FeatureFileReader) throws -> [String] {
        try (0..<reader.count).map { "\(reader.sources[$0]) \(reader.offsets[$0]) \(reader.classIndices(of: $0)) \(try reader.mel(at: $0).hashValue)" }
    }

    /// The band tune prepared with every clip, the file the choices below are compared to.
    func bandTuneWithEveryClip(in tree: AudioTree) throws -> (url: URL, rows: [String]) {
        try writeBandTune(in: tree)
        let url = outputURL()
        _ = try Preparer(options: PrepareOptions(inputs: [tree.root], output: url)).run()
        return (url, try rows(FeatureFileReader(url: url)))
    }

    @Test func aSongGivesOnlyItsMixClipsOrOnlyItsStemClipsWhenAsked() throws {
        let tree = AudioTree()
        let (both, allRows) = try bandTuneWithEveryClip(in: tree)
        for choice in [MultitrackClips.mixes, .stems] {
            var options = PrepareOptions(inputs: [tree.root], output: outputURL())
            options.multitrackClips = choice
            let summary = try Preparer(options: options).run()
            let reader = try FeatureFileReader(url: options.output)
            // The same clips with the same labels (a mix clip's from the stems it did not keep).
            let expected = allRows.filter { $0.contains("_MIX.wav") == (choice == .mixes) }
            #expect(try rows(reader) == expected, "\(choice)")
            #expect(expected.count == (choice == .mixes ? 2 : 3))
            #expect(summary.counts.clipsSilent == 1, "only the singer's silent clip counts as silent")
            #expect(reader.metadata.multitrackClips == choice.rawValue)
            // A file of mixes only is not a shard of a file of both.
            let merged = outputURL()
            let error = #expect(throws: FileError.self) { try FeatureFileMerger.merge([both, options.output], into: merged, copy: true) }
            #expect(error?.reason.contains("multitrack_clips \"\(choice.rawValue)\" (first: \"both\")") == true)
        }
    }

    @Test func stemClipsCanBeKeptForChosenClassesOnly() throws {
        let tree = AudioTree()
        let (both, allRows) = try bandTuneWithEveryClip(in: tree)
        var options = PrepareOptions(inputs: [tree.root], output: outputURL())
        options.stemClipClasses = ["voi"]
        _ = try Preparer(options: options).run()
        let reader = try FeatureFileReader(url: options.output)
        // The bass stem's two clips go; the singer's clip and both mix clips, labelled with
        // the bass as before, stay.
        #expect(try rows(reader) == allRows.filter { !$0.contains("STEM_01") })
        #expect(reader.count == 3)
        #expect(reader.metadata.stemClipClasses == ["voi"])
        let error = #expect(throws: FileError.self) { try FeatureFileMerger.merge([both, options.output], into: outputURL(), copy: true) }
        #expect(error?.reason.contains("stem_clip_classes \"voi\" (first: \"every class\")") == true)

        options.output = outputURL()
        options.stemClipClasses = ["voi", "kazoo"]
        let unknown = #expect(throws: FileError.self) { try Preparer(options: options).run() }
        #expect(unknown?.reason.hasPrefix("stem clip classes: kazoo not in the taxonomy") == true)
        #expect(!FileManager.default.fileExists(atPath: options.output.path))
    }

    @Test func clipsWithNonFiniteSamplesAreReportedAndLeftOut() throws {
        let tree = AudioTree()
        var samples = (0..<(9 * 22_050)).map { Float(0.3 * sin(Double($0) * 0.05)) }
        samples[4 * 22_050] = .nan
        samples[7 * 22_050] = .infinity
        try FileManager.default.createDirectory(at: tree.url("flute"), withIntermediateDirectories: true)
        try AudioFileWriter.write(samples, sampleRate: 22_050, to: tree.url("flute/broken.wav"), format: .wavFloat)
        var lines: [String] = []
        let summary = try Preparer(options: PrepareOptions(inputs: [tree.root], output: outputURL())).run(failure: { lines.append($0) })
        #expect(summary.counts.clipsKept == 1 && summary.counts.clipsSilent == 0)
        #expect(lines == [3.0, 6.0].map { "\(tree.url("flute/broken.wav").path): NaN or infinite samples in the clip at \($0) s; clip skipped" })
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

@Suite struct ResumeJournalTests {
    /// A journal beside a feature file in a fresh folder, with two real files for the jobs
    /// to point at (their stamps decide whether a record still serves).
    final class Fixture {
        let folder: URL
        let output: URL
        let files: [URL]

        init() throws {
            folder = scratchFolder("journal")
            output = folder.appendingPathComponent("f.h5")
            let folder = self.folder
            files = try (0..<4).map { n in
                let url = folder.appendingPathComponent("take \(n).wav")
                try Data(repeating: UInt8(n), count: 100 + n).write(to: url)
                return url
            }
        }

        deinit { try? FileManager.default.removeItem(at: folder) }

        func job(_ n: Int) -> PreparationJob {
            .single(LabelledAudio(url: files[n], relativePath: files[n].lastPathComponent, classIndices: [n]), group: "g\(n)")
        }

        func result(_ n: Int) -> JobResult {
            let clips = (0..<(n + 1)).map { c in
                EncodedClip(melChunk: (0..<(50 + 7 * c)).map { UInt8(truncatingIfNeeded: $0 * (n + 3)) }, classIndices: [n, c + 5], source: "take \(n).wav",
                            offset: Float(c) * 3, group: 0, rmsDB: -20 - Float(c))
            }
            return JobResult(clips: clips, silentClips: n, seconds: 3.5 * Double(n + 1), stamps: [FileStamp.of(path: files[n].path)!])
        }

        var journalSize: Int { (try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(".f.h5.journal").path)[.size] as? Int) ?? -1 }
    }

    @Test func recordsRoundTripAcrossRuns() throws {
        let fixture = try Fixture()
        let keys = (0..<3).map { ResumeJournal.key(of: fixture.job($0)) }
        do {
            let journal = try ResumeJournal(output: fixture.output, fingerprint: "settings")
            for n in 0..<3 { try journal.append(fixture.result(n), key: keys[n]) }
            #expect(journal.load(keys[1]) == fixture.result(1))
        }
        let reopened = try ResumeJournal(output: fixture.output, fingerprint: "settings")
        for n in 0..<3 {
            #expect(reopened.counts(fixture.job(n), key: keys[n])! == (n + 1, n))
            #expect(reopened.load(keys[n]) == fixture.result(n))
        }
        #expect(reopened.counts(fixture.job(3), key: ResumeJournal.key(of: fixture.job(3))) == nil)
        let otherSettings = try ResumeJournal(output: fixture.output, fingerprint: "other settings")
        #expect(otherSettings.counts(fixture.job(0), key: keys[0]) == nil && otherSettings.load(keys[0]) == nil)
    }

    @Test func aChangedFileIsComputedAgain() throws {
        let fixture = try Fixture()
        let key = ResumeJournal.key(of: fixture.job(0))
        try ResumeJournal(output: fixture.output, fingerprint: "s").append(fixture.result(0), key: key)
        try Data(repeating: 9, count: 101).write(to: fixture.files[0])
        #expect(try ResumeJournal(output: fixture.output, fingerprint: "s").counts(fixture.job(0), key: key) == nil)
    }

    /// A process killed while writing a record leaves a prefix of it at the end of the
    /// file. Every such prefix is dropped on opening, the earlier records are kept, and the
    /// next record written after it is read back whole.
    @Test func aRecordTornByAKillIsDroppedAndTheRestKept() throws {
        let fixture = try Fixture()
        let keys = (0..<4).map { ResumeJournal.key(of: fixture.job($0)) }
        do {
            let journal = try ResumeJournal(output: fixture.output, fingerprint: "s")
            for n in 0..<3 { try journal.append(fixture.result(n), key: keys[n]) }
        }
        let whole = fixture.journalSize
        try ResumeJournal(output: fixture.output, fingerprint: "s").append(fixture.result(3), key: keys[3])
        let journalURL = fixture.folder.appendingPathComponent(".f.h5.journal")
        let complete = try Data(contentsOf: journalURL)
        let recordLength = complete.count - whole
        #expect(recordLength > 12)
        for kept in Array(0..<16) + Array(stride(from: 16, to: recordLength, by: 37)) + [recordLength - 1] {
            try complete.prefix(whole + kept).write(to: journalURL)
            let reopened = try ResumeJournal(output: fixture.output, fingerprint: "s")
            #expect(fixture.journalSize == whole, "a torn record of \(kept) bytes is cut away")
            for n in 0..<3 { #expect(reopened.load(keys[n]) == fixture.result(n)) }
            #expect(reopened.counts(fixture.job(3), key: keys[3]) == nil)
        }
        try ResumeJournal(output: fixture.output, fingerprint: "s").append(fixture.result(3), key: keys[3])
        let afterwards = try ResumeJournal(output: fixture.output, fingerprint: "s")
        for n in 0..<4 { #expect(afterwards.load(keys[n]) == fixture.result(n)) }
    }

    @Test func aDamagedRecordIsNotUsed() throws {
        let fixture = try Fixture()
        let keys = (0..<2).map { ResumeJournal.key(of: fixture.job($0)) }
        let journal = try ResumeJournal(output: fixture.output, fingerprint: "s")
        try journal.append(fixture.result(0), key: keys[0])
        let firstEnd = fixture.journalSize
        try journal.append(fixture.result(1), key: keys[1])
        let journalURL = fixture.folder.appendingPathComponent(".f.h5.journal")
        var bytes = try Data(contentsOf: journalURL)
        bytes[firstEnd + 40] ^= 0x55
        try bytes.write(to: journalURL)
        #expect(journal.load(keys[1]) == nil, "the checksum catches damage after the record was indexed")
        let reopened = try ResumeJournal(output: fixture.output, fingerprint: "s")
        #expect(reopened.load(keys[0]) == fixture.result(0))
        #expect(reopened.counts(fixture.job(1), key: keys[1]) == nil)
        #expect(fixture.journalSize == firstEnd)
    }
}

@Suite struct WorkQueueTests {
    @Test func everyJobIsHandedOutOnceInBatchesThatShrinkAtTheEnd() {
        let queue = WorkQueue<Int>(indices: Array(100..<1100), workers: 2)
        var batches: [ArraySlice<Int>] = []
        while case let batch = queue.take(), !batch.isEmpty { batches.append(batch) }
        #expect(batches.flatMap { $0 } == Array(100..<1100))
        #expect(batches.first?.count == WorkQueue<Int>.maxBatch)
        #expect(batches.suffix(8).allSatisfy { $0.count == 1 }, "the last jobs go out one at a time")
        queue.deliver([(3, 30), (4, 40)])
        #expect(queue.receive(timeout: 0).map(\.1) == [30, 40])
        let cancelled = WorkQueue<Int>(indices: [1, 2], workers: 1)
        cancelled.cancel()
        #expect(cancelled.take().isEmpty)
    }
}
