import Foundation
import Testing
import TimbreCore
import TimbreNN
import TimbreTraining
@testable import TimbreSeparation

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

    func checkpointWeights(_ trainer: SeparatorTrainer) throws -> [String: [Float]] {
        try GraphModelFile.read(from: trainer.checkpointURL).weights
    }

    @Test func resumeGivesTheSameWeightsAsAnUninterruptedRun() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let songs = syntheticSongs(count: 4, seconds: 2)
        let whole = SeparatorTrainer(options: options(), training: Array(songs.prefix(3)), validation: [songs[3]], outputURL: folder.appendingPathComponent("whole.h5"))
        let history = try whole.run(resume: false)
        #expect(history.count == 3)

        let interruptedURL = folder.appendingPathComponent("interrupted.h5")
        let first = SeparatorTrainer(options: options(), training: Array(songs.prefix(3)), validation: [songs[3]], outputURL: interruptedURL)
        var epochs = 0
        try first.run(resume: false, epochDone: { _, _ in epochs += 1 }, batchDone: { done, _ in
            // Stop part-way through the second epoch: its batches are lost, the checkpoint of the first stays.
            if epochs == 1 && done == 2 { first.cancel() }
        })
        let second = SeparatorTrainer(options: options(), training: Array(songs.prefix(3)), validation: [songs[3]], outputURL: interruptedURL)
        let resumed = try second.run(resume: true)
        #expect(resumed.count == 3)
        #expect(resumed.map(\.validationLoss) == history.map(\.validationLoss))
        #expect(try checkpointWeights(second) == checkpointWeights(whole))
    }

    @Test func trainingLowersTheValidationLoss() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let songs = syntheticSongs(count: 5, seconds: 3)
        var options = options()
        options.epochs = 6
        options.batchesPerEpoch = 8
        let trainer = SeparatorTrainer(options: options, training: Array(songs.prefix(4)), validation: [songs[4]], outputURL: folder.appendingPathComponent("m.h5"))
        let history = try trainer.run(resume: false)
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
