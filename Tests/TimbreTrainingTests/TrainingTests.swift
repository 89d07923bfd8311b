import TimbreCore
import Foundation
import Testing
import TimbreDSP
import TimbreHDF5
import TimbreNN
import TimbreStore
@testable import TimbreTraining
import TimbreTestSupport

/// Settings whose clips are 24 mel bands × 25 frames, so tests train in seconds.
func smallSettings() -> FeatureSettings {
    var settings = FeatureSettings()
    settings.nMels = 24
    settings.clipSeconds = Double(24 * 512) / 22_050
    settings.clipHopSeconds = settings.clipSeconds
    return settings
}

/// A feature file of three classes of synthetic spectrograms (a low band, a high band,
/// vertical onsets), three clips per recording; the clips in `poisoned` hold a NaN.
func syntheticFeatureFile(clips: Int, seed: UInt64, in folder: URL, name: String = "features.h5", poisoned: Set<Int> = []) throws -> URL {
    try syntheticFeatureFile(classSets: (0..<clips).map { [($0 / 3) % 3] }, groups: (0..<clips).map { $0 / 3 },
                             seed: seed, in: folder, name: name, poisoned: poisoned)
}

/// The same spectrograms for clips of any class sets: a clip of several classes holds the
/// pattern of each.
func syntheticFeatureFile(classSets: [[Int]], groups: [Int], seed: UInt64, in folder: URL, name: String, poisoned: Set<Int> = []) throws -> URL {
    let settings = smallSettings()
    precondition(settings.framesPerClip == 25)
    var metadata = FeatureFileMetadata(classCodes: ["pia", "vio", "dru"], classNames: ["piano", "violin", "drums"], settings: settings, resampler: "test")
    metadata.inputs = ["synthetic"]
    let url = folder.appendingPathComponent(name)
    let writer = try FeatureFileWriter(destination: url, metadata: metadata)
    var generator = SeededGenerator(seed: seed)
    for (clip, classes) in classSets.enumerated() {
        let shift = Int(generator.next() % 3)
        let level: Float = 20 + generator.nextUnit() * 20
        var mel = [Float](repeating: 0, count: 24 * 25)
        for y in 0..<24 {
            for x in 0..<25 {
                var value = -60 + generator.nextUnit() * 15
                if classes.contains(0), y == 3 + shift || y == 7 + shift { value += level }
                if classes.contains(1), y == 15 + shift || y == 18 + shift { value += level }
                if classes.contains(2), (x + shift) % 6 == 0 { value += level }
                mel[y * 25 + x] = value
            }
        }
        if poisoned.contains(clip) { mel[100] = .nan; mel[101] = .infinity }
        try writer.append(EncodedClip(melChunk: ChunkCodec.encode(mel), classIndices: classes, source: "clip\(clip).wav",
                                      offset: 0, group: Int32(groups[clip]), rmsDB: -20))
    }
    try writer.commit()
    return url
}

func smallOptions(epochs: Int) -> TrainingOptions {
    var options = TrainingOptions()
    options.epochs = epochs
    options.batchSize = 16
    options.learningRate = 3e-3
    options.filters = 8
    options.hidden = 32
    options.dropout = 0.25
    options.validationFraction = 0.25
    options.seed = 42
    options.patience = 100
    return options
}

@Suite struct ModelFileTests {
    @Test func aCheckpointRoundTripsExactly() throws {
        let folder = scratchFolder("training")
        let architecture = Architecture.instrumentCNN(classes: 3, inputShape: [1, 24, 25], filters: 4, hidden: 8)
        let model = Sequential(architecture)
        model.initialize(seed: 5)
        let metadata = FeatureFileMetadata(classCodes: ["a", "b", "c"], classNames: ["A", "B", "C"], settings: smallSettings(), resampler: "x")
        var file = ModelFile(architecture: architecture, features: metadata, weights: model.parameters.valueArray)
        file.trainingSummary = #"{"note":"test"}"#
        file.checkpoint = .init(optimizer: Adam.State(step: 7, m: (0..<model.parameters.count).map { Float($0) }, v: [Float](repeating: 0.5, count: model.parameters.count)),
                                trainerState: #"{"epoch":3}"#)
        let url = folder.appendingPathComponent("model.h5")
        try file.write(to: url, slices: model.parameters.slices)
        let read = try ModelFile.read(from: url)
        #expect(read.architecture == architecture)
        #expect(read.weights == file.weights)
        #expect(read.features == metadata)
        #expect(read.trainingSummary == file.trainingSummary)
        #expect(read.checkpoint == file.checkpoint)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.h5"])
        let rebuilt = try read.makeModel()
        #expect(rebuilt.parameters.valueArray == model.parameters.valueArray)
    }

    /// A batch-normalised network keeps its running statistics through the file: the read
    /// network infers exactly as the written one, and damaged statistics are refused.
    @Test func batchNormStatisticsRoundTripAndDamagedOnesAreRefused() throws {
        let folder = scratchFolder("training")
        let architecture = Architecture.instrumentCNN(classes: 3, inputShape: [1, 24, 25], filters: 4, hidden: 8, normalisesBatches: true)
        #expect(architecture.layers.filter { $0 == .batchNorm }.count == 4)
        let model = Sequential(architecture)
        model.initialize(seed: 5)
        #expect(model.batchNormState == [Float]((0..<4).flatMap { _ in [Float](repeating: 0, count: 4) + [Float](repeating: 1, count: 4) }))
        var generator = SeededGenerator(seed: 8)
        let input = Tensor(shape: [6, 1, 24, 25], data: (0..<3600).map { _ in Float(generator.nextNormal()) * 3 })
        // Training passes move the running statistics away from 0 and 1.
        for step in 0..<3 { _ = model.forward(input, context: ForwardContext(training: true, seed: 1, step: UInt64(step))) }
        let state = model.batchNormState
        #expect(state.count == 32 && state.contains { $0 != 0 && $0 != 1 })
        let expected = model.forward(input, context: ForwardContext(training: false)).data
        let metadata = FeatureFileMetadata(classCodes: ["a", "b", "c"], classNames: ["A", "B", "C"], settings: smallSettings(), resampler: "x")
        let url = folder.appendingPathComponent("normalised.h5")
        try ModelFile(architecture: architecture, features: metadata, model: model).write(to: url, slices: model.parameters.slices)
        let read = try ModelFile.read(from: url)
        #expect(read.batchNormState == state)
        #expect(try read.makeModel().forward(input, context: ForwardContext(training: false)).data == expected)
        // Fresh statistics infer differently, so the comparison above can fail.
        var fresh = read
        fresh.batchNormState = Sequential(architecture).batchNormState
        #expect(try fresh.makeModel().forward(input, context: ForwardContext(training: false)).data != expected)

        for (dataset, values) in [("running_variance", [Float](repeating: -1, count: 4)), ("running_mean", [Float](repeating: .nan, count: 4))] {
            let damaged = folder.appendingPathComponent("damaged-\(dataset).h5")
            try FileManager.default.copyItem(at: url, to: damaged)
            try HDF5File(opening: damaged, mode: .readWrite).dataset("state/batchnorm2/\(dataset)").writeRows(values)
            let error = #expect(throws: FileError.self) { try ModelFile.read(from: damaged) }
            #expect(error?.reason == "state/batchnorm2/\(dataset) holds [4] values, expected 4 finite ones (a variance none negative)", "\(error?.reason ?? "")")
        }
    }

    /// Weights are stored uncompressed, so a file too small for the parameters its
    /// architecture declares is refused before the network is built (here 966 MB of it).
    @Test func aModelDeclaringMoreParametersThanItsFileHoldsIsRefusedBeforeBuilding() throws {
        let url = scratchFolder("training").appendingPathComponent("declared.h5")
        let architecture = Architecture(inputShape: [1, 24, 25], layers: [.flatten, .dense(units: 400_000), .dense(units: 3)])
        #expect(try architecture.validate() == 241_600_003)
        do {
            let file = try HDF5File(creating: url)
            try FeatureFileMetadata(classCodes: ["a", "b", "c"], classNames: ["A", "B", "C"], settings: smallSettings(), resampler: "x").write(to: file)
            try file.setAttribute("architecture", .string(String(decoding: try JSONEncoder().encode(architecture), as: UTF8.self)))
        }
        let error = #expect(throws: FileError.self) { try ModelFile.read(from: url) }
        #expect(error?.reason.hasPrefix("declares 241600003 parameters, more than its ") == true, "\(error?.reason ?? "")")
    }

    @Test func featuresMadeDifferentlyAreRefusedByName() throws {
        let metadata = FeatureFileMetadata(classCodes: ["a"], classNames: ["A"], settings: smallSettings(), resampler: "x")
        let file = ModelFile(architecture: .instrumentCNN(classes: 1, inputShape: [1, 24, 25], filters: 2, hidden: 2), features: metadata, weights: [])
        var other = metadata
        other.settings.nMels = 64
        let error = #expect(throws: Error.self) { try file.checkCompatible(with: other, source: "x.h5") }
        #expect("\(error!)".contains("n_mels 64 (model: 24)"))
        var gated = metadata
        gated.settings.rmsThresholdDB = -70  // does not change a clip's features
        try file.checkCompatible(with: gated, source: "x.h5")
    }
}

@Suite struct DataTests {
    @Test func theSplitKeepsRecordingsTogetherAndCoversEveryClass() {
        let labels: [Int32] = (0..<60).map { Int32(($0 / 3) % 4) }
        let groups: [Int32] = (0..<60).map { Int32($0 / 3) }
        let split = DataSplit.byGroup(labels: labels, groups: groups, fraction: 0.25, seed: 1)
        #expect(Set(split.training).isDisjoint(with: split.validation))
        #expect(split.training.count + split.validation.count == 60)
        #expect(Set(split.training.map { groups[$0] }).isDisjoint(with: Set(split.validation.map { groups[$0] })))
        #expect(Set(split.validation.map { labels[$0] }) == [0, 1, 2, 3])
        #expect(Set(split.training.map { labels[$0] }) == [0, 1, 2, 3])
        #expect(split == DataSplit.byGroup(labels: labels, groups: groups, fraction: 0.25, seed: 1))
    }

    @Test func epochsVisitEveryClassEquallyOftenWithoutDroppingData() {
        // 20 clips of class 0, 4 of class 1, 6 of class 2.
        let clips = (0..<30).map { (index: $0, label: $0 < 20 ? 0 : ($0 < 24 ? 1 : 2)) }
        let sampler = BalancedSampler(clips: clips, classCount: 3)
        let order = sampler.order(epoch: 0, seed: 9)
        #expect(order.count == 30)
        let counts = [0, 1, 2].map { label in order.filter { clips[$0].label == label }.count }
        #expect(counts == [10, 10, 10])
        #expect(Set(order.filter { $0 >= 20 && $0 < 24 }) == [20, 21, 22, 23])
        #expect(order == sampler.order(epoch: 0, seed: 9))
        #expect(order != sampler.order(epoch: 1, seed: 9))
    }
}

@Suite(.serialized) struct TrainerTests {
    /// A feature file with NaN and infinite values in a few clips (crafted, or written by
    /// a broken tool) costs those clips, each reported once, not the run.
    @Test func clipsWithNonFiniteValuesAreReportedOnceAndSkipped() throws {
        let folder = scratchFolder("training")
        let poisoned: Set<Int> = [4, 50, 51, 97]
        let features = try syntheticFeatureFile(clips: 144, seed: 1, in: folder, poisoned: poisoned)
        let output = folder.appendingPathComponent("model.h5")
        let trainer = Trainer(features: features, output: output, options: smallOptions(epochs: 4))
        var warnings: [String] = []
        trainer.warning = { warnings.append($0) }
        let result = try trainer.run(resume: false)
        #expect(result.history.allSatisfy { $0.trainingLoss.isFinite && ($0.validationLoss ?? 0).isFinite })
        #expect(Set(warnings) == Set(poisoned.map { "clip\($0).wav at 0.0 s: the log-mel holds NaN or infinite values; clip skipped" }))
        #expect(warnings.count == poisoned.count, "each clip is reported once")
        #expect(try ModelFile.read(from: output).weights.allSatisfy(\.isFinite))

        let hopeless = try syntheticFeatureFile(clips: 12, seed: 2, in: folder, name: "nan.h5", poisoned: Set(0..<12))
        let error = #expect(throws: TrainingError.self) {
            try Trainer(features: hopeless, output: folder.appendingPathComponent("none.h5"), options: smallOptions(epochs: 1)).run(resume: false)
        }
        #expect(error?.description.contains("every clip of a batch holds NaN or infinite values") == true)
    }

    @Test func trainingOnSyntheticFeaturesReachesNearZeroValidationError() throws {
        let folder = scratchFolder("training")
        let features = try syntheticFeatureFile(clips: 144, seed: 1, in: folder)
        let output = folder.appendingPathComponent("model.h5")
        let result = try Trainer(features: features, output: output, options: smallOptions(epochs: 12)).run(resume: false)
        #expect(result.validationClips > 0 && result.trainingClips + result.validationClips == 144)
        let last = try #require(result.history.last)
        #expect((last.validationAccuracy ?? 0) >= 0.95, "validation accuracy \(last.validationAccuracy ?? 0)")
        let model = try ModelFile.read(from: output)
        #expect(model.trainingSummary.contains("\"bestEpoch\""))
        let threshold = try #require(ThresholdSearch.recorded(in: model.trainingSummary))
        #expect(threshold >= 0.05 && threshold <= 0.95)
        #expect(model.features.classCodes == ["pia", "vio", "dru"])
    }

    @Test func resumingAfterAnInterruptionGivesTheSameModel() throws {
        let folder = scratchFolder("training")
        let features = try syntheticFeatureFile(clips: 72, seed: 2, in: folder)
        let straight = folder.appendingPathComponent("straight.h5")
        _ = try Trainer(features: features, output: straight, options: smallOptions(epochs: 4)).run(resume: false)

        let resumed = folder.appendingPathComponent("resumed.h5")
        let first = Trainer(features: features, output: resumed, options: smallOptions(epochs: 4))
        let partial = try first.run(resume: false, epochDone: { record, _ in if record.epoch == 2 { first.cancel() } })
        #expect(partial.interrupted && partial.history.count == 2)
        let rest = try Trainer(features: features, output: resumed, options: smallOptions(epochs: 4)).run(resume: true)
        #expect(rest.history.count == 4)

        let a = try ModelFile.read(from: straight.deletingPathExtension().appendingPathExtension("checkpoint.h5"))
        let b = try ModelFile.read(from: resumed.deletingPathExtension().appendingPathExtension("checkpoint.h5"))
        #expect(a.weights == b.weights)
        #expect(a.checkpoint?.optimizer == b.checkpoint?.optimizer)
        #expect(try ModelFile.read(from: straight).weights == ModelFile.read(from: resumed).weights)
    }

    /// Batch norms' running statistics are saved in the checkpoint, so a resumed run ends
    /// with the uninterrupted run's weights and statistics.
    @Test func aBatchNormalisedRunResumesExactly() throws {
        let folder = scratchFolder("training")
        let features = try syntheticFeatureFile(clips: 72, seed: 2, in: folder)
        var options = smallOptions(epochs: 3)
        options.normalisesBatches = true
        let straight = folder.appendingPathComponent("straight.h5")
        _ = try Trainer(features: features, output: straight, options: options).run(resume: false)
        let resumed = folder.appendingPathComponent("resumed.h5")
        let first = Trainer(features: features, output: resumed, options: options)
        _ = try first.run(resume: false, epochDone: { record, _ in if record.epoch == 2 { first.cancel() } })
        _ = try Trainer(features: features, output: resumed, options: options).run(resume: true)
        let a = try ModelFile.read(from: straight), b = try ModelFile.read(from: resumed)
        #expect(a.architecture.layers.contains(.batchNorm))
        #expect(a.batchNormState.count == 64 && a.batchNormState.contains { $0 != 0 && $0 != 1 })
        // Compared as one value each, so a failure does not print thousands of numbers.
        let sameWeights = a.weights == b.weights, sameStatistics = a.batchNormState == b.batchNormState
        #expect(sameWeights)
        #expect(sameStatistics)
        options.averageFrom = 2
        let error = #expect(throws: TrainingError.self) { try Trainer(features: features, output: straight, options: options).run(resume: false) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("without weight averaging"))
    }

    /// With cosine decay every epoch trains at lr·(1 + cos(π·e/E))/2, a resumed run keeps
    /// to that schedule and ends with the uninterrupted run's weights, and a checkpoint of
    /// one length is not resumed with another (the schedule would change under it).
    @Test func cosineDecayFollowsItsScheduleAndResumesExactly() throws {
        let folder = scratchFolder("training")
        let features = try syntheticFeatureFile(clips: 48, seed: 7, in: folder)
        var options = smallOptions(epochs: 4)
        options.cosineDecay = true
        let expected = [1.0, 0.5 + 2.0.squareRoot() / 4, 0.5, 0.5 - 2.0.squareRoot() / 4].map { $0 * options.learningRate }
        #expect(zip((0..<4).map(options.learningRate(epoch:)), expected).allSatisfy { abs($0 - $1) < 1e-9 })
        let straight = folder.appendingPathComponent("straight.h5")
        let whole = try Trainer(features: features, output: straight, options: options).run(resume: false)
        #expect(zip(whole.history.compactMap(\.learningRate), expected).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(whole.history.count == 4)

        let resumed = folder.appendingPathComponent("resumed.h5")
        let first = Trainer(features: features, output: resumed, options: options)
        let partial = try first.run(resume: false, epochDone: { record, _ in if record.epoch == 2 { first.cancel() } })
        #expect(partial.interrupted && partial.history.count == 2)
        var longer = options
        longer.epochs = 6
        #expect(throws: TrainingError.self) { try Trainer(features: features, output: resumed, options: longer).run(resume: true) }
        let rest = try Trainer(features: features, output: resumed, options: options).run(resume: true)
        #expect(rest.history.compactMap(\.learningRate).count == 4)
        #expect(zip(rest.history.compactMap(\.learningRate), expected).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(try ModelFile.read(from: straight).weights == ModelFile.read(from: resumed).weights)
    }

    /// With weight averaging, the saved model is the mean of the weights after every step
    /// of the averaged epochs (the checkpoint keeps both), and an interrupted run resumes
    /// to the same average.
    @Test func theAveragedModelIsTheMeanOfItsStepsAndResumesExactly() throws {
        let folder = scratchFolder("training")
        let features = try syntheticFeatureFile(clips: 48, seed: 4, in: folder)
        var options = smallOptions(epochs: 3)
        options.averageFrom = 2
        let straight = folder.appendingPathComponent("straight.h5")
        _ = try Trainer(features: features, output: straight, options: options).run(resume: false)
        let checkpoint = try ModelFile.read(from: straight.deletingPathExtension().appendingPathExtension("checkpoint.h5"))
        let average = try #require(checkpoint.checkpoint?.average)
        #expect(try ModelFile.read(from: straight).weights == average.values)
        #expect(average.values != checkpoint.weights)
        // Two averaged epochs of 36 training clips in batches of 16: three steps each.
        #expect(average.count == 6)

        let resumed = folder.appendingPathComponent("resumed.h5")
        let first = Trainer(features: features, output: resumed, options: options)
        _ = try first.run(resume: false, epochDone: { record, _ in if record.epoch == 2 { first.cancel() } })
        _ = try Trainer(features: features, output: resumed, options: options).run(resume: true)
        let again = try ModelFile.read(from: resumed.deletingPathExtension().appendingPathExtension("checkpoint.h5"))
        #expect(again.checkpoint?.average == average)
        #expect(try ModelFile.read(from: resumed).weights == average.values)
    }

    /// A checkpoint past the epochs asked for resumes with nothing left to do; one whose
    /// recorded position is impossible is refused in one line.
    @Test func aCheckpointIsResumedOnlyFromAPossiblePosition() throws {
        let folder = scratchFolder("training")
        let features = try syntheticFeatureFile(clips: 48, seed: 3, in: folder)
        let output = folder.appendingPathComponent("model.h5"), checkpoint = folder.appendingPathComponent("model.checkpoint.h5")
        _ = try Trainer(features: features, output: output, options: smallOptions(epochs: 2)).run(resume: false)
        let shorter = try Trainer(features: features, output: output, options: smallOptions(epochs: 1)).run(resume: true)
        #expect(shorter.history.count == 2)

        var saved = try ModelFile.read(from: checkpoint)
        let state = saved.checkpoint!.trainerState
        saved.checkpoint?.trainerState = state.replacingOccurrences(of: #""nextEpoch":2"#, with: #""nextEpoch":-3"#)
        #expect(saved.checkpoint?.trainerState.contains(#""nextEpoch":-3"#) == true)
        try saved.write(to: checkpoint, slices: Sequential(saved.architecture).parameters.slices)
        let error = #expect(throws: TrainingError.self) { try Trainer(features: features, output: output, options: smallOptions(epochs: 2)).run(resume: true) }
        #expect("\(error!)".contains("records an impossible position (next epoch -3"), "\(error!)")
    }
}

@Suite struct WeightAverageTests {
    /// The running mean equals the arithmetic mean of what was added.
    @Test func theRunningMeanIsTheMean() {
        let vectors: [[Float]] = [[1, -2, 0.5], [3, 4, -0.5], [2, 0, 6], [-6, 1, 1]]
        var average = WeightAverage()
        for vector in vectors { vector.withUnsafeBufferPointer { average.add($0) } }
        #expect(average.count == 4)
        for i in 0..<3 {
            let mean = vectors.map { $0[i] }.reduce(0, +) / 4
            #expect(abs(average.values[i] - mean) < 1e-6, "weight \(i): \(average.values[i]) against \(mean)")
        }
    }
}

@Suite struct ThresholdTests {
    @Test func theThresholdMaximisesMicroF1OnValidation() {
        // Two clips of class 0 with a confident second guess on class 1: any threshold up
        // to 0.4 adds a false positive; above it only the top class is kept.
        let probabilities: [Float] = [0.55, 0.4, 0.05, 0.6, 0.35, 0.05]
        #expect(ThresholdSearch.best(probabilities: probabilities, truth: [[0], [0]], classes: 3) == 0.45)
        #expect(ThresholdSearch.recorded(in: #"{"threshold":0.3}"#) == 0.3)
        #expect(ThresholdSearch.recorded(in: "{}") == nil)
    }
}

@Suite struct BatchNormStatisticsCalibrationTests {
    /// `calibrate --statistics` re-estimates the statistics on the clips given and records
    /// them; a network without batch norms is refused with the reason.
    @Test func statisticsAreReestimatedOnTheClipsGivenAndRecorded() throws {
        let folder = scratchFolder("training")
        let features = try syntheticFeatureFile(clips: 40, seed: 3, in: folder)
        let metadata = try ClipLibrary(urls: [features]).metadata
        let architecture = Architecture.instrumentCNN(classes: 3, inputShape: [1, 24, 25], filters: 4, hidden: 8, normalisesBatches: true)
        let network = Sequential(architecture)
        network.initialize(seed: 2)
        var file = ModelFile(architecture: architecture, features: metadata, model: network)
        #expect(try ModelCalibration.adaptStatistics(&file, on: [features]) == 40)
        #expect(file.batchNormState != network.batchNormState)
        #expect(file.batchNormState[0..<4].allSatisfy { $0 != 0 } && file.batchNormState[4..<8].allSatisfy { $0 > 0 && $0 != 1 })
        #expect(file.trainingSummary.contains(#""clips":40"#) && file.trainingSummary.contains("features.h5"))

        let plain = Architecture.instrumentCNN(classes: 3, inputShape: [1, 24, 25], filters: 4, hidden: 8)
        var unnormalised = ModelFile(architecture: plain, features: metadata, model: Sequential(plain))
        let error = #expect(throws: TrainingError.self) { try ModelCalibration.adaptStatistics(&unnormalised, on: [features]) }
        #expect(error?.description == "the model has no batch norm whose statistics could be adapted (train with --batch-norm)")
    }
}
