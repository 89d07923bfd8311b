import Foundation
import Testing
import TimbreCore
import TimbreNN
import TimbreTraining
@testable import TimbreSeparation
import TimbreTestSupport

@Suite struct SeparatorTrainerTests {
    func options() -> SeparatorTrainingOptions {
        var options = SeparatorTrainingOptions()
        options.architecture = "chandna"
        options.epochs = 3
        options.batchesPerEpoch = 3
        options.batchSize = 4
        options.validationExamples = 8
        options.patience = 0
        return options
    }

    /// A trainer on all of `songs` but the last, which it validates on, writing `folder/name`.
    func trainer(_ options: SeparatorTrainingOptions, _ songs: [Multitrack], writing name: String, in folder: URL) -> SeparatorTrainer {
        SeparatorTrainer(options: options, training: Array(songs.dropLast()), validation: [songs.last!], outputURL: folder.appendingPathComponent(name))
    }

    func checkpointWeights(_ trainer: SeparatorTrainer) throws -> [String: [Float]] {
        try GraphModelFile.read(from: trainer.checkpointURL).weights
    }

    /// With weight averaging from epoch 2, the checkpoint must carry the average too.
    @Test(arguments: [nil, 2] as [Int?])
    func resumeGivesTheSameWeightsAsAnUninterruptedRun(averageFrom: Int?) throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let songs = syntheticSongs(count: 4, seconds: 2)
        func options() -> SeparatorTrainingOptions {
            var options = self.options()
            options.averageFrom = averageFrom
            return options
        }
        let whole = trainer(options(), songs, writing: "whole.h5", in: folder)
        let history = try whole.run(resume: false)
        #expect(history.count == 3)

        let first = trainer(options(), songs, writing: "interrupted.h5", in: folder)
        var epochs = 0
        try first.run(resume: false, epochDone: { _, _ in epochs += 1 }, batchDone: { done, _ in
            // Stop part-way through the second epoch: its batches are lost, the checkpoint of the first stays.
            if epochs == 1 && done == 2 { first.cancel() }
        })
        // The caller is told the run was cut short, and a finished run is not.
        #expect(first.interrupted)
        #expect(!whole.interrupted)
        let second = trainer(options(), songs, writing: "interrupted.h5", in: folder)
        let resumed = try second.run(resume: true)
        #expect(!second.interrupted)
        #expect(resumed.count == 3)
        #expect(resumed.map(\.validationLoss) == history.map(\.validationLoss))
        #expect(try checkpointWeights(second) == checkpointWeights(whole))
        #expect(try GraphModelFile.read(from: second.outputURL).weights == GraphModelFile.read(from: whole.outputURL).weights)
    }

    /// A finished run resumed with more epochs goes on to the weights of the longer run; a
    /// change of any other option is refused, and a run that stopped early stays stopped.
    @Test func resumeWithMoreEpochsExtendsTheRun() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let songs = syntheticSongs(count: 4, seconds: 2)
        var short = options()
        short.epochs = 2
        let whole = trainer(options(), songs, writing: "whole.h5", in: folder)
        let history = try whole.run(resume: false)
        #expect(try trainer(short, songs, writing: "extended.h5", in: folder).run(resume: false).count == 2)
        var otherRate = options()
        otherRate.learningRate /= 2
        #expect(throws: FileError.self) { try trainer(otherRate, songs, writing: "extended.h5", in: folder).run(resume: true) }
        let extended = trainer(options(), songs, writing: "extended.h5", in: folder)
        let resumed = try extended.run(resume: true)
        #expect(resumed.map(\.validationLoss) == history.map(\.validationLoss))
        #expect(try checkpointWeights(extended) == checkpointWeights(whole))

        // Patience 1 stops a run after any epoch that does not improve; resumed with more
        // epochs, it trains no further.
        var patient = options()
        // A rate this high makes the validation loss bounce within a few epochs.
        (patient.patience, patient.epochs, patient.learningRate) = (1, 40, 0.02)
        let stopping = trainer(patient, songs, writing: "stopping.h5", in: folder)
        let stopped = try stopping.run(resume: false)
        try #require((1..<40).contains(stopped.count), "validation never stopped improving, or no epoch ran: \(stopped.count)")
        patient.epochs = 50
        let again = try trainer(patient, songs, writing: "stopping.h5", in: folder).run(resume: true)
        #expect(again.count == stopped.count)
    }

    /// `startFrom` goes on from a trained separator: at a vanishing learning rate the result
    /// is that separator, input standardisation included, although the songs are others;
    /// a separator of another family or size is refused.
    @Test func trainingStartsFromAGivenSeparator() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = trainer(options(), syntheticSongs(count: 4, seconds: 2), writing: "first.h5", in: folder)
        try first.run(resume: false)
        let start = try SeparatorModel.read(from: first.outputURL)

        let otherSongs = syntheticSongs(count: 4, seconds: 2, seed: 9)
        var fineTuning = options()
        (fineTuning.startFrom, fineTuning.learningRate, fineTuning.epochs) = (first.outputURL.path, 1e-12, 1)
        let tuned = trainer(fineTuning, otherSongs, writing: "tuned.h5", in: folder)
        try tuned.run(resume: false)
        let result = try SeparatorModel.read(from: tuned.outputURL)
        #expect(result.settings.inputMean == start.settings.inputMean && result.settings.inputScale == start.settings.inputScale)
        let change = zip(result.store.valueArray, start.store.valueArray).map { abs($0 - $1) }.max()!
        #expect(change < 1e-6, "largest weight change \(change)")

        var fresh = fineTuning
        fresh.startFrom = nil
        let afresh = trainer(fresh, otherSongs, writing: "fresh.h5", in: folder)
        try afresh.run(resume: false)
        let freshModel = try SeparatorModel.read(from: afresh.outputURL)
        #expect(freshModel.settings.inputMean != start.settings.inputMean)
        #expect(zip(freshModel.store.valueArray, start.store.valueArray).map { abs($0 - $1) }.max()! > 1e-4)

        // Resumed, the checkpoint holds the weights: the start may be named otherwise.
        var longer = fineTuning
        (longer.epochs, longer.startFrom) = (2, folder.appendingPathComponent("x/../first.h5").path)
        #expect(try trainer(longer, otherSongs, writing: "tuned.h5", in: folder).run(resume: true).count == 2)

        // The start is scored and written as the model before any epoch, so an epoch
        // replaces it only by validating better (here, none runs).
        var scoredOnly = fineTuning
        scoredOnly.epochs = 0
        var scored: [Double] = []
        let unchanged = trainer(scoredOnly, otherSongs, writing: "unchanged.h5", in: folder)
        #expect(try unchanged.run(resume: false, startScored: { scored.append($0) }).isEmpty)
        #expect(scored.count == 1 && scored[0] > 0)
        #expect(try GraphModelFile.read(from: unchanged.outputURL).weights == GraphModelFile.read(from: first.outputURL).weights)

        var otherFamily = fineTuning
        otherFamily.architecture = "tcn"
        #expect(throws: FileError.self) { try trainer(otherFamily, otherSongs, writing: "tcn.h5", in: folder).run(resume: false) }
        var otherSize = fineTuning
        otherSize.bottleneck = 64
        #expect(throws: FileError.self) { try trainer(otherSize, otherSongs, writing: "small.h5", in: folder).run(resume: false) }
    }

    /// Reduce on plateau counts patience from the best epoch or the last drop, whichever is
    /// later, drops the rate as often as allowed, and only then stops.
    @Test func plateauDropsTheLearningRateBeforeStopping() {
        var options = options()
        options.patience = 3
        var state = SeparatorTrainerState(options: options)
        #expect(SeparatorTrainer.plateauAction(state) == .train)
        (state.nextEpoch, state.bestEpoch) = (7, 5)
        #expect(SeparatorTrainer.plateauAction(state) == .train)
        state.nextEpoch = 8
        #expect(SeparatorTrainer.plateauAction(state) == .stop)
        state.options.plateau = .init(drops: 2, factor: 0.3)
        #expect(SeparatorTrainer.plateauAction(state) == .dropLearningRate)
        state.drops = [8]
        state.nextEpoch = 10
        #expect(SeparatorTrainer.plateauAction(state) == .train)
        state.nextEpoch = 11
        #expect(SeparatorTrainer.plateauAction(state) == .dropLearningRate)
        state.bestEpoch = 10
        #expect(SeparatorTrainer.plateauAction(state) == .train)
        state.drops = [8, 13]
        state.nextEpoch = 16
        #expect(SeparatorTrainer.plateauAction(state) == .stop)
        #expect(abs(SeparatorTrainer.learningRate(state) - options.learningRate * 0.09) < 1e-15)
        state.options.patience = 0
        #expect(SeparatorTrainer.plateauAction(state) == .train)
    }

    /// A run that stopped on a plateau, resumed with a drop allowed, goes on exactly as a run
    /// that had the drop from the start; so does such a run interrupted after its drop.
    @Test func resumeWithPlateauDropsContinuesAtTheLowerRate() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let songs = syntheticSongs(count: 4, seconds: 2)
        var stopping = options()
        (stopping.patience, stopping.epochs, stopping.learningRate) = (1, 30, 0.02)
        var dropping = stopping
        dropping.plateau = .init(drops: 1, factor: 0.5)
        let whole = trainer(dropping, songs, writing: "whole.h5", in: folder)
        let history = try whole.run(resume: false)
        let rates = history.map { $0.learningRate ?? 0 }
        try #require(rates.contains(stopping.learningRate * 0.5) && rates.first == stopping.learningRate, "the rate never dropped: \(rates)")

        let stopped = try trainer(stopping, songs, writing: "stopped.h5", in: folder).run(resume: false)
        #expect(stopped.count < history.count)
        let resumed = trainer(dropping, songs, writing: "stopped.h5", in: folder)
        #expect(try resumed.run(resume: true).map(\.validationLoss) == history.map(\.validationLoss))
        #expect(try checkpointWeights(resumed) == checkpointWeights(whole))

        var cut = dropping
        cut.epochs = rates.firstIndex(of: stopping.learningRate * 0.5)! + 1
        try trainer(cut, songs, writing: "cut.h5", in: folder).run(resume: false)
        let rest = trainer(dropping, songs, writing: "cut.h5", in: folder)
        #expect(try rest.run(resume: true).map(\.learningRate) == history.map(\.learningRate))
        #expect(try checkpointWeights(rest) == checkpointWeights(whole))
    }

    @Test func weightAveragingSavesTheMeanOfEveryStepsWeights() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        var oneStep = options()
        (oneStep.epochs, oneStep.batchesPerEpoch) = (1, 1)
        var twoSteps = oneStep
        (twoSteps.batchesPerEpoch, twoSteps.averageFrom) = (2, 1)
        // Both runs take the same first step (examples and initialisation depend on the seed and position).
        let songs = syntheticSongs(count: 4, seconds: 2)
        let first = trainer(oneStep, songs, writing: "one.h5", in: folder), averaged = trainer(twoSteps, songs, writing: "two.h5", in: folder)
        try first.run(resume: false)
        try averaged.run(resume: false)
        let afterOne = try checkpointWeights(first), afterTwo = try checkpointWeights(averaged)
        let saved = try GraphModelFile.read(from: averaged.outputURL).weights
        #expect(afterOne != afterTwo && saved.keys == afterTwo.keys)
        var largestError: Float = 0
        for (name, values) in saved {
            for i in values.indices { largestError = max(largestError, abs(values[i] - (afterOne[name]![i] + afterTwo[name]![i]) / 2)) }
        }
        #expect(largestError <= 1e-6, "largest difference from the two steps' mean: \(largestError)")
    }

    @Test func theFirstAveragedEpochAlwaysGivesTheModelFile() {
        #expect(SeparatorTrainer.isBest(0.5, over: 0.6, epoch: 3, averageFrom: nil))
        #expect(!SeparatorTrainer.isBest(0.7, over: 0.6, epoch: 3, averageFrom: nil))
        // Worse than a weight vector from before the average, the first average still wins;
        // later averages compete on their losses.
        #expect(SeparatorTrainer.isBest(0.7, over: 0.6, epoch: 3, averageFrom: 3))
        #expect(!SeparatorTrainer.isBest(0.7, over: 0.6, epoch: 4, averageFrom: 3))
        #expect(SeparatorTrainer.isBest(0.5, over: 0.6, epoch: 4, averageFrom: 3))
    }

    @Test func trainingLowersTheValidationLoss() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = options()
        (options.epochs, options.batchesPerEpoch) = (6, 8)
        let history = try trainer(options, syntheticSongs(count: 5, seconds: 3), writing: "m.h5", in: folder).run(resume: false)
        #expect(history.last!.validationLoss < 0.8 * history.first!.validationLoss, "\(history.map(\.validationLoss))")
        let model = try SeparatorModel.read(from: folder.appendingPathComponent("m.h5"))
        #expect(model.settings.architecture == "chandna" && model.settings.inputMean.count == 513)
    }

    /// Without their drums the synthetic songs are a few tones and leave the top bins silent,
    /// as songs resampled to the model's rate are above the resampler's cutoff: those bins
    /// must not be magnified. (Only the settings are made; nothing is written.)
    @Test func silentBinsAreNotMagnifiedByTheInputStandardisation() throws {
        let tones = syntheticSongs(count: 3, seconds: 2).map { song in
            Multitrack(name: song.name, sampleRate: song.sampleRate, sources: song.sources.filter { $0.stem != .drums })
        }
        let trainer = SeparatorTrainer(options: options(), training: tones, validation: [],
                                       outputURL: FileManager.default.temporaryDirectory.appendingPathComponent("unwritten.h5"))
        let settings = try trainer.initialSettings()
        #expect(settings.inputScale.allSatisfy { $0 > 0 && $0 <= 2 }, "largest scale \(settings.inputScale.max()!)")
        // A bin the songs never sound in, reached by a tone at −60 dB, stays within a few units.
        let top = settings.bins - 1
        let silent = (log(SpectralFrames.floor) - settings.inputMean[top]) * settings.inputScale[top]
        let reached = (log(SpectralFrames.floor + 1e-3) - settings.inputMean[top]) * settings.inputScale[top]
        #expect(abs(silent) < 1 && abs(reached) < 6, "silent \(silent), at −60 dB \(reached)")
    }

    @Test func theFloorsMasksSumToOneAndFollowTheStemsSpectra() {
        let songs = syntheticSongs(count: 2, seconds: 2)
        let settings = SeparatorSettings(architecture: "floor")
        let masks = FrequencyMaskFloor.learn(from: songs, settings: settings)
        #expect(masks.count == 4 && masks.allSatisfy { $0.count == 513 })
        for f in 0..<513 { #expect(abs(masks.reduce(Float(0)) { $0 + $1[f] } - 1) < 1e-5) }
        // Bass plays at most 110·2^(12/12)/2 = 110 Hz: it owns the bins there (bin 2 ≈ 43–65 Hz... ) more than any other.
        let lowBin = 3
        #expect(masks[2][lowBin] > 0.5, "bass share at bin \(lowBin): \(masks[2][lowBin])")
    }
}
