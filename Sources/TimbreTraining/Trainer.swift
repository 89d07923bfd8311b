import COpenBLAS
import Foundation
import TimbreNN
import TimbreStore
import TimbreCore

/// The training recipe; every field is recorded in the model's training summary.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var epochs = 30
    public var batchSize = 32
    public var learningRate = 5e-4
    /// Share of each class's recordings held out for validation when no validation file is given.
    public var validationFraction = 0.15
    public var seed: UInt64 = 1
    /// Stop after this many epochs without a lower validation loss.
    public var patience = 5
    public var filters = 64
    public var hidden = 256
    public var dropout = 0.5
    /// Softmax (one class per clip, the design's output) or sigmoid (multi-label).
    public var output = OutputActivation.softmax
    /// Mixtures of solo clips among the training examples (none by default).
    public var mixing = MixRecipe()
    /// SpecAugment masks on training examples, when set.
    public var masking: SpectrogramMasking?
    /// Random equalisation of training examples, when set.
    public var equalisation: RandomEqualisation?
    /// Random shifts of training examples along the mel axis, when set.
    public var bandShift: RandomBandShift?
    /// Per-band statistics of training clips blended with another source's clip of the
    /// same class, when set.
    public var styleMixing: SourceStyleMixing?
    /// Convex blends of training items and their targets in the log-mel domain, when set.
    public var mixup: InputMixup?
    /// Subtract each mel band's mean over the clip before the per-clip standardisation,
    /// so the network sees no static colouring (microphone, room, equaliser) at all.
    public var centresBands = false
    /// Take each feature's maximum over time after the convolution blocks, so the dense
    /// layer sees where in frequency features fire, not when.
    public var poolsTime = false
    /// Batch-normalise every convolution's output before its ReLU (an addition to the
    /// design's network; training uses each batch's statistics, inference the running ones).
    public var normalisesBatches = false
    /// Per-class decision thresholds chosen elsewhere (e.g. by cross-source validation),
    /// recorded in the model instead of searching them on this run's validation clips.
    public var classThresholds: [Double]?
    /// Fit a temperature on the validation clips after training and store it in the model
    /// (temperature scaling), so that its probabilities mean what they say.
    public var calibrates = true
    /// Keep the last epoch's model rather than the one with the lowest validation loss,
    /// and never stop early: for cross-validation folds, whose validation data scores the
    /// recipe and must not choose the model.
    public var keepsLastEpoch = false
    /// Average the weights over every step from this epoch on (1 = the first) and validate
    /// and save the average (`WeightAverage`); nil trains and saves the weights as they are.
    public var averageFrom: Int?
    /// Lower the learning rate along a half cosine, from `learningRate` in the first epoch
    /// towards zero after the last (`epochs`), instead of keeping it constant.
    public var cosineDecay = false
    /// Also train on the clips that carry several labels (song mixes, whose labels come
    /// from their stems), each once per epoch as it is, with every labelled class as a
    /// target. Sigmoid output only; without it those clips only validate.
    public var multiLabelClips = false

    public init() {}

    /// The learning rate of `epoch` (0-based).
    public func learningRate(epoch: Int) -> Double {
        guard cosineDecay, epochs > 0 else { return learningRate }
        return learningRate * 0.5 * (1 + cos(Double.pi * Double(epoch) / Double(epochs)))
    }

    private enum CodingKeys: String, CodingKey {
        case epochs, batchSize, learningRate, validationFraction, seed, patience, filters, hidden, dropout, output, mixing, masking, equalisation, bandShift, styleMixing, mixup, centresBands, poolsTime, normalisesBatches, classThresholds, calibrates, keepsLastEpoch, averageFrom, cosineDecay, multiLabelClips
    }

    /// Fields added after the first checkpoints take their defaults when absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        validationFraction = try c.decode(Double.self, forKey: .validationFraction)
        seed = try c.decode(UInt64.self, forKey: .seed)
        patience = try c.decode(Int.self, forKey: .patience)
        filters = try c.decode(Int.self, forKey: .filters)
        hidden = try c.decode(Int.self, forKey: .hidden)
        dropout = try c.decode(Double.self, forKey: .dropout)
        output = try c.decodeIfPresent(OutputActivation.self, forKey: .output) ?? .softmax
        mixing = try c.decodeIfPresent(MixRecipe.self, forKey: .mixing) ?? MixRecipe()
        masking = try c.decodeIfPresent(SpectrogramMasking.self, forKey: .masking)
        equalisation = try c.decodeIfPresent(RandomEqualisation.self, forKey: .equalisation)
        bandShift = try c.decodeIfPresent(RandomBandShift.self, forKey: .bandShift)
        styleMixing = try c.decodeIfPresent(SourceStyleMixing.self, forKey: .styleMixing)
        mixup = try c.decodeIfPresent(InputMixup.self, forKey: .mixup)
        centresBands = try c.decodeIfPresent(Bool.self, forKey: .centresBands) ?? false
        poolsTime = try c.decodeIfPresent(Bool.self, forKey: .poolsTime) ?? false
        normalisesBatches = try c.decodeIfPresent(Bool.self, forKey: .normalisesBatches) ?? false
        classThresholds = try c.decodeIfPresent([Double].self, forKey: .classThresholds)
        keepsLastEpoch = try c.decodeIfPresent(Bool.self, forKey: .keepsLastEpoch) ?? false
        calibrates = try c.decodeIfPresent(Bool.self, forKey: .calibrates) ?? true
        averageFrom = try c.decodeIfPresent(Int.self, forKey: .averageFrom)
        cosineDecay = try c.decodeIfPresent(Bool.self, forKey: .cosineDecay) ?? false
        multiLabelClips = try c.decodeIfPresent(Bool.self, forKey: .multiLabelClips) ?? false
    }

    /// Whether validation also scores clips with several classes and mixtures of
    /// validation clips (for multi-label outputs or mixture training), or only solo clips.
    var validatesMixtures: Bool { output == .sigmoid || mixing.fraction > 0 }

    /// Same recipe apart from how long to train: what a resumed run must keep. The length
    /// is part of the recipe when the learning rate decays over it.
    func sameRecipe(as other: TrainingOptions) -> Bool {
        var a = self, b = other
        if !cosineDecay { a.epochs = 0; b.epochs = 0 }
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
    /// Adam's learning rate during the epoch (absent in models trained before it was kept).
    public var learningRate: Double?
    /// Each class's recall on the validation's solo clips of that class, nil for a class
    /// they lack (absent in models trained before it was kept): a held-out source's
    /// classes can be followed from epoch to epoch, not only at the last.
    public var validationRecall: [Double?]?
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
    /// The same chosen per class.
    var classThresholds: [Double]?
    /// Validation examples in which each class is present (0: its threshold is a default).
    var validationClassCounts: [Int]?
    /// The temperature fitted on validation clips and what it did to their calibration.
    var calibration: Calibration?
}

/// Temperature scaling's outcome on the validation clips: the temperature and the
/// expected calibration error before and after it (of the top class for softmax, of every
/// class's probability for sigmoid: `TemperatureScaling.calibrationError`).
public struct Calibration: Codable, Equatable, Sendable {
    public var temperature: Double
    public var eceBefore: Double
    public var eceAfter: Double

    enum CodingKeys: String, CodingKey { case temperature, eceBefore = "ece_before", eceAfter = "ece_after" }
}

/// How training ended.
public struct TrainingResult: Sendable {
    public var history: [EpochRecord]
    public var bestEpoch: Int
    public var stoppedEarly: Bool
    public var interrupted: Bool
    public var trainingClips: Int
    public var validationClips: Int
    /// Set when a temperature was fitted on the validation clips.
    public var calibration: Calibration?
    /// Classes with at least one training clip.
    public var classesTrained = 0

    /// Whether the best validation accuracy is no better than guessing among the trained
    /// classes (under 1.5 times chance), i.e. the model learned next to nothing.
    public var endedAtChance: Bool {
        guard classesTrained > 1, let accuracy = history.first(where: { $0.epoch == bestEpoch })?.validationAccuracy else { return false }
        return accuracy < 1.5 / Double(classesTrained)
    }
}

/// Trains the instrument CNN on feature files: class-balanced epochs (optionally with
/// mixtures of clips and spectrogram masks), validation after each, early stopping on
/// validation loss, the best model written whenever it improves, and a checkpoint after
/// every epoch (both written atomically).
public final class Trainer: @unchecked Sendable {
    /// Training feature files, read as one collection (e.g. one file per sound source).
    public let featureURLs: [URL]
    public let outputURL: URL
    /// Validation feature files; empty: recordings held out of the training files.
    public let validationURLs: [URL]
    public let options: TrainingOptions
    /// One line per problem that does not stop training (a clip skipped).
    public var warning: (String) -> Void = { _ in }
    private let cancelLock = NSLock()
    private var cancelled = false

    public init(features: [URL], output: URL, validation: [URL] = [], options: TrainingOptions) {
        featureURLs = features
        outputURL = output
        validationURLs = validation
        self.options = options
    }

    public convenience init(features: URL, output: URL, validation: URL? = nil, options: TrainingOptions) {
        self.init(features: [features], output: output, validation: validation.map { [$0] } ?? [], options: options)
    }

    /// Where checkpoints go: beside the model, `NAME.checkpoint.h5`.
    public var checkpointURL: URL {
        outputURL.deletingPathExtension().appendingPathExtension("checkpoint.h5")
    }

    /// The error that ends a run whose loss is no longer a number: the model file keeps
    /// the best epoch so far.
    private func nonFiniteLoss(epoch: Int, batch: Int?, best: Int) -> TrainingError {
        let place = batch.map { "epoch \(epoch + 1), batch \($0 + 1)" } ?? "epoch \(epoch + 1), validation"
        let kept = best > 0 ? "\(outputURL.path) keeps epoch \(best), the best so far" : "no model was written"
        return TrainingError("training stopped at \(place): the loss is no longer finite (try a lower --learning-rate); \(kept)")
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
        let library = try ClipLibrary(urls: featureURLs)
        let metadata = library.metadata
        let classCount = metadata.classCodes.count
        if let given = options.classThresholds, given.count != classCount {
            throw TrainingError("\(given.count) class thresholds given for \(classCount) classes")
        }
        let batches = BatchReader(clips: library)
        batches.reportSkipped = warning

        // Validation: separate feature files, or recordings held out of the training ones.
        var split: DataSplit
        let validationBatches: BatchReader
        if !validationURLs.isEmpty {
            let validationLibrary = try ClipLibrary(urls: validationURLs)
            guard validationLibrary.metadata.classCodes == metadata.classCodes,
                  validationLibrary.metadata.settings.logMelDifferences(from: metadata.settings).isEmpty else {
                throw TrainingError("\(validationURLs[0].path): validation features differ from the training features in classes or settings")
            }
            validationBatches = BatchReader(clips: validationLibrary)
            validationBatches.reportSkipped = warning
            split = DataSplit(training: Array(0..<library.count), validation: Array(0..<validationLibrary.count))
        } else {
            split = DataSplit.byGroup(labels: library.label, groups: library.groups, fraction: options.validationFraction, seed: options.seed)
            validationBatches = batches
        }
        guard !options.normalisesBatches || (options.averageFrom == nil && TrainingGroup.size == 1) else {
            // Averaged weights would need batch statistics recomputed for them, and each
            // process of a group would keep running statistics of its own share.
            throw TrainingError("batch normalisation trains in one process and without weight averaging (--average-from)")
        }
        guard !options.multiLabelClips || options.output == .sigmoid else {
            throw TrainingError("training on clips with several labels needs the sigmoid output (--output-layer sigmoid)")
        }
        let multiLabel = options.multiLabelClips ? split.training.filter { library.label[$0] < 0 && !library.classIndices(of: $0).isEmpty } : []
        split.training = split.training.filter { library.label[$0] >= 0 }
        guard !split.training.isEmpty else { throw TrainingError("\(featureURLs[0].path): no single-label clips to train on") }
        let pool = split.training.map { (index: $0, label: Int(library.label[$0])) }
        // Counted among the training clips; the sampler and the mixtures use the single-label ones.
        split.training += multiLabel
        let sampler = BalancedSampler(clips: pool, classCount: classCount)
        let planner = MixPlanner(recipe: options.mixing, pool: pool, classCount: classCount, rmsDB: (0..<library.count).map(library.rmsDB(of:)))
        let donors = options.styleMixing.map {
            StyleDonorPicker(recipe: $0, pool: pool, classCount: classCount, labels: library.label, fileIndex: library.fileIndex)
        }
        if let donors, !donors.hasDonors {
            warning("style mixing has no donors: no class is played by more than one feature file, so no clip is restyled")
        }
        let validation = validationExamples(split.validation, batches: validationBatches)
        split.validation = validation.filter { !$0.isMix }.map { $0.components[0].clip }

        let architecture = Architecture.instrumentCNN(
            classes: classCount, inputShape: batches.inputShape, filters: options.filters, hidden: options.hidden, dropout: options.dropout,
            output: options.output, centresBands: options.centresBands, poolsTime: options.poolsTime,
            normalisesBatches: options.normalisesBatches)
        let model = Sequential(architecture)
        let optimizer = Adam(parameterCount: model.parameters.count, learningRate: options.learningRate)
        var state = TrainerState(options: options)
        var average = WeightAverage()
        if resume, FileSystemName.status(of: checkpointURL.path).exists {
            let saved = try ModelFile.read(from: checkpointURL)
            guard let checkpoint = saved.checkpoint, saved.architecture == architecture else {
                throw TrainingError("\(checkpointURL.path): checkpoint is for another architecture")
            }
            try saved.checkCompatible(with: metadata, source: featureURLs[0].path)
            state = try JSONDecoder().decode(TrainerState.self, from: Data(checkpoint.trainerState.utf8))
            guard state.options.sameRecipe(as: options) else {
                throw TrainingError("\(checkpointURL.path): checkpoint was made with other training options; resume with the same ones")
            }
            guard state.nextEpoch >= 0, (-1...state.nextEpoch).contains(state.bestEpoch), state.epochsWithoutImprovement >= 0 else {
                throw TrainingError("\(checkpointURL.path): checkpoint records an impossible position (next epoch \(state.nextEpoch), best epoch \(state.bestEpoch))")
            }
            state.options = options
            model.parameters.setValues(saved.weights)
            model.batchNormState = saved.batchNormState
            optimizer.restore(checkpoint.optimizer)
            average = checkpoint.average ?? WeightAverage()
        } else {
            model.initialize(seed: options.seed)
        }

        try TrainingGroup.checkSameStart(epoch: state.nextEpoch, checkpoint: checkpointURL)
        // The engine parallelises over batch items; OpenBLAS stays single-threaded.
        openblas_set_num_threads(1)
        MemoryPolicy.reuseLargeAllocations()
        var interrupted = false
        var stoppedEarly = state.epochsWithoutImprovement >= options.patience && !validation.isEmpty
        /// Whether the steps of `epoch` (0-based) join the weight average.
        func averages(_ epoch: Int) -> Bool { options.averageFrom.map { epoch + 1 >= $0 } ?? false }
        epochs: for epoch in state.nextEpoch..<max(state.nextEpoch, options.epochs) where !stoppedEarly {
            let order = Self.shuffledIn(multiLabel, to: sampler.order(epoch: epoch, seed: options.seed), epoch: epoch, seed: options.seed)
            optimizer.learningRate = options.learningRate(epoch: epoch)
            let started = Date()
            var lossSum = 0.0, correct = 0, seen = 0
            let batchCount = (order.count + options.batchSize - 1) / options.batchSize
            for batch in 0..<batchCount {
                // Alone, stop before the batch; in a group, the ranks agree after each step.
                if TrainingGroup.size == 1, isCancelled { interrupted = true; break epochs }
                let whole = (batch * options.batchSize)..<min(order.count, (batch + 1) * options.batchSize)
                // Each process of a training group takes its share of the batch; alone, all of it.
                let positions = TrainingGroup.share(of: whole)
                let examples = positions.map { position -> Example in
                    var rng = SeededGenerator(seed: options.seed, stream: UInt64(epoch) << 40 | UInt64(position))
                    let clip = order[position], label = Int(library.label[clip])
                    var example = label < 0 ? Example.solo(clip) : planner.example(around: clip, label: label, rng: &rng)
                    donors?.assignDonors(to: &example, rng: &rng)
                    return example
                }
                guard !examples.isEmpty else {
                    // A share can be empty when a batch has fewer items than processes.
                    TrainingGroup.stepWithoutItems(model.parameters, optimizer: optimizer, batchItems: whole.count)
                    let agreed = TrainingGroup.agree(weightedLoss: 0, stop: isCancelled)
                    guard agreed.loss.isFinite else { throw nonFiniteLoss(epoch: epoch, batch: batch, best: state.bestEpoch) }
                    state.step += 1
                    if averages(epoch) { average.add(UnsafeBufferPointer(model.parameters.values)) }
                    if agreed.stop { interrupted = true; break epochs }
                    continue
                }
                var (input, targets) = try batches.batch(examples, masking: options.masking, equalisation: options.equalisation,
                                                         bandShift: options.bandShift, seed: options.seed, step: state.step,
                                                         firstSlot: positions.lowerBound - whole.lowerBound)
                options.mixup?.apply(input: &input, targets: &targets, seed: options.seed, step: state.step,
                                     firstSlot: positions.lowerBound - whole.lowerBound)
                let result = model.trainStep(input, targetRows: targets, optimizer: optimizer, seed: options.seed, step: state.step,
                                             itemOffset: positions.lowerBound - whole.lowerBound,
                                             combineGradients: TrainingGroup.size > 1 ? { TrainingGroup.combine($0, items: examples.count, batchItems: whole.count) } : nil)
                // The whole batch's loss, so that every rank of a group stops on the same step.
                let agreed = TrainingGroup.agree(weightedLoss: result.loss * Double(examples.count) / Double(whole.count), stop: isCancelled)
                guard agreed.loss.isFinite else { throw nonFiniteLoss(epoch: epoch, batch: batch, best: state.bestEpoch) }
                state.step += 1
                if averages(epoch) { average.add(UnsafeBufferPointer(model.parameters.values)) }
                lossSum += result.loss * Double(examples.count)
                correct += Self.topClassCorrect(result.probabilities, targets)
                seen += examples.count
                let elapsed = Date().timeIntervalSince(started)
                progress(BatchProgress(epoch: epoch, batch: batch + 1, batches: batchCount, loss: lossSum / Double(seen),
                                       accuracy: Double(correct) / Double(seen), clipsPerSecond: Double(seen) / max(elapsed, 1e-9)))
                if TrainingGroup.size > 1 && agreed.stop { interrupted = true; break epochs }
            }
            if TrainingGroup.size > 1 {
                let totals = TrainingGroup.sum([lossSum, Double(correct), Double(seen)])
                (lossSum, correct, seen) = (totals[0], Int(totals[1]), Int(totals[2]))
            }
            var record = EpochRecord(epoch: epoch + 1, trainingLoss: lossSum / Double(max(seen, 1)), trainingAccuracy: Double(correct) / Double(max(seen, 1)),
                                     clipsPerSecond: Double(seen) / max(Date().timeIntervalSince(started), 1e-9), learningRate: optimizer.learningRate)
            var improved = false
            // Validation and the saved model see the average once there is one; training
            // goes on from the weights as they are.
            let trained = model.parameters.valueArray
            if average.count > 0 { model.parameters.setValues(average.values) }
            defer { if average.count > 0 { model.parameters.setValues(trained) } }
            if !validation.isEmpty {
                let scored = try Self.evaluate(model, validationBatches, validation, batchSize: options.batchSize)
                guard scored.loss.isFinite else { throw nonFiniteLoss(epoch: epoch, batch: nil, best: state.bestEpoch) }
                record.validationLoss = scored.loss
                record.validationAccuracy = scored.accuracy
                record.validationRecall = scored.recall
                improved = scored.loss < state.bestValidationLoss || options.keepsLastEpoch
            } else {
                improved = true
            }
            state.history.append(record)
            state.nextEpoch = epoch + 1
            if improved {
                state.bestValidationLoss = record.validationLoss ?? record.trainingLoss
                state.bestEpoch = epoch + 1
                state.epochsWithoutImprovement = 0
                var best = ModelFile(architecture: architecture, features: metadata, model: model)
                best.trainingSummary = summary(state, split: split)
                if TrainingGroup.isLeader { try best.write(to: outputURL, slices: model.parameters.slices) }
            } else {
                state.epochsWithoutImprovement += 1
            }
            var checkpoint = ModelFile(architecture: architecture, features: metadata, weights: trained, batchNormState: model.batchNormState)
            checkpoint.checkpoint = .init(optimizer: optimizer.state, trainerState: String(decoding: try JSONEncoder().encode(state), as: UTF8.self),
                                          average: average.count > 0 ? average : nil)
            if TrainingGroup.isLeader { try checkpoint.write(to: checkpointURL, slices: model.parameters.slices) }
            epochDone(record, improved)
            if !validation.isEmpty && !options.keepsLastEpoch && state.epochsWithoutImprovement >= options.patience { stoppedEarly = true }
        }
        if !interrupted && TrainingGroup.isLeader {
            // Record the complete history, and thresholds chosen on validation data for
            // multi-label decisions, in the final model file (the leader's job).
            var best = try ModelFile.read(from: outputURL)
            if !validation.isEmpty {
                let (logits, targets) = try validationBatches.logits(of: try best.makeModel(), for: validation, batchSize: options.batchSize)
                let truth = Self.classSets(targets)
                if options.calibrates {
                    let temperature = TemperatureScaling.fit(logits: logits, targets: targets, output: architecture.output)
                    best.architecture.temperature = temperature
                    state.calibration = Calibration(
                        temperature: temperature,
                        eceBefore: TemperatureScaling.calibrationError(probabilities: architecture.probabilities(logits).data, truth: truth, classes: classCount,
                                                                       output: architecture.output),
                        eceAfter: TemperatureScaling.calibrationError(probabilities: best.architecture.probabilities(logits).data, truth: truth, classes: classCount,
                                                                      output: architecture.output))
                }
                // Thresholds apply to the probabilities the model reports: the calibrated ones.
                let probabilities = best.architecture.probabilities(logits).data
                state.threshold = ThresholdSearch.best(probabilities: probabilities, truth: truth, classes: classCount)
                state.classThresholds = ThresholdSearch.perClass(probabilities: probabilities, truth: truth, classes: classCount)
                state.validationClassCounts = (0..<classCount).map { c in truth.filter { $0.contains(c) }.count }
            }
            if let given = options.classThresholds { state.classThresholds = given }
            best.trainingSummary = summary(state, split: split)
            try best.write(to: outputURL, slices: model.parameters.slices)
        }
        return TrainingResult(history: state.history, bestEpoch: state.bestEpoch, stoppedEarly: stoppedEarly, interrupted: interrupted,
                              trainingClips: split.training.count, validationClips: split.validation.count, calibration: state.calibration,
                              classesTrained: Set(pool.map(\.label)).count)
    }

    /// What validation scores: every single-label clip of `indices`; when the recipe
    /// validates mixtures, also its clips with several classes and as many fixed mixtures
    /// of its single-label clips as there are such clips (none when they are all of one class).
    private func validationExamples(_ indices: [Int], batches: BatchReader) -> [Example] {
        let clips = batches.clips
        let single = indices.filter { clips.label[$0] >= 0 }
        var examples = single.map(Example.solo)
        guard options.validatesMixtures else { return examples }
        examples += indices.filter { clips.label[$0] < 0 && !clips.classIndices(of: $0).isEmpty }.map(Example.solo)
        var recipe = options.mixing
        if recipe.maxComponents < 2 { recipe.maxComponents = 4 }
        let planner = MixPlanner(recipe: recipe, pool: single.map { ($0, Int(clips.label[$0])) }, classCount: clips.classCount,
                                 rmsDB: (0..<clips.count).map(clips.rmsDB(of:)))
        return examples + planner.fixedMixtures(count: single.count, seed: options.seed)
    }

    /// Mean loss over `examples` with dropout off, and the top-1 accuracy of its solo
    /// single-label examples, overall and per class (nil for a class with none).
    static func evaluate(_ model: Sequential, _ batches: BatchReader, _ examples: [Example], batchSize: Int) throws
        -> (loss: Double, accuracy: Double, recall: [Double?]) {
        let (logits, targets) = try batches.logits(of: model, for: examples, batchSize: batchSize)
        let result = model.architecture.output.loss(logits: logits, targets: targets)
        let classes = targets.shape[1]
        var correct = [Int](repeating: 0, count: classes), counted = [Int](repeating: 0, count: classes)
        for (item, example) in examples.enumerated() where !example.isMix {
            let row = targets.data[(item * classes)..<((item + 1) * classes)]
            guard row.reduce(0, +) == 1, let truth = row.firstIndex(of: 1) else { continue }
            counted[truth - item * classes] += 1
            let scores = result.probabilities.data[(item * classes)..<((item + 1) * classes)]
            if let best = scores.indices.max(by: { scores[$0] < scores[$1] }), best == truth { correct[truth - item * classes] += 1 }
        }
        let total = counted.reduce(0, +)
        let recall = (0..<classes).map { counted[$0] == 0 ? nil : Double(correct[$0]) / Double(counted[$0]) }
        return (result.loss, total == 0 ? 0 : Double(correct.reduce(0, +)) / Double(total), recall)
    }

    /// Items whose most probable class is one of their target classes.
    /// The epoch's order with `extra` clips (those with several labels) shuffled in; the
    /// order as it was when there are none, so runs without them are unchanged.
    static func shuffledIn(_ extra: [Int], to order: [Int], epoch: Int, seed: UInt64) -> [Int] {
        guard !extra.isEmpty else { return order }
        var generator = SeededGenerator(seed: seed, stream: UInt64(epoch) &+ 0x3A17_1ABE)
        return (order + extra).shuffled(using: &generator)
    }

    static func topClassCorrect(_ probabilities: Tensor, _ targets: Tensor) -> Int {
        let classes = probabilities.shape[1]
        var correct = 0
        for item in 0..<probabilities.batch {
            let row = probabilities.data[(item * classes)..<((item + 1) * classes)]
            if let best = row.indices.max(by: { row[$0] < row[$1] }), targets.data[best] > 0 { correct += 1 }
        }
        return correct
    }

    /// The classes present in each row of multi-hot targets.
    static func classSets(_ targets: Tensor) -> [Set<Int>] {
        let classes = targets.shape[1]
        return (0..<targets.batch).map { item in Set((0..<classes).filter { targets.data[item * classes + $0] > 0 }) }
    }

    private func summary(_ state: TrainerState, split: DataSplit) -> String {
        struct Summary: Encodable {
            let features: [String]
            let validation: String
            let trainingClips: Int
            let validationClips: Int
            let bestEpoch: Int
            let bestValidationLoss: Double?
            let threshold: Double?
            let classThresholds: [Double]?
            let validationClassCounts: [Int]?
            let calibration: Calibration?
            let recipe: TrainingOptions
            let history: [EpochRecord]
            enum CodingKeys: String, CodingKey {
                case features, validation, trainingClips, validationClips, bestEpoch, bestValidationLoss, threshold
                case classThresholds = "class_thresholds", validationClassCounts = "validation_class_counts", calibration, recipe, history
            }
        }
        let summary = Summary(
            features: featureURLs.map(\.path),
            validation: !validationURLs.isEmpty ? validationURLs.map(\.path).joined(separator: ", ")
                : options.validationFraction > 0 ? "held-out recordings (\(options.validationFraction))" : "none",
            trainingClips: split.training.count, validationClips: split.validation.count, bestEpoch: state.bestEpoch,
            bestValidationLoss: state.bestValidationLoss.isFinite ? state.bestValidationLoss : nil, threshold: state.threshold,
            classThresholds: state.classThresholds, validationClassCounts: state.validationClassCounts, calibration: state.calibration, recipe: options, history: state.history)
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
