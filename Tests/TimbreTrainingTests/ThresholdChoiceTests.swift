import Foundation
import Testing
import TimbreCore
import TimbreNN
import TimbreTestSupport
@testable import TimbreTraining

@Suite struct MicroF1ThresholdTests {
    /// Class 2 is present once at 0.3 and absent twice at 0.35 and 0.4, and never the top
    /// class; classes 0 and 1 are always rightly the top. Its own F1 is best when it fires
    /// everywhere (0.5 against 0), which `perClass` picks (the lowest such, 0.05); pooled
    /// with the others' four right tags, micro F1 is best when it never fires (8/9 against
    /// 10/12), at the first candidate above 0.4.
    @Test func aClassThatFiresFalselyIsHeldBackForThePooledF1() {
        let probabilities: [Float] = [
            0.9, 0.01, 0.3,
            0.8, 0.01, 0.35,
            0.01, 0.9, 0.4,
            0.01, 0.7, 0.01,
        ]
        let truth: [Set<Int>] = [[0, 2], [0], [1], [1]]
        #expect(ThresholdSearch.perClass(probabilities: probabilities, truth: truth, classes: 3)[2] == 0.05)
        let chosen = ThresholdSearch.forMicroF1(probabilities: probabilities, truth: truth, classes: 3, start: [0.2, 0.2, 0.2])
        #expect(abs(chosen[2] - 0.45) < 1e-9, "\(chosen)")
        #expect(chosen[0] == 0.2 && chosen[1] == 0.2, "a class whose decisions cannot improve keeps its start")
        #expect(abs(ThresholdSearch.microF1(probabilities: probabilities, truth: truth, classes: 3, thresholds: chosen) - 8.0 / 9) < 1e-12)
        #expect(abs(ThresholdSearch.microF1(probabilities: probabilities, truth: truth, classes: 3, thresholds: [0.2, 0.2, 0.2]) - 10.0 / 12) < 1e-12)
        // Already as good as it gets: the start stays.
        #expect(ThresholdSearch.forMicroF1(probabilities: probabilities, truth: truth, classes: 3, start: [0.2, 0.2, 0.5]) == [0.2, 0.2, 0.5])
    }

    /// On random scores the result is at least as good as the start, and no single class
    /// can move to another candidate and raise micro F1 (the search stops at such a point).
    @Test func theResultIsAPointNoSingleClassCanImprove() {
        var rng = SeededGenerator(seed: 17)
        let clips = 300, classes = 6
        var probabilities: [Float] = [], truth: [Set<Int>] = []
        for _ in 0..<clips {
            var present = Set<Int>()
            for c in 0..<classes where rng.uniform(0, 1) < 0.3 { present.insert(c) }
            truth.append(present)
            for c in 0..<classes {
                let base = present.contains(c) ? 0.55 : 0.3
                probabilities.append(Float(min(0.99, max(0.01, base + rng.uniform(-0.3, 0.3)))))
            }
        }
        let start = [Double](repeating: 0.5, count: classes)
        let chosen = ThresholdSearch.forMicroF1(probabilities: probabilities, truth: truth, classes: classes, start: start)
        let best = ThresholdSearch.microF1(probabilities: probabilities, truth: truth, classes: classes, thresholds: chosen)
        #expect(best > ThresholdSearch.microF1(probabilities: probabilities, truth: truth, classes: classes, thresholds: start))
        for c in 0..<classes {
            for candidate in ThresholdSearch.candidates {
                var moved = chosen
                moved[c] = candidate
                #expect(ThresholdSearch.microF1(probabilities: probabilities, truth: truth, classes: classes, thresholds: moved) <= best + 1e-12,
                        "class \(c) at \(candidate)")
            }
        }
    }
}

@Suite(.serialized) struct ModelThresholdChoiceTests {
    /// `chooseThresholds` records the search's answer on the model's own probabilities,
    /// keeps the weights, the temperature and the rest of the summary, and says where the
    /// thresholds came from.
    @Test func aModelGetsTheThresholdsOfItsOwnScoresAndKeepsItsWeights() throws {
        let folder = scratchFolder("training")
        let training = try syntheticFeatureFile(clips: 96, seed: 5, in: folder, name: "train.h5")
        let held = try syntheticFeatureFile(clips: 48, seed: 6, in: folder, name: "held.h5")
        var options = smallOptions(epochs: 3)
        options.output = .sigmoid
        let output = folder.appendingPathComponent("model.h5")
        _ = try Trainer(features: [training], output: output, validation: [held], options: options).run(resume: false)
        let original = try ModelFile.read(from: output)
        var model = original
        let choice = try ModelCalibration.chooseThresholds(&model, on: [held])

        let clips = try ClipLibrary(urls: [held])
        let (logits, targets) = try BatchReader(clips: clips).logits(of: try original.makeModel(), for: (0..<clips.count).map(Example.solo), batchSize: 8)
        let probabilities = original.architecture.probabilities(logits).data
        let truth = Trainer.classSets(targets)
        let before = try #require(original.decisionThresholds(override: nil).classThresholds)
        let expected = ThresholdSearch.forMicroF1(probabilities: probabilities, truth: truth, classes: 3, start: before)
        #expect(choice.before == before && choice.after == expected && choice.clips == 48)
        #expect(model.decisionThresholds(override: nil).classThresholds == expected)
        #expect(abs(choice.microF1After - ThresholdSearch.microF1(probabilities: probabilities, truth: truth, classes: 3, thresholds: expected)) < 1e-12)
        #expect(choice.microF1After >= choice.microF1Before)

        #expect(model.weights == original.weights)
        #expect(model.architecture.temperature == original.architecture.temperature)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(model.trainingSummary.utf8)) as? [String: Any])
        let old = try #require(try JSONSerialization.jsonObject(with: Data(original.trainingSummary.utf8)) as? [String: Any])
        #expect((summary["history"] as? [Any])?.count == (old["history"] as? [Any])?.count)
        let record = try #require(summary["thresholds_chosen_on"] as? [String: Any])
        #expect(record["files"] as? [String] == ["held.h5"] && record["clips"] as? Int == 48)
    }

    /// With the per-class objective each class held by a clip gets the threshold of its
    /// own best F1 on the model's scores (what `train` picks on validation clips), a class
    /// no clip holds keeps the model's, and the record says how many clips held each class.
    @Test func eachClassTakesItsOwnBestAndAnUnheldClassKeepsItsThreshold() throws {
        let folder = scratchFolder("training")
        let training = try syntheticFeatureFile(clips: 96, seed: 5, in: folder, name: "train.h5")
        // Solo piano, solo violin and the two together: no drums anywhere.
        let sets: [[Int]] = (0..<36).map { [[0], [1], [0, 1]][$0 % 3] }
        let held = try syntheticFeatureFile(classSets: sets, groups: Array(0..<36), seed: 7, in: folder, name: "mixes.h5")
        var options = smallOptions(epochs: 3)
        options.output = .sigmoid
        let output = folder.appendingPathComponent("model.h5")
        _ = try Trainer(features: [training], output: output, options: options).run(resume: false)
        let original = try ModelFile.read(from: output)
        var model = original
        let choice = try ModelCalibration.chooseThresholds(&model, on: [held], objective: .eachClass)

        let clips = try ClipLibrary(urls: [held])
        let (logits, targets) = try BatchReader(clips: clips).logits(of: try original.makeModel(), for: (0..<clips.count).map(Example.solo), batchSize: 8)
        let own = ThresholdSearch.perClass(probabilities: original.architecture.probabilities(logits).data, truth: Trainer.classSets(targets), classes: 3)
        let before = try #require(original.decisionThresholds(override: nil).classThresholds)
        #expect(choice.classCounts == [24, 24, 0])
        #expect(choice.after == [own[0], own[1], before[2]], "\(choice.after) against \(own), \(before)")
        #expect(model.decisionThresholds(override: nil).classThresholds == choice.after)
        #expect(model.weights == original.weights)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(model.trainingSummary.utf8)) as? [String: Any])
        let record = try #require(summary["thresholds_chosen_on"] as? [String: Any])
        #expect(record["class_counts"] as? [Int] == [24, 24, 0] && record["objective"] as? String == "each_class_f1")
    }
}
