import COpenBLAS
import Foundation
import TimbreCore
import TimbreNN

/// Temperature scaling of a trained model on labelled feature files (`timbre calibrate`):
/// for a model trained without validation data, or one to be used on other sources than
/// it was validated on.
public enum ModelCalibration {
    public struct Outcome: Sendable {
        public var calibration: Calibration
        public var clips: Int
        /// A softmax model's recorded thresholds stay as they were (no logit maps them).
        public var keptSoftmaxThresholds = false
    }

    /// Fits the temperature on every labelled clip of `features` (replacing any the model
    /// had), records it in `model`, and maps the recorded decision thresholds of a sigmoid
    /// model so that they pick the same classes: t′ = σ(logit(t) / T).
    public static func calibrate(_ model: inout ModelFile, on features: [URL], batchSize: Int = 32) throws -> Outcome {
        let (logits, targets, count) = try labelledLogits(of: model, on: features, purpose: "calibrate on", batchSize: batchSize)
        let truth = Trainer.classSets(targets)
        let classes = targets.shape[1]
        var raw = model.architecture
        let previous = raw.temperature ?? 1
        raw.temperature = nil
        let temperature = TemperatureScaling.fit(logits: logits, targets: targets, output: raw.output)
        var calibrated = raw
        calibrated.temperature = temperature
        let before = model.architecture.probabilities(logits).data
        let calibration = Calibration(
            temperature: temperature,
            eceBefore: TemperatureScaling.calibrationError(probabilities: before, truth: truth, classes: classes, output: raw.output),
            eceAfter: TemperatureScaling.calibrationError(probabilities: calibrated.probabilities(logits).data, truth: truth, classes: classes, output: raw.output))
        if raw.output == .sigmoid {
            model.trainingSummary = mappedThresholds(in: model.trainingSummary, from: previous, to: temperature)
        }
        model.trainingSummary = replacingCalibration(in: model.trainingSummary, with: calibration)
        model.architecture = calibrated
        let hasThresholds = ThresholdSearch.recorded(in: model.trainingSummary) != nil || ThresholdSearch.recordedPerClass(in: model.trainingSummary) != nil
        return Outcome(calibration: calibration, clips: count, keptSoftmaxThresholds: raw.output == .softmax && hasThresholds)
    }

    /// Re-estimates the model's batch-norm statistics on every clip of `features`, labelled
    /// or not (`Sequential.adaptBatchNorms`), and records the files in the training
    /// summary; returns how many clips. A model without batch norms is refused.
    public static func adaptStatistics(_ model: inout ModelFile, on features: [URL], batchSize: Int = 32) throws -> Int {
        let clips = try ClipLibrary(urls: features)
        try model.checkCompatible(with: clips.readers[0].metadata, source: features[0].path)
        let network = try model.makeModel()
        guard !network.batchNorms.isEmpty else { throw TrainingError("the model has no batch norm whose statistics could be adapted (train with --batch-norm)") }
        guard clips.count > 1 else { throw TrainingError("\(features[0].path): at least two clips are needed to estimate statistics") }
        openblas_set_num_threads(1)
        let reader = BatchReader(clips: clips)
        let batches = (clips.count + batchSize - 1) / batchSize
        try network.adaptBatchNorms(batchCount: batches) { b in
            try reader.batch(Array((b * batchSize)..<min(clips.count, (b + 1) * batchSize))).input
        }
        model.batchNormState = network.batchNormState
        model.trainingSummary = summary(model.trainingSummary, adding: [
            "batch_norm_statistics_from": ["files": features.map(\.lastPathComponent), "clips": clips.count] as [String: Any],
        ])
        return clips.count
    }

    /// What `chooseThresholds` did: the thresholds before and after, and the micro F1 of
    /// each over the clips.
    public struct ThresholdChoice: Sendable {
        public var before: [Double], after: [Double]
        public var microF1Before: Double, microF1After: Double
        public var clips: Int
        /// How many of the clips hold each class: a class no clip holds kept its threshold.
        public var classCounts: [Int]
    }

    /// What the thresholds are chosen for.
    public enum ThresholdObjective: String, Sendable {
        /// Together, for the highest micro F1 over every clip (`ThresholdSearch.forMicroF1`).
        case microF1 = "micro_f1"
        /// Each class for its own best F1, as `train` chooses them on its validation clips
        /// (`ThresholdSearch.perClass`); a class no clip holds keeps its threshold.
        case eachClass = "each_class_f1"
    }

    /// Chooses the model's per-class decision thresholds over the labelled clips of
    /// `features` for `objective` (micro F1 by default, starting from the recorded ones),
    /// and records them with the files they were chosen on. Weights and
    /// temperature stay, so rankings and probabilities do not change; only which classes
    /// are reported does. Micro F1 counts every tag alike, so the classes that fill most
    /// true tags (drums and bass in songs) are favoured; solo clips given beside the mixes
    /// keep those from falling so low that they fire on every solo recording.
    public static func chooseThresholds(_ model: inout ModelFile, on features: [URL], objective: ThresholdObjective = .microF1,
                                        batchSize: Int = 32) throws -> ThresholdChoice {
        let (logits, targets, count) = try labelledLogits(of: model, on: features, purpose: "choose thresholds on", batchSize: batchSize)
        let probabilities = model.architecture.probabilities(logits).data
        let truth = Trainer.classSets(targets)
        let classes = targets.shape[1]
        let classCounts = (0..<classes).map { c in truth.filter { $0.contains(c) }.count }
        let recorded = model.decisionThresholds(override: nil)
        let before = recorded.classThresholds ?? [Double](repeating: recorded.threshold, count: classes)
        let after: [Double]
        switch objective {
        case .microF1:
            after = ThresholdSearch.forMicroF1(probabilities: probabilities, truth: truth, classes: classes, start: before)
        case .eachClass:
            let own = ThresholdSearch.perClass(probabilities: probabilities, truth: truth, classes: classes)
            after = (0..<classes).map { classCounts[$0] > 0 ? own[$0] : before[$0] }
        }
        let choice = ThresholdChoice(
            before: before, after: after,
            microF1Before: ThresholdSearch.microF1(probabilities: probabilities, truth: truth, classes: classes, thresholds: before),
            microF1After: ThresholdSearch.microF1(probabilities: probabilities, truth: truth, classes: classes, thresholds: after),
            clips: count, classCounts: classCounts)
        model.trainingSummary = replacingThresholds(in: model.trainingSummary, with: after, chosenOn: features.map(\.lastPathComponent),
                                                    objective: objective, choice: choice)
        return choice
    }

    /// The summary with `thresholds` as its per-class thresholds and a record of where
    /// they were chosen.
    static func replacingThresholds(in summary: String, with thresholds: [Double], chosenOn files: [String],
                                    objective: ThresholdObjective, choice: ThresholdChoice) -> String {
        Self.summary(summary, adding: [
            "class_thresholds": thresholds,
            "thresholds_chosen_on": ["files": files, "clips": choice.clips, "class_counts": choice.classCounts, "objective": objective.rawValue,
                                     "micro_f1_before": choice.microF1Before, "micro_f1_after": choice.microF1After] as [String: Any],
        ])
    }

    /// The training summary with `entries` set at its top level (a summary that is not a
    /// JSON object is replaced by one holding them).
    static func summary(_ summary: String, adding entries: [String: Any]) -> String {
        var object = ((try? JSONSerialization.jsonObject(with: Data(summary.utf8))) as? [String: Any]) ?? [:]
        object.merge(entries) { _, new in new }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return summary }
        return String(decoding: data, as: UTF8.self)
    }

    /// The model's logits and the targets of every labelled clip of `features`, and how
    /// many there are.
    private static func labelledLogits(of model: ModelFile, on features: [URL], purpose: String, batchSize: Int) throws -> (Tensor, Tensor, Int) {
        let clips = try ClipLibrary(urls: features)
        try model.checkCompatible(with: clips.readers[0].metadata, source: features[0].path)
        let labelled = (0..<clips.count).filter { !clips.classIndices(of: $0).isEmpty }
        guard !labelled.isEmpty else { throw TrainingError("\(features[0].path): no labelled clips to \(purpose)") }
        openblas_set_num_threads(1)
        let (logits, targets) = try BatchReader(clips: clips).logits(of: try model.makeModel(), for: labelled.map(Example.solo), batchSize: batchSize)
        return (logits, targets, labelled.count)
    }

    /// The summary with `calibration` in place of the one training recorded.
    static func replacingCalibration(in summary: String, with calibration: Calibration) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(summary.utf8))) as? [String: Any],
              let encoded = try? JSONEncoder().encode(calibration),
              let value = try? JSONSerialization.jsonObject(with: encoded) else { return summary }
        object["calibration"] = value
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return summary }
        return String(decoding: data, as: UTF8.self)
    }

    /// The summary with its thresholds moved from probabilities at temperature `old` to
    /// those at `new` (the same logit, so the same decisions).
    static func mappedThresholds(in summary: String, from old: Double, to new: Double) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(summary.utf8))) as? [String: Any] else { return summary }
        func map(_ t: Double) -> Double {
            let p = min(max(t, 1e-6), 1 - 1e-6)
            let logit = log(p / (1 - p)) * old
            return 1 / (1 + exp(-logit / new))
        }
        // A model without a recorded threshold decides at 0.5; record where 0.5 moves to.
        object["threshold"] = map(object["threshold"] as? Double ?? 0.5)
        if let perClass = (object["class_thresholds"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.doubleValue }) {
            object["class_thresholds"] = perClass.map(map)
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return summary }
        return String(decoding: data, as: UTF8.self)
    }
}
