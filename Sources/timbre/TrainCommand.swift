import ArgumentParser
import Foundation
import TimbreCore
import TimbreConsole
import TimbreNN
import TimbreTraining

extension OutputActivation: ExpressibleByArgument {}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the instrument classifier on feature files.",
        discussion: """
            Trains the 4-block CNN with class-balanced epochs, validates after each epoch, stops \
            early when the validation loss stops improving, and keeps the best model in MODEL. A \
            checkpoint (MODEL.checkpoint.h5) is written after every epoch; --resume continues \
            from it with the same results as an uninterrupted run. Several feature files (e.g. one \
            per sound source) train as one collection. --mix-fraction turns a share of the \
            examples into mixtures of clips of different classes, summed in the power domain of \
            their log-mel spectrograms and labelled with every class in them; --output-layer sigmoid \
            trains independent per-class outputs with binary cross-entropy for multi-label tagging.

            Examples:
              timbre train irmas.h5 -o model.h5
              timbre train a.h5 b.h5 --validation c.h5 -o model.h5 --output-layer sigmoid --mix-fraction 0.25
              timbre train irmas.h5 -o model.h5 --resume
            """
    )

    @Argument(help: "Feature files written by `timbre prepare`.")
    var features: [String]

    @Option(name: .shortAndLong, help: "Model file to write (the best epoch).")
    var output: String

    @Option(help: "Epochs to train at most.")
    var epochs = 30

    @Option(help: "Clips per batch.")
    var batchSize = 32

    @Option(help: "Adam learning rate.")
    var learningRate = 5e-4

    @Option(help: "Validation feature file; repeat for several (default: hold out recordings of FEATURES).")
    var validation: [String] = []

    @Option(help: "Share of each class's recordings held out for validation.")
    var validationFraction = 0.15

    @Option(help: "Stop after this many epochs without a lower validation loss.")
    var patience = 5

    @Option(help: "Seed for initialisation, sampling and dropout.")
    var seed: UInt64 = 1

    @Option(help: "Units of the fully connected layer.")
    var hidden = 256

    @Option(help: "Output layer: softmax (one class per clip) or sigmoid (independent classes, multi-label).")
    var outputLayer: OutputActivation = .softmax

    @Option(help: "Share of training examples that are mixtures of clips of different classes (0 to 1).")
    var mixFraction = 0.0

    @Option(help: "Most clips in one mixture.")
    var maxMix = 4

    @Option(help: "Level range of a mixture's clips, dB.")
    var mixSpreadDb = 12.0

    @Flag(help: "Mask random mel bands and frames of training examples (SpecAugment).")
    var specAugment = false

    @Option(help: "Equalise each training example with a random smooth curve of up to this many dB (0: off).")
    var eqAugmentDb = 0.0

    @Option(help: "Shift each training example along the mel axis by up to this many bands (0: off).")
    var bandShift = 0

    @Option(help: "Chance that a training clip takes in part the per-band statistics of a clip of the same class from another feature file (frequency-wise style mixing across sources; 0: off).")
    var styleMix = 0.0

    @Option(help: "Chance that a training item is blended with another item of its batch, log-mels and targets alike (mixup; 0: off).")
    var mixup = 0.0

    @Flag(help: "Subtract each mel band's mean over the clip before the network (removes static colouring).")
    var centreBands = false

    @Flag(help: "Take each feature's maximum over time after the convolution blocks (global max-pooling over time).")
    var poolTime = false

    @Flag(help: "Batch-normalise each convolution's output before its ReLU (an addition to the design's network).")
    var batchNorm = false

    @Option(help: "Comma-separated per-class thresholds to record instead of choosing them on validation data (e.g. chosen by cross-source validation).")
    var classThresholds: String?

    @Flag(help: "Keep the last epoch's model and never stop early; validation only scores it (cross-validation folds).")
    var lastEpoch = false

    @Option(help: "Average the weights over every training step from this epoch on (stochastic weight averaging, as SWAD does for unseen domains); validation and the saved model use the average.")
    var averageFrom: Int?

    @Flag(help: "Lower the learning rate along a half cosine from --learning-rate towards zero over --epochs.")
    var cosineDecay = false

    @Flag(help: "Also train on the clips with several labels (song mixes prepared from multitracks), as they are, with every labelled class as a target (sigmoid output).")
    var multiLabelClips = false

    @Flag(help: "Do not fit a temperature on the validation clips (temperature scaling); report the network's raw probabilities.")
    var noCalibrate = false

    @Flag(help: "Continue from the checkpoint beside MODEL.")
    var resume = false

    func validate() throws {
        try requireOption(epochs, "--epochs", in: 1...100_000)
        try requireOption(averageFrom, "--average-from", in: 1...epochs)
        try requireOption(learningRate, "--learning-rate", in: 1e-8...1)
        try requireOption(batchSize, "--batch-size", in: 1...4096)
        try requireOption(hidden, "--hidden", in: 1...65_536)
        try requireOption(patience, "--patience", in: 0...10_000)
        if !(validationFraction >= 0 && validationFraction < 1) { throw ValidationError("--validation-fraction must be at least 0 and below 1 (got \(validationFraction))") }
        if !(0...1).contains(mixFraction) { throw ValidationError("--mix-fraction must be between 0 and 1") }
        try requireOption(maxMix, "--max-mix", in: 2...16)
        if !(eqAugmentDb >= 0 && eqAugmentDb <= 40) { throw ValidationError("--eq-augment-db must be between 0 and 40") }
        try requireOption(bandShift, "--band-shift", in: 0...32)
        if !(0...1).contains(styleMix) { throw ValidationError("--style-mix must be between 0 and 1") }
        if !(0...1).contains(mixup) { throw ValidationError("--mixup must be between 0 and 1") }
        if !(mixSpreadDb >= 0 && mixSpreadDb <= 60) { throw ValidationError("--mix-spread-db must be between 0 and 60") }
        if let classThresholds, parsedThresholds(classThresholds) == nil {
            throw ValidationError("--class-thresholds must be numbers between 0 and 1, separated by commas")
        }
    }

    private func parsedThresholds(_ text: String) -> [Double]? {
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && (0...1).contains($0!) }) else { return nil }
        return values.map { $0! }
    }

    func run() throws {
        try reportingErrors {
            try OutputPath.checkFile(URL(fileURLWithPath: output))
            try OutputPath.checkNotAnInput(URL(fileURLWithPath: output), inputs: features + validation)
            try FileProbe.check(features + validation, as: .features)
        }
        var options = TrainingOptions()
        options.epochs = epochs
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.validationFraction = validationFraction
        options.patience = patience
        options.seed = seed
        options.hidden = hidden
        options.output = outputLayer
        options.mixing.fraction = mixFraction
        options.mixing.maxComponents = maxMix
        options.mixing.levelSpreadDB = mixSpreadDb
        options.masking = specAugment ? SpectrogramMasking() : nil
        options.equalisation = eqAugmentDb > 0 ? RandomEqualisation(maxDB: eqAugmentDb) : nil
        options.bandShift = bandShift > 0 ? RandomBandShift(maxBands: bandShift) : nil
        options.styleMixing = styleMix > 0 ? SourceStyleMixing(probability: styleMix) : nil
        options.mixup = mixup > 0 ? InputMixup(probability: mixup) : nil
        options.centresBands = centreBands
        options.poolsTime = poolTime
        options.normalisesBatches = batchNorm
        options.classThresholds = classThresholds.flatMap(parsedThresholds)
        options.keepsLastEpoch = lastEpoch
        options.averageFrom = averageFrom
        options.cosineDecay = cosineDecay
        options.multiLabelClips = multiLabelClips
        options.calibrates = !noCalibrate
        let trainer = Trainer(features: features.map { URL(fileURLWithPath: $0) }, output: URL(fileURLWithPath: output),
                              validation: validation.map { URL(fileURLWithPath: $0) }, options: options)
        let interrupts = InterruptHandler(message: "stopping after this batch; continue later with --resume") { trainer.cancel() }
        var bar: ProgressBar?
        trainer.warning = { line in
            if let bar { bar.message("timbre: \(line)") } else { Terminal.printError("timbre: \(line)") }
        }
        // Under mpirun every rank trains; only rank 0 reports and writes.
        let reports = TrainingGroup.isLeader
        defer { TrainingGroup.finish() }
        // A rank that fails alone takes the whole group down instead of leaving it waiting.
        var failed = true
        defer { if failed { TrainingGroup.abortIfShared() } }
        let result = try reportingErrors {
            try trainer.run(resume: resume, progress: { p in
                guard reports else { return }
                if bar == nil || p.batch == 1 { bar = ProgressBar(total: p.batches, unit: "batches") }
                bar?.update(done: p.batch, detail: String(format: "epoch %d  loss %.3f  acc %.1f%%", p.epoch + 1, p.loss, p.accuracy * 100),
                            rate: (p.batch * batchSize, "clips"))
            }, epochDone: { record, improved in
                guard reports else { return }
                bar?.clear()
                bar = nil
                var line = String(format: "epoch %ld/%ld  loss %.4f  acc %.1f%%", record.epoch, epochs, record.trainingLoss, record.trainingAccuracy * 100)
                if let loss = record.validationLoss, let accuracy = record.validationAccuracy {
                    line += String(format: "  |  val loss %.4f  acc %.1f%%", loss, accuracy * 100)
                }
                line += String(format: "  |  %.1f clips/s", record.clipsPerSecond) + (improved ? "  (best, saved)" : "")
                Terminal.printError(line)
            })
        }
        failed = false
        bar?.clear()
        withExtendedLifetime(interrupts) {}
        if result.interrupted {
            print("interrupted after epoch \(result.history.count); run the same command with --resume to continue")
            throw ExitCode(130)
        }
        guard reports else { return }
        let best = result.history.first { $0.epoch == result.bestEpoch }
        var line = "wrote \(output): best epoch \(result.bestEpoch) of \(result.history.count)"
        if let loss = best?.validationLoss, let accuracy = best?.validationAccuracy {
            line += String(format: ", validation loss %.4f, top-1 error %.1f%%", loss, (1 - accuracy) * 100)
        }
        line += " (\(result.trainingClips) training clips, \(result.validationClips) validation clips)"
        if result.stoppedEarly { line += "; stopped early" }
        print(line)
        if let calibration = result.calibration {
            print(String(format: "calibrated: temperature %.3f; expected calibration error on validation %.3f → %.3f",
                         calibration.temperature, calibration.eceBefore, calibration.eceAfter))
        }
        if result.endedAtChance {
            let perClass = result.trainingClips / max(1, result.classesTrained)
            Terminal.printError("timbre: warning: validation accuracy is at chance level for \(result.classesTrained) classes; with about \(perClass) training clips per class "
                                + "the network has too little to learn from (a few hundred per class is a usual minimum), or it needs more epochs")
        }
    }
}
