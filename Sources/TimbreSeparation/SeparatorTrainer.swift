import COpenBLAS
import Foundation
import TimbreCore
import TimbreNN
import TimbreTraining

/// How a separator is trained; stored in checkpoints so `--resume` continues the same run.
public struct SeparatorTrainingOptions: Codable, Equatable, Sendable {
    public enum Mode: String, Codable, CaseIterable, Sendable {
        /// Every batch trains every stem.
        case simultaneous
        /// One network per stem, nothing shared (the multitask graph with one encoder per stem).
        case independent
        /// Batches alternate between per-stem datasets (songs that have the stem), each
        /// training the shared encoder and that stem's decoder.
        case interleaved
        /// As interleaved, but one update after a batch of every stem, the encoder's
        /// gradients summed over them.
        case interleavedAccumulated = "interleaved-acc"
    }

    public var architecture = "chandna"
    public var mode = Mode.simultaneous
    public var epochs = 20
    public var batchesPerEpoch = 100
    public var batchSize = 16
    public var learningRate = 1e-3
    public var seed: UInt64 = 1
    public var validationExamples = 256
    /// Epochs without a better validation loss before stopping (0: never stop early).
    public var patience = 5
    /// Sams-Net variants.
    public var attention = true
    public var chunk = 16
    /// Chandna: vertical maps, horizontal maps and bottleneck units.
    public var verticalMaps = 50
    public var horizontalMaps = 30
    public var bottleneck = 128
    /// Temporal convolutional network: units per frame and residual blocks.
    public var frameUnits = 256
    public var blocks = 4
    public var sampling = MixtureSampler.Policy()
    /// The loss instead of the family's own (`SeparatorArchitecture.ownLoss`).
    public var loss: SeparationLoss?
    /// From this epoch (1-based) on, every step's weights join an equal average, which
    /// validation scores and the model file receives (stochastic weight averaging); nil
    /// keeps the weights as they are.
    public var averageFrom: Int?
    /// Reduce on plateau: when validation has not improved for `patience` epochs, the
    /// learning rate is multiplied by the factor and training goes on, at most `drops`
    /// times, before the run stops. nil: the run stops at once.
    public var plateau: PlateauDrops?
    /// A trained separator to go on training (fine-tuning) instead of fresh weights: its
    /// weights, batch-norm statistics and input standardisation are the start, so new songs
    /// (another singer, one's own multitracks) train it further. It is scored before the
    /// first epoch and stays the model unless an epoch validates better. Its architecture
    /// and options must be these. nil: a fresh network.
    public var startFrom: String?

    public struct PlateauDrops: Codable, Equatable, Sendable {
        public var drops: Int
        public var factor: Double
        public init(drops: Int, factor: Double) { (self.drops, self.factor) = (drops, factor) }
    }

    public init() {}
}

/// One epoch's figures.
public struct SeparatorEpoch: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainingLoss: Double
    public var validationLoss: Double
    public var seconds: Double
    /// Training examples per second of the epoch's training steps (validation not counted).
    public var examplesPerSecond: Double
    /// Adam's learning rate in the epoch (nil in checkpoints from before it was recorded).
    public var learningRate: Double?
}

struct SeparatorTrainerState: Codable, Equatable {
    var options: SeparatorTrainingOptions
    var nextEpoch = 0
    var bestLoss = Double.infinity
    var bestEpoch = -1
    var history: [SeparatorEpoch] = []
    /// The epochs done when the learning rate dropped (`PlateauDrops`), in order.
    var drops: [Int]? = nil
}

/// What the trainer does before an epoch, from how long validation has not improved.
enum PlateauAction: Equatable {
    case train, dropLearningRate, stop
}

/// Trains a separator on multitracks: mixtures formed on the fly, validation on fixed
/// examples of held-out songs after every epoch, the best model written when validation
/// improves, a checkpoint after every epoch, early stopping, and `resume` that continues
/// to the same weights as an uninterrupted run (examples depend only on seed, epoch and index).
public final class SeparatorTrainer: @unchecked Sendable {
    public let options: SeparatorTrainingOptions
    public let training: [Multitrack]
    public let validation: [Multitrack]
    public let outputURL: URL
    public var checkpointURL: URL { Self.checkpointURL(for: outputURL) }
    /// Where the checkpoint of a run writing `output` goes.
    public static func checkpointURL(for output: URL) -> URL { output.deletingPathExtension().appendingPathExtension("checkpoint.h5") }
    private let lock = NSLock()
    private var cancelled = false

    public init(options: SeparatorTrainingOptions, training: [Multitrack], validation: [Multitrack], outputURL: URL) {
        self.options = options
        self.training = training
        self.validation = validation
        self.outputURL = outputURL
    }

    public func cancel() { lock.lock(); cancelled = true; lock.unlock() }
    private var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }
    /// Whether the last `run` returned because of `cancel()`, before its epochs or early
    /// stopping ended it: the caller reports an interruption, not a finished training.
    public private(set) var interrupted = false

    public var architecture: SeparatorArchitecture? { SeparatorArchitecture(rawValue: options.architecture) }

    /// The network's settings with the input statistics of `count` training examples.
    func initialSettings() throws -> SeparatorSettings {
        guard let architecture else { throw FileError(path: "--arch", reason: "unknown architecture '\(options.architecture)'") }
        var settings = architecture.defaultSettings(stems: SeparationStem.allCases)
        settings.mode = architecture == .multitask ? options.mode.rawValue : ""
        let sampler = MixtureSampler(songs: training, settings: settings, policy: options.sampling)
        try Self.requireUsableSongs(sampler)
        let frames = SpectralFrames(fftSize: settings.fftSize, hopLength: settings.hopLength)
        var sum = [Double](repeating: 0, count: settings.bins), squares = sum, count = 0.0
        for index in 0..<128 {
            let example = sampler.example(seed: options.seed ^ 0x5747, index: index, frames: frames)
            for t in 0..<settings.frames {
                for f in 0..<settings.bins {
                    let value = Double(log(SpectralFrames.floor + example.mixture[t * settings.bins + f]))
                    sum[f] += value
                    squares[f] += value * value
                }
            }
            count += Double(settings.frames)
        }
        settings.inputMean = sum.map { Float($0 / count) }
        settings.inputScale = zip(sum, squares).map { s, q in
            Float(1 / max(Self.smallestInputDeviation, (q / count - (s / count) * (s / count)).squareRoot()))
        }
        return settings
    }

    static func requireUsableSongs(_ sampler: MixtureSampler) throws {
        guard !sampler.usableSongs.isEmpty else { throw FileError(path: "training songs", reason: "no song is long enough for one chunk") }
    }

    /// The least deviation a bin's log magnitude is standardised by (natural log, about 4 dB).
    /// Training songs resampled to the model's rate are silent above the resampler's cutoff,
    /// so the top bins hardly vary; divided by their own deviation (down to 0.03), the
    /// little energy a file at another rate has there became inputs of hundreds and
    /// swamped the network. With this floor such a bin moves the input by a few units.
    static let smallestInputDeviation = 0.5

    func spec(_ settings: SeparatorSettings) -> GraphSpec { Self.spec(settings, options: options) }

    static func spec(_ settings: SeparatorSettings, options: SeparatorTrainingOptions) -> GraphSpec {
        var architectureOptions = SeparatorArchitecture.Options()
        architectureOptions.attention = options.attention
        architectureOptions.chunk = options.chunk
        architectureOptions.verticalMaps = options.verticalMaps
        architectureOptions.horizontalMaps = options.horizontalMaps
        architectureOptions.bottleneck = options.bottleneck
        architectureOptions.frameUnits = options.frameUnits
        architectureOptions.blocks = options.blocks
        architectureOptions.sharedEncoder = options.mode != .independent
        return SeparatorArchitecture(rawValue: options.architecture)!.spec(settings: settings, options: architectureOptions)
    }

    /// The separator at `path` as the start of training, when it is the network `options`
    /// make; its input standardisation stays, since its weights were learned on it.
    /// `train-separator` calls it before reading any song, to refuse a wrong file at once.
    public static func startingModel(_ path: String, options: SeparatorTrainingOptions) throws -> SeparatorModel {
        guard SeparatorArchitecture(rawValue: options.architecture) != nil else {
            throw FileError(path: "--arch", reason: "unknown architecture '\(options.architecture)'")
        }
        let start = try SeparatorModel.read(from: URL(fileURLWithPath: path))
        guard start.members.isEmpty else {
            throw FileError(path: path, reason: "is an ensemble of separators; go on training one of its networks instead")
        }
        guard !start.isFloor, start.settings.architecture == options.architecture else {
            throw FileError(path: path, reason: "is a \(start.isFloor ? "floor" : start.settings.architecture) separator, not the \(options.architecture) network to train")
        }
        guard start.spec == spec(start.settings, options: options) else {
            throw FileError(path: path, reason: "is a \(options.architecture) network of other sizes or options than these (its --frame-units, --blocks, --mode and the like)")
        }
        return start
    }

    var normalisation: MaskNormalisation { architecture == .multitask ? .perStem : .acrossStems }
    var loss: SeparationLoss { options.loss ?? architecture?.ownLoss ?? .l1 }

    /// Trains, resuming from the checkpoint when asked and one exists.
    /// - Parameter startScored: the validation loss of the separator of `startFrom`, once,
    ///   before the first epoch of a fine-tuning run.
    @discardableResult
    public func run(resume: Bool, epochDone: (SeparatorEpoch, Bool) -> Void = { _, _ in },
                    batchDone: (Int, Int) -> Void = { _, _ in }, startScored: (Double) -> Void = { _ in }) throws -> [SeparatorEpoch] {
        interrupted = false
        // The layers spread a batch's items over the cores themselves.
        openblas_set_num_threads(1)
        MemoryPolicy.reuseLargeAllocations()
        let model: SeparatorModel
        let optimizer: Adam
        var state: SeparatorTrainerState
        var average = WeightAverage()
        if resume, FileSystemName.status(of: checkpointURL.path).exists {
            let file = try GraphModelFile.read(from: checkpointURL)
            guard let checkpoint = file.checkpoint,
                  let saved = try? JSONDecoder().decode(SeparatorTrainerState.self, from: Data(checkpoint.trainerState.utf8)) else {
                throw FileError(path: checkpointURL.path, reason: "is not a separator checkpoint")
            }
            guard Self.canResume(saved.options, with: options) else {
                throw FileError(path: checkpointURL.path, reason: "was made with other training options; resume with the same ones (only --epochs may change)")
            }
            guard saved.nextEpoch >= 0, (-1...saved.nextEpoch).contains(saved.bestEpoch) else {
                throw FileError(path: checkpointURL.path, reason: "records an impossible position (next epoch \(saved.nextEpoch), best epoch \(saved.bestEpoch))")
            }
            model = try SeparatorModel.load(file, path: checkpointURL.path)
            optimizer = Adam(parameterCount: model.store.count, learningRate: options.learningRate)
            optimizer.restore(checkpoint.optimizer)
            average = checkpoint.average ?? WeightAverage()
            state = saved
            state.options = options
        } else {
            if let path = options.startFrom {
                model = try Self.startingModel(path, options: options)
            } else {
                let settings = try initialSettings()
                model = try SeparatorModel(settings: settings, spec: spec(settings))
                var generator = SeededGenerator(seed: options.seed)
                model.graph.initializeParameters(using: &generator)
            }
            optimizer = Adam(parameterCount: model.store.count, learningRate: options.learningRate)
            state = SeparatorTrainerState(options: options)
        }
        // Batch norm's running statistics are each rank's own and would make the ranks'
        // validation, and so their decisions to stop, differ.
        let hasBatchNorm = model.spec.nodes.contains { if case .batchNorm = $0.layer { return true } else { return false } }
        if TrainingGroup.size > 1, hasBatchNorm {
            throw FileError(path: "--arch \(options.architecture)", reason: "has batch norm, which training over MPI does not synchronise; train it in one process")
        }
        if options.averageFrom != nil, hasBatchNorm {
            throw FileError(path: "--arch \(options.architecture)", reason: "has batch norm, whose running statistics would not match an average of weights")
        }
        try TrainingGroup.checkSameStart(epoch: state.nextEpoch, checkpoint: checkpointURL)
        let settings = model.settings
        let sampler = MixtureSampler(songs: training, settings: settings, policy: options.sampling)
        try Self.requireUsableSongs(sampler)
        // Validation scores the task itself: the songs' sources as recorded, no equaliser or repitching.
        var validationPolicy = options.sampling
        validationPolicy.equalisation = 0
        validationPolicy.repitch = 0
        let validationSampler = MixtureSampler(songs: validation.isEmpty ? training : validation, settings: settings, policy: validationPolicy)
        let frames = SpectralFrames(fftSize: settings.fftSize, hopLength: settings.hopLength)
        let analysers = (0..<Self.workers).map { _ in SpectralFrames(fftSize: settings.fftSize, hopLength: settings.hopLength) }
        let validationExamples = (0..<options.validationExamples).map { validationSampler.example(seed: options.seed ^ 0xFA11, index: $0, frames: frames) }
        let stems = settings.stems
        // A fine-tuning run scores the separator it starts from first, and writes it as the
        // model: an epoch replaces it only by validating better.
        if options.startFrom != nil, state.nextEpoch == 0, state.bestEpoch == -1 {
            state.bestLoss = evaluate(model, validationExamples)
            state.bestEpoch = 0
            if TrainingGroup.isLeader { try model.write(to: outputURL, trainingSummary: summary(state)) }
            startScored(state.bestLoss)
        }

        while state.nextEpoch < options.epochs {
            switch Self.plateauAction(state) {
            case .train: break
            case .stop: return state.history
            case .dropLearningRate: state.drops = (state.drops ?? []) + [state.nextEpoch]
            }
            // Derived from the state each epoch, so a resumed run trains at the rate it left.
            optimizer.learningRate = Self.learningRate(state)
            let epoch = state.nextEpoch
            let started = Date()
            var lossSum = 0.0, examples = 0
            for step in 0..<options.batchesPerEpoch {
                // Alone, stop before the batch; in a group, the ranks agree after each step.
                if TrainingGroup.size == 1, isCancelled { interrupted = true; return state.history }
                let tasks: [Int?]
                switch options.mode {
                case .simultaneous, .independent: tasks = [nil]
                case .interleaved: tasks = [step % stems.count]
                case .interleavedAccumulated: tasks = Array(stems.indices)
                }
                model.store.zeroGradients()
                var share = 0..<0
                for (taskNumber, task) in tasks.enumerated() {
                    let first = ((epoch * options.batchesPerEpoch + step) * tasks.count + taskNumber) * options.batchSize
                    // Under mpirun each rank makes and trains its share of the batch.
                    share = TrainingGroup.share(of: first..<(first + options.batchSize))
                    guard !share.isEmpty else { continue }
                    let batch = makeExamples(sampler, seed: options.seed, indices: share, only: task.map { stems[$0] }, analysers: analysers)
                    let loss = trainStep(model, batch, scored: task.map { Set([$0]) }, step: UInt64(epoch * options.batchesPerEpoch + step))
                    lossSum += loss * Double(batch.count) / Double(options.batchSize)
                    examples += batch.count
                }
                if TrainingGroup.size > 1 { TrainingGroup.combine(model.store, items: share.count, batchItems: options.batchSize) }
                optimizer.update(model.store)
                if let from = options.averageFrom, epoch + 1 >= from { average.add(UnsafeBufferPointer(model.store.values)) }
                batchDone(step + 1, options.batchesPerEpoch)
                if TrainingGroup.size > 1, TrainingGroup.agree(weightedLoss: 0, stop: isCancelled).stop { interrupted = true; return state.history }
            }
            if TrainingGroup.size > 1 {
                let totals = TrainingGroup.sum([lossSum, Double(examples)])
                (lossSum, examples) = (totals[0], Int(totals[1]))
            }
            let trainingSeconds = Date().timeIntervalSince(started)
            // Validation and the saved model see the average once there is one; training
            // goes on from the weights as they are.
            let trained = average.count > 0 ? model.store.valueArray : nil
            if trained != nil { model.store.setValues(average.values) }
            let validationLoss = evaluate(model, validationExamples)
            let seconds = Date().timeIntervalSince(started)
            let record = SeparatorEpoch(epoch: epoch + 1, trainingLoss: lossSum / Double(options.batchesPerEpoch * (options.mode == .interleavedAccumulated ? stems.count : 1)),
                                        validationLoss: validationLoss, seconds: seconds, examplesPerSecond: Double(examples) / max(trainingSeconds, 1e-9),
                                        learningRate: optimizer.learningRate)
            state.history.append(record)
            state.nextEpoch = epoch + 1
            let improved = Self.isBest(validationLoss, over: state.bestLoss, epoch: epoch + 1, averageFrom: options.averageFrom)
            if improved {
                state.bestLoss = validationLoss
                state.bestEpoch = epoch + 1
                if TrainingGroup.isLeader { try model.write(to: outputURL, trainingSummary: summary(state)) }
            }
            if let trained { model.store.setValues(trained) }
            var checkpoint = model.file()
            checkpoint.trainingSummary = summary(state)
            checkpoint.checkpoint = .init(optimizer: optimizer.state, trainerState: String(decoding: try JSONEncoder().encode(state), as: UTF8.self),
                                          average: average.count > 0 ? average : nil)
            if TrainingGroup.isLeader { try checkpoint.write(to: checkpointURL) }
            epochDone(record, improved)
        }
        return state.history
    }

    /// Whether a checkpoint made with `saved` may go on with `options`: the same run, or the
    /// same run given more (or fewer) epochs or learning-rate drops. Nothing else depends on
    /// them until they are reached, so a run of 30 epochs extended to 60 gives the weights of
    /// a run of 60, and a run that stopped on a plateau can go on at a lower rate.
    static func canResume(_ saved: SeparatorTrainingOptions, with options: SeparatorTrainingOptions) -> Bool {
        var extended = saved
        extended.epochs = options.epochs
        extended.plateau = options.plateau
        // The checkpoint holds every weight; where the start came from no longer matters.
        extended.startFrom = options.startFrom
        return extended == options
    }

    /// Train on, drop the learning rate, or stop: validation has not improved for `patience`
    /// epochs since its best or since the last drop, and drops are left or not (also when a
    /// finished run is resumed with more epochs).
    static func plateauAction(_ state: SeparatorTrainerState) -> PlateauAction {
        let options = state.options, drops = state.drops ?? []
        // Counted from the start of the run when no epoch has improved yet (best epoch -1).
        let since = max(state.bestEpoch, drops.last ?? 0, 0)
        guard options.patience > 0, state.nextEpoch - since >= options.patience else { return .train }
        return drops.count < (options.plateau?.drops ?? 0) ? .dropLearningRate : .stop
    }

    /// The learning rate after the drops so far.
    static func learningRate(_ state: SeparatorTrainerState) -> Double {
        state.options.learningRate * pow(state.options.plateau?.factor ?? 1, Double(state.drops?.count ?? 0))
    }

    /// Whether epoch `epoch` (1-based), validating at `loss`, gives the model file. The first
    /// averaged epoch always does: from then on only averages compete, so the model file
    /// cannot keep weights from before the average.
    static func isBest(_ loss: Double, over best: Double, epoch: Int, averageFrom: Int?) -> Bool {
        loss < best || averageFrom == epoch
    }

    static let workers = EngineThreads.count

    /// Examples `indices`, made on every core: each depends only on the seed and its index,
    /// so the batch is the same however the work is shared.
    func makeExamples(_ sampler: MixtureSampler, seed: UInt64, indices: Range<Int>, only stem: SeparationStem?, analysers: [SpectralFrames]) -> [SeparationExample] {
        final class Slots: @unchecked Sendable { var values: [SeparationExample?]; init(_ n: Int) { values = Array(repeating: nil, count: n) } }
        let slots = Slots(indices.count), parts = min(analysers.count, indices.count)
        let shared = UncheckedBox((sampler, analysers))
        DispatchQueue.concurrentPerform(iterations: parts) { worker in
            let (sampler, analysers) = shared.value
            for position in (indices.count * worker / parts)..<(indices.count * (worker + 1) / parts) {
                slots.values[position] = sampler.example(seed: seed, index: indices.lowerBound + position, only: stem, frames: analysers[worker])
            }
        }
        return slots.values.map { $0! }
    }

    /// The network's input and targets for a batch, in its layout.
    func tensors(_ model: SeparatorModel, _ batch: [SeparationExample]) -> (Tensor, [[Float]], [[[Float]]]) {
        let s = model.settings, plane = s.frames * s.bins
        var input = Tensor(uninitialized: [batch.count] + model.spec.inputs[0].shape)
        input.data.withUnsafeMutableBufferPointer { destination in
            for (index, example) in batch.enumerated() {
                example.mixture.withUnsafeBufferPointer { model.input(fromMagnitudes: $0, into: destination.baseAddress! + index * plane) }
            }
        }
        func layout(_ values: [Float]) -> [Float] {
            guard !s.timeMajor else { return values }
            var result = [Float](repeating: 0, count: values.count)
            for t in 0..<s.frames { for f in 0..<s.bins { result[f * s.frames + t] = values[t * s.bins + f] } }
            return result
        }
        return (input, batch.map { layout($0.mixture) }, batch.map { $0.targets.map(layout) })
    }

    func trainStep(_ model: SeparatorModel, _ batch: [SeparationExample], scored: Set<Int>?, step: UInt64) -> Double {
        let (input, mixtures, targets) = tensors(model, batch)
        let output = model.graph.forward(["mixture": input], context: ForwardContext(training: true, seed: options.seed, step: step))["masks"]!
        let (value, gradient) = SourceMasking.loss(output, mixtures: mixtures, targets: targets, stems: model.settings.stems, loss: loss,
                                                   normalisation: normalisation, scored: scored)
        _ = model.graph.backward(["masks": gradient])
        return value
    }

    /// Validation loss with the masks as inference makes them (normalised across stems).
    func evaluate(_ model: SeparatorModel, _ examples: [SeparationExample]) -> Double {
        var total = 0.0
        for start in stride(from: 0, to: examples.count, by: options.batchSize) {
            let batch = Array(examples[start..<min(examples.count, start + options.batchSize)])
            let (input, mixtures, targets) = tensors(model, batch)
            let output = model.graph.forward(["mixture": input], context: ForwardContext(training: false))["masks"]!
            total += SourceMasking.loss(output, mixtures: mixtures, targets: targets, stems: model.settings.stems, loss: .l1,
                                        normalisation: .acrossStems).value * Double(batch.count)
        }
        return total / Double(max(1, examples.count))
    }

    private func summary(_ state: SeparatorTrainerState) -> String {
        struct Summary: Encodable {
            var options: SeparatorTrainingOptions
            var trainingSongs: [String]
            var validationSongs: [String]
            var bestEpoch: Int
            var bestValidationLoss: Double
            var history: [SeparatorEpoch]
        }
        let summary = Summary(options: options, trainingSongs: training.map(\.name), validationSongs: validation.map(\.name),
                              bestEpoch: state.bestEpoch, bestValidationLoss: state.bestLoss, history: state.history)
        return String(decoding: (try? JSONEncoder().encode(summary)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
