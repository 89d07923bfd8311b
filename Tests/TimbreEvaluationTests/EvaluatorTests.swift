import TimbreCore
import Foundation
import Testing
import TimbreDSP
import TimbreNN
import TimbreStore
import TimbreTraining
@testable import TimbreEvaluation
import TimbreTestSupport

@Suite struct EvaluatorTests {
    /// A new folder, and feature settings of 24 bands × 25 frames per clip.
    func scratchFolderAndSmallSettings() throws -> (URL, FeatureSettings) {
        let folder = scratchFolder("evaluator")
        var settings = FeatureSettings()
        settings.nMels = 24
        settings.clipSeconds = Double(24 * 512) / 22_050
        return (folder, settings)
    }

    /// A clip holding NaN or infinity is reported once and left out; the others are scored
    /// as they would be without it, and the report (JSON included) is written.
    @Test func aClipWithNonFiniteValuesIsReportedAndLeftOut() throws {
        let (folder, settings) = try scratchFolderAndSmallSettings()
        let metadata = FeatureFileMetadata(classCodes: ["pia", "vio"], classNames: ["piano", "violin"], settings: settings, resampler: "test")
        var generator = SeededGenerator(seed: 5)
        let mels = (0..<4).map { _ in (0..<(24 * 25)).map { _ in generator.nextUnit() * 60 - 80 } }
        func write(_ name: String, poisoned: Bool) throws -> URL {
            let url = folder.appendingPathComponent(name)
            let writer = try FeatureFileWriter(destination: url, metadata: metadata)
            for (index, mel) in mels.enumerated() where poisoned || index != 2 {
                var values = mel
                if poisoned && index == 2 { values[7] = .nan; values[8] = -.infinity }
                try writer.append(EncodedClip(melChunk: ChunkCodec.encode(values), classIndices: [index % 2], source: "c\(index).wav", offset: 1.5, group: Int32(index), rmsDB: -20))
            }
            try writer.commit()
            return url
        }
        let architecture = Architecture.instrumentCNN(classes: 2, inputShape: [1, 24, 25], filters: 4, hidden: 8)
        let model = Sequential(architecture)
        model.initialize(seed: 2)
        let file = ModelFile(architecture: architecture, features: metadata, weights: model.parameters.valueArray)
        var skipped: [String] = []
        let poisoned = try Evaluator.evaluate(model: file, features: try write("poisoned.h5", poisoned: true), families: [], batchSize: 3, reportSkipped: { skipped.append($0) })
        let clean = try Evaluator.evaluate(model: file, features: try write("clean.h5", poisoned: false), families: [])
        #expect(skipped == ["c2.wav at 1.5 s: the log-mel holds NaN or infinite values; clip skipped"])
        #expect(poisoned.predictions.map(\.source) == ["c0.wav", "c1.wav", "c3.wav"])
        for (a, b) in zip(poisoned.predictions, clean.predictions) { #expect(zip(a.probabilities, b.probabilities).allSatisfy { abs($0 - $1) < 1e-5 }) }
        #expect(poisoned.single?.confusion == clean.single?.confusion)
        try poisoned.write(to: folder.appendingPathComponent("report"))
    }

    @Test func singleAndMultiLabelClipsAreScoredSeparately() throws {
        let (folder, settings) = try scratchFolderAndSmallSettings()
        let metadata = FeatureFileMetadata(classCodes: ["pia", "vio", "voi"], classNames: ["piano", "violin", "voice"], settings: settings, resampler: "test")
        let features = folder.appendingPathComponent("features.h5")
        let writer = try FeatureFileWriter(destination: features, metadata: metadata)
        var generator = SeededGenerator(seed: 3)
        // 5 single-label clips, 3 two-label clips (like mixes), 1 unlabelled clip.
        let labels: [[Int]] = [[0], [1], [2], [0], [1], [0, 2], [1, 2], [0, 1], []]
        for (index, classes) in labels.enumerated() {
            let mel = (0..<(24 * 25)).map { _ in generator.nextUnit() * 60 - 80 }
            try writer.append(EncodedClip(melChunk: ChunkCodec.encode(mel), classIndices: classes, source: "mix\(index).wav", offset: 0, group: Int32(index), rmsDB: -20))
        }
        try writer.commit()

        let architecture = Architecture.instrumentCNN(classes: 3, inputShape: [1, 24, 25], filters: 4, hidden: 8)
        let model = Sequential(architecture)
        model.initialize(seed: 1)
        let file = ModelFile(architecture: architecture, features: metadata, weights: model.parameters.valueArray)

        let report = try Evaluator.evaluate(model: file, features: features, families: ["keyboards", "bowed strings", "voice"], threshold: 0.3)
        let single = try #require(report.single)
        #expect(single.clips == 5)
        #expect(single.confusion.map { $0.reduce(0, +) } == [2, 2, 1])
        let multi = try #require(report.multi)
        #expect(multi.clips == 3)
        #expect(multi.threshold == 0.3)
        #expect(multi.labelRankingAveragePrecision > 0 && multi.labelRankingAveragePrecision <= 1)
        // The summary line names the rule that decided: the one threshold, or per-class ones.
        #expect(report.table().contains("multi-label: 3 clips  threshold 0.30  micro F1"))
        let perClass = try Evaluator.evaluate(model: file, features: features, families: [], threshold: 0.3, classThresholds: [0.2, 0.4, 0.6])
        #expect(perClass.table().contains("multi-label: 3 clips  per-class thresholds  micro F1"))

        // predictions.csv agrees with metrics.json: its single-label rows give the same
        // top-1 error, and every clip has a row whose probabilities sum to one.
        try report.write(to: folder.appendingPathComponent("report"))
        let csv = try String(contentsOf: folder.appendingPathComponent("report/predictions.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows[0] == ["source", "offset", "true", "predicted", "pia", "vio", "voi"])
        #expect(rows.count == 1 + labels.count)
        let solo = rows.dropFirst().filter { !$0[2].isEmpty && !$0[2].contains(";") }
        let wrong = solo.filter { $0[2] != $0[3] }.count
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("report/metrics.json"))) as? [String: Any])
        #expect(abs((metrics["top1_error"] as? Double ?? -1) - Double(wrong) / Double(solo.count)) < 1e-12)
        #expect(solo.count == 5 && rows[6][2] == "pia;voi" && rows[9][2] == "")
        for row in rows.dropFirst() { #expect(abs(row[4...].compactMap(Double.init).reduce(0, +) - 1) < 1e-4) }

        // Features made differently are refused with the setting named.
        var other = metadata
        other.settings.hopLength = 256
        let mismatched = ModelFile(architecture: architecture, features: other, weights: model.parameters.valueArray)
        let error = #expect(throws: Error.self) { try Evaluator.evaluate(model: mismatched, features: features, families: []) }
        #expect("\(error!)".contains("hop_length 512 (model: 256)"))
    }
}
