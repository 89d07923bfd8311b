import COpenBLAS
import Foundation
import TimbreNN
import TimbreStore

/// The training recipe; every field is recorded in the model's training summary.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var epochs = 30
    public var batchSize = 32
    public var learningRate = 1e-4
    /// Share of each class's recordings held out for validation when no validation file is given.
    public var validationFraction = 0.15
    public var seed: UInt64 = 1
    /// Stop after this many epochs without a lower validation loss.
    public var patience = 5
    public var filters = 64
    public var hidden = 256
    public var dropout = 0.5

    public init() {}

    /// Same recipe apart from how long to train: what a resumed run must keep.
    func sameRecipe(as other: TrainingOptions) -> Bool {
        var a = self, b = other
        a.epochs = 0; b.epochs = 0
        a.patience = 0; b.patience = 0
        return a == b
    }
}

/// What happened in one epoch.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainingLoss: Double
    public var trainingAccuracy: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var clipsPerSecond: Double
}

/// Progress within an epoch, for a progress bar.
public struct BatchProgress: Sendable {
    public var epoch: Int
    public var batch: Int
    public var batches: Int
    public var loss: Double
    public var accuracy: Double
    public var clipsPerSecond: Double
}

/// The trainer's position, stored in checkpoints so `resume` continues exactly.
struct TrainerState: Codable, Equatable {
    var nextEpoch = 0
    var step: UInt64 = 0
    var bestValidationLoss = Double.infinity
    var bestEpoch = -1
    var epochsWithoutImprovement = 0
    var history: [EpochRecord] = []
    var options: TrainingOptions
    /// Decision threshold for multi-label use, chosen on validation with the best model.
    var threshold: Double?
}

/// How training ended.
public struct TrainingResult: Sendable {
    public var history: [EpochRecord]
    public var bestEpoch: Int
    public var stoppedEarly: Bool
    public var interrupted: Bool
    public var trainingClips: Int
    public var validationClips: Int
}

/// Trains the instrument CNN on a feature file: class-balanced epochs, validation after
/// each, early stopping on validation loss, the best model written whenever it improves,
/// and a checkpoint after every epoch (both written atomically).
public final class Trainer: @unchecked Sendable {
    public let featuresURL: URL
    public let outputURL: URL
    public let validationURL: URL?
    public let options: TrainingOptions
    private let cancelLock = NSLock()
    private var cancelled = false

    public init(features: URL, output: URL, validation: URL? = nil, options: TrainingOptions) {
        featuresURL = features
        outputURL = output
        validationURL = validation
        self.options = options
    }

    /// Where checkpoints go: beside the model, `NAME.checkpoint.h5`.
    public var checkpointURL: URL {
        outputURL.deletingPathExtension().appendingPathExtension("checkpoint.h5")
    }

    /// Stops after the current batch; the last checkpoint stays valid for `resume`.
    public func cancel() {
        cancelLock.lock(); cancelled = true; cancelLock.unlock()
    }

    private var isCancelled: Bool {
        cancelLock.lock(); defer { cancelLock.unlock() }
        return cancelled
    }

    public func run(resume: Bool, progress: (BatchProgress) -> Void = { _ in }, epochDone: (EpochRecord, Bool) -> Void = { _, _ in }) throws -> TrainingResult {
        let reader = try FeatureFileReader(url: featuresURL)
        let metadata = reader.metadata
        let classCount = metadata.classCodes.count
        let batches = BatchReader(reader: reader)

        // Validation: a separate feature file, or recordings held out of this one.
        var split: DataSplit
        var validationBatches: BatchReader?
        if let validationURL {
            let validationReader = try FeatureFileReader(url: validationURL)
            guard validationReader.metadata.classCodes == metadata.classCodes, validationReader.metadata.settings == metadata.settings else {
                throw TrainingError("\(validationURL.path): validation features differ from the training features in classes or settings")
            }
            validationBatches = BatchReader(reader: validationReader)
            split = DataSplit(training: Array(0..<reader.count), validation: Array(0..<validationReader.count))
        } else {
            split = DataSplit.byGroup(labels: reader.label, groups: reader.groups, fraction: options.validationFraction, seed: options.seed)
            validationBatches = batches
        }
        split.training = split.training.filter { reader.label[$0] >= 0 }
        split.validation = split.validation.filter { (validationBatches?.reader.label[$0] ?? -1) >= 0 }
        guard !split.training.isEmpty else { throw TrainingError("\(featuresURL.path): no single-label clips to train on") }
        let sampler = BalancedSampler(clips: split.training.map { ($0, Int(reader.label[$0])) }, classCount: classCount)

        let architecture = Architecture.instrumentCNN(
            classes: classCount, inputShape: batches.inputShape, filters: options.filters, hidden: options.hidden, dropout: options.dropout)
        let model = Sequential(architecture)
        let optimizer = Adam(parameterCount: model.parameters.count, learningRate: options.learningRate)
        var state = TrainerState(options: options)
        if resume, FileManager.default.fileExists(atPath: checkpointURL.path) {
            let saved = try ModelFile.read(from: checkpointURL)
            guard let checkpoint = saved.checkpoint, saved.architecture == architecture else {
                throw TrainingError("\(checkpointURL.path): checkpoint is for another architecture")
            }
            try saved.checkCompatible(with: metadata, source: featuresURL.path)
            state = try JSONDecoder().decode(TrainerState.self, from: Data(checkpoint.trainerState.utf8))
            guard state.options.sameRecipe(as: options) else {
                throw TrainingError("\(checkpointURL.path): checkpoint was made with other training options; resume with the same ones")
            }
            state.options = options
            model.parameters.setValues(saved.weights)
            optimizer.restore(checkpoint.optimizer)
        } else {
            model.initialize(seed: options.seed)
        }

        // The engine parallelises over batch items; OpenBLAS stays single-threaded.
        openblas_set_num_threads(1)
        MemoryPolicy.reuseLargeAllocations()
        var interrupted = false
        var stoppedEarly = state.epochsWithoutImprovement >= options.patience && split.validation.count > 0
        epochs: for epoch in state.nextEpoch..<options.epochs where !stoppedEarly {
            let order = sampler.order(epoch: epoch, seed: options.seed)
            let started = Date()
            var lossSum = 0.0, correct = 0, seen = 0
            let batchCount = (order.count + options.batchSize - 1) / options.batchSize
            for batch in 0..<batchCount {
                if isCancelled { interrupted = true; break epochs }
                let indices = Array(order[(batch * options.batchSize)..<min(order.count, (batch + 1) * options.batchSize)])
                let (input, labels) = try batches.batch(indices)
                let result = model.trainStep(input, targets: labels, optimizer: optimizer, seed: options.seed, step: state.step)
                state.step += 1
                lossSum += result.loss * Double(indices.count)
                correct += Self.correctCount(result.probabilities, labels)
                seen += indices.count
                let elapsed = Date().timeIntervalSince(started)
                progress(BatchProgress(epoch: epoch, batch: batch + 1, batches: batchCount, loss: lossSum / Double(seen),
                                       accuracy: Double(correct) / Double(seen), clipsPerSecond: Double(seen) / max(elapsed, 1e-9)))
            }
            var record = EpochRecord(epoch: epoch + 1, trainingLoss: lossSum / Double(max(seen, 1)), trainingAccuracy: Double(correct) / Double(max(seen, 1)),
                                     clipsPerSecond: Double(seen) / max(Date().timeIntervalSince(started), 1e-9))
            var improved = false
            if let validationBatches, !split.validation.isEmpty {
                let (loss, accuracy) = try Self.evaluate(model, validationBatches, split.validation, batchSize: options.batchSize)
                record.validationLoss = loss
                record.validationAccuracy = accuracy
                improved = loss < state.bestValidationLoss
            } else {
                improved = true
            }
            state.history.append(record)
            state.nextEpoch = epoch + 1
            if improved {
                state.bestValidationLoss = record.validationLoss ?? record.trainingLoss
                state.bestEpoch = epoch + 1
                state.epochsWithoutImprovement = 0
                var best = ModelFile(architecture: architecture, features: metadata, weights: model.parameters.valueArray)
                best.trainingSummary = summary(state, split: split)
                try best.write(to: outputURL, slices: model.parameters.slices)
            } else {
                state.epochsWithoutImprovement += 1
            }
            var checkpoint = ModelFile(architecture: architecture, features: metadata, weights: model.parameters.valueArray)
            checkpoint.checkpoint = .init(optimizer: optimizer.state, trainerState: String(decoding: try JSONEncoder().encode(state), as: UTF8.self))
            try checkpoint.write(to: checkpointURL, slices: model.parameters.slices)
            epochDone(record, improved)
            if !split.validation.isEmpty && state.epochsWithoutImprovement >= options.patience { stoppedEarly = true }
        }
        if !interrupted {
            // Record the complete history, and a threshold chosen on validation data for
            // multi-label decisions, in the final model file.
            var best = try ModelFile.read(from: outputURL)
            if let validationBatches, !split.validation.isEmpty {
                let (logits, truth) = try validationBatches.logits(of: try best.makeModel(), for: split.validation, batchSize: options.batchSize)
                state.threshold = ThresholdSearch.best(probabilities: SoftmaxCrossEntropy.softmax(logits).data, truth: truth, classes: classCount)
            }
            best.trainingSummary = summary(state, split: split)
            try best.write(to: outputURL, slices: model.parameters.slices)
        }
        return TrainingResult(history: state.history, bestEpoch: state.bestEpoch, stoppedEarly: stoppedEarly, interrupted: interrupted,
                              trainingClips: split.training.count, validationClips: split.validation.count)
    }

    /// Mean loss and accuracy over `indices`, dropout off.
    static func evaluate(_ model: Sequential, _ batches: BatchReader, _ indices: [Int], batchSize: Int) throws -> (Double, Double) {
        let (logits, labels) = try batches.logits(of: model, for: indices, batchSize: batchSize)
        let result = SoftmaxCrossEntropy.evaluate(logits: logits, targets: labels)
        return (result.loss, Double(correctCount(result.probabilities, labels)) / Double(indices.count))
    }

    static func correctCount(_ probabilities: Tensor, _ labels: [Int]) -> Int {
        let classes = probabilities.shape[1]
        var correct = 0
        for (item, label) in labels.enumerated() {
            let row = probabilities.data[(item * classes)..<((item + 1) * classes)]
            if let best = row.indices.max(by: { row[$0] < row[$1] }), best - item * classes == label { correct += 1 }
        }
        return correct
    }

    private func summary(_ state: TrainerState, split: DataSplit) -> String {
        struct Summary: Encodable {
            let features: String
            let validation: String
            let trainingClips: Int
            let validationClips: Int
            let bestEpoch: Int
            let bestValidationLoss: Double?
            let threshold: Double?
            let recipe: TrainingOptions
            let history: [EpochRecord]
        }
        let summary = Summary(
            features: featuresURL.path, validation: validationURL?.path ?? "held-out recordings (\(options.validationFraction))",
            trainingClips: split.training.count, validationClips: split.validation.count, bestEpoch: state.bestEpoch,
            bestValidationLoss: state.bestValidationLoss.isFinite ? state.bestValidationLoss : nil, threshold: state.threshold,
            recipe: options, history: state.history)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(summary)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// A training run that cannot proceed, with the reason.
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
