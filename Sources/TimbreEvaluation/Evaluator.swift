import COpenBLAS
import Foundation
import TimbreCore
import TimbreNN
import TimbreStore
import TimbreTraining

/// Runs a model over every clip of a feature file and scores it: single-label clips give
/// the confusion matrix and its metrics; clips with several classes give multi-label F1
/// and LRAP at `threshold` (or at per-class thresholds).
public enum Evaluator {
    /// Clips whose features are not all finite are left out, each reported through
    /// `reportSkipped`.
    public static func evaluate(model file: ModelFile, features url: URL, families: [String], threshold: Double = 0.5, classThresholds: [Double]? = nil,
                                batchSize: Int = 32, reportSkipped: @escaping (String) -> Void = { _ in }) throws -> EvaluationReport {
        let reader = try FeatureFileReader(url: url)
        try file.checkCompatible(with: reader.metadata, source: url.path)
        let model = try file.makeModel()
        let batches = BatchReader(reader: reader)
        batches.reportSkipped = reportSkipped
        let classes = reader.classCount
        openblas_set_num_threads(1)
        MemoryPolicy.reuseLargeAllocations()
        let probabilities = file.architecture.probabilities(try batches.logits(of: model, for: Array(0..<reader.count), batchSize: batchSize).logits).data
        var truth: [Int] = [], predicted: [Int] = []
        var multiTruth: [Set<Int>] = [], multiRows: [Float] = []
        var predictions: [EvaluationReport.ClipPrediction] = []
        predictions.reserveCapacity(reader.count)
        for clip in 0..<reader.count where !batches.nonFiniteClips.contains(clip) {
            let row = probabilities[(clip * classes)..<((clip + 1) * classes)]
            let labels = reader.classIndices(of: clip)
            predictions.append(.init(source: reader.sources[clip], offset: reader.offsets[clip], truth: labels, probabilities: Array(row)))
            if labels.count == 1 {
                truth.append(labels[0])
                predicted.append(row.indices.max { row[$0] < row[$1] }! - clip * classes)
            } else if labels.count > 1 {
                multiTruth.append(Set(labels))
                multiRows += row
            }
        }
        var report = EvaluationReport(classCodes: reader.metadata.classCodes, classNames: reader.metadata.classNames, families: families)
        report.predictions = predictions
        if !truth.isEmpty { report.single = ClassificationMetrics(truth: truth, predicted: predicted, classes: classes) }
        if !multiTruth.isEmpty {
            report.multi = MultiLabelMetrics(probabilities: multiRows, truth: multiTruth, classes: classes, threshold: threshold, classThresholds: classThresholds)
        }
        let labelled = predictions.filter { !$0.truth.isEmpty }
        if !labelled.isEmpty {
            report.calibrationError = TemperatureScaling.calibrationError(
                probabilities: labelled.flatMap(\.probabilities), truth: labelled.map { Set($0.truth) }, classes: classes, output: file.architecture.output)
            report.calibrationMeasure = file.architecture.output == .sigmoid ? "every class's probability" : "the top class"
        }
        return report
    }
}
