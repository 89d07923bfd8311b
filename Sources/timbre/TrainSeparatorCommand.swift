import ArgumentParser
import Foundation
import TimbreConsole
import TimbreCore
import TimbreSeparation
import TimbreTraining

/// `timbre train-separator`: trains a source separator on multitrack songs.
struct TrainSeparatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-separator",
        abstract: "Train a source separator (vocals, drums, bass, other) on multitrack songs.",
        discussion: """
            SONGS are folders of multitracks in the MedleyDB layout (stems grouped into the four \
            targets by labels/separation-groups.csv) or the MUSDB18 layout (mixture, vocals, \
            drums, bass, other). Mixtures are made on the fly: random chunks, a gain of \
            0.25-1.25 per source, random subsets of each song's sources, and targets taken from \
            other songs. Songs are held out by song for validation, which runs after every \
            epoch; the best model is written to MODEL, a checkpoint beside it after every \
            epoch, and --resume continues from it to the same weights (with a larger \
            --epochs, a finished run goes on). --arch floor learns \
            the network-free baseline: one fixed mask per stem and frequency.
            """
    )

    @Argument(help: "Folders of multitrack songs.")
    var songs: [String]

    @Option(name: .shortAndLong, help: "Model file to write.")
    var output: String

    @Option(help: "The network family, or floor: fixed per-frequency masks.")
    var arch = SeparatorChoice.chandna

    @Option(help: "How multitask trains its decoders.")
    var mode = SeparatorTrainingOptions.Mode.simultaneous

    @Option(help: "Folder of validation songs (default: a share of SONGS, held out by song).")
    var validation: String?

    @Option(help: "Share of the songs held out for validation when --validation is not given.")
    var validationShare = 0.15

    @Option(help: "Epochs at most.")
    var epochs = 20

    @Option(help: "Batches per epoch.")
    var batchesPerEpoch = 100

    @Option(help: "Examples per batch.")
    var batchSize = 16

    @Option(help: "Adam's learning rate.")
    var learningRate = 1e-3

    @Option(help: "Fixed validation mixtures scored after every epoch.")
    var validationExamples = 256

    @Option(help: "Epochs without a better validation loss before stopping (0: never).")
    var patience = 5

    @Option(help: "Seed of initialisation and of every mixture.")
    var seed: UInt64 = 1

    @Flag(help: "Sams-Net without its attention layers.")
    var noAttention = false

    @Option(help: "Sams-Net: frames per attention chunk (64 frames / chunk = slices).")
    var chunk = 16

    @Option(help: "Largest boost or cut in dB of a random equaliser on each source of a training mixture (0: none).")
    var equalisation = 0.0

    @Option(help: "Largest change in semitones of each source's pitch and speed in a training mixture, by resampling (0: none).")
    var repitch = 0.0

    @Option(help: "From this epoch on, average every step's weights and validate and save the average (stochastic weight averaging).")
    var averageFrom: Int?

    @Option(help: "Chandna: maps of the vertical convolution across all bins (the paper's 50).")
    var verticalMaps = 50

    @Option(help: "Chandna: maps of the horizontal convolution across 12 frames (the paper's 30).")
    var horizontalMaps = 30

    @Option(help: "Chandna: units of the dense bottleneck (the paper's 128).")
    var bottleneck = 128

    @Option(help: "tcn: units per frame of the embedding and of every block.")
    var frameUnits = 256

    @Option(help: "tcn: residual blocks of dilated 3-frame convolutions (4 see 31 frames).")
    var blocks = 4

    @Option(help: "Loss: l1, or discriminative (Chandna's squared error with α 0.001, β 0.01, β_vocals 0.03); default: the family's own.")
    var loss: SeparatorLossChoice?

    @Option(help: "Times the learning rate is lowered when validation has not improved for --patience epochs, before training stops (resumable with more).")
    var plateauDrops = 0

    @Option(help: "What each of --plateau-drops multiplies the learning rate by.")
    var plateauFactor = 0.3

    @Flag(help: "Continue from the checkpoint beside MODEL.")
    var resume = false

    @Option(name: .customLong("start-from"), help: ArgumentHelp("Go on training this separator (fine-tuning) instead of a fresh network: its weights and input standardisation are the start; it must be a network of --arch and its options.", valueName: "separator.h5"))
    var startFrom: String?

    func validate() throws {
        if mode != .simultaneous, arch != .multitask { throw ValidationError("--mode applies to --arch multitask") }
        if startFrom != nil, arch == .floor { throw ValidationError("--start-from needs a network; the floor is learned afresh") }
        try requireOption(epochs, "--epochs", in: 1...100_000)
        try requireOption(batchesPerEpoch, "--batches-per-epoch", in: 1...1_000_000)
        try requireOption(batchSize, "--batch-size", in: 1...4096)
        try requireOption(patience, "--patience", in: 0...10_000)
        try requireOption(validationExamples, "--validation-examples", in: 1...1_000_000)
        if !(learningRate > 0 && learningRate < 1) { throw ValidationError("--learning-rate must be in (0, 1)") }
        if !(0..<1).contains(validationShare) { throw ValidationError("--validation-share must be in [0, 1)") }
        if !(0...40).contains(equalisation) { throw ValidationError("--equalisation must be in [0, 40] dB") }
        if !(0...12).contains(repitch) { throw ValidationError("--repitch must be in [0, 12] semitones") }
        if let averageFrom { try requireOption(averageFrom, "--average-from", in: 1...epochs) }
        try requireOption(verticalMaps, "--vertical-maps", in: 1...4096)
        try requireOption(horizontalMaps, "--horizontal-maps", in: 1...4096)
        try requireOption(bottleneck, "--bottleneck", in: 1...65_536)
        try requireOption(frameUnits, "--frame-units", in: 1...4096)
        try requireOption(blocks, "--blocks", in: 0...5)
        try requireOption(plateauDrops, "--plateau-drops", in: 0...20)
        if !(plateauFactor > 0 && plateauFactor < 1) { throw ValidationError("--plateau-factor must be in (0, 1)") }
        if ![1, 2, 4, 8, 16, 32, 64].contains(chunk) { throw ValidationError("--chunk must divide 64 frames") }
    }

    func run() throws {
        let options = trainingOptions()
        let outputURL = URL(fileURLWithPath: output)
        try reportingErrors {
            try OutputPath.checkFile(outputURL)
            if let startFrom { try checkStart(startFrom, options: options, output: outputURL) }
        }
        let settings = arch.architecture?.defaultSettings(stems: SeparationStem.allCases)
            ?? SeparatorArchitecture.chandna.defaultSettings(stems: SeparationStem.allCases)
        var entries = try reportingErrors { try songs.flatMap { try MultitrackLibrary.find(URL(fileURLWithPath: $0)) } }
        var held: [MultitrackLibrary.Entry] = []
        if let validation {
            held = try reportingErrors { try MultitrackLibrary.find(URL(fileURLWithPath: validation)) }
        } else if validationShare > 0 {
            // Held out by song, chosen by a hash of the name so adding songs keeps the split.
            let sorted = entries.sorted { Self.hash($0.name) < Self.hash($1.name) }
            held = Array(sorted.prefix(max(1, Int((Double(entries.count) * validationShare).rounded()))))
            entries.removeAll { entry in held.contains(entry) }
        }
        guard !entries.isEmpty else { Terminal.printError("timbre: no multitrack songs found in \(songs.joined(separator: ", "))"); throw ExitCode.failure }
        let (training, trainingFailures) = load(entries, sampleRate: settings.sampleRate)
        let (validationSongs, validationFailures) = load(held, sampleRate: settings.sampleRate)
        guard !training.isEmpty else { throw ExitCode.failure }
        print("training on \(training.count) songs, validating on \(validationSongs.count)")

        if arch == .floor {
            var floorSettings = SeparatorSettings(architecture: "floor")
            floorSettings.fixedMasks = FrequencyMaskFloor.learn(from: training, settings: floorSettings)
            try reportingErrors { try SeparatorModel.floor(settings: floorSettings).write(to: outputURL) }
            print("wrote \(output): fixed per-frequency masks from \(training.count) songs")
            if trainingFailures + validationFailures > 0 { throw ExitCode(2) }
            return
        }

        let trainer = SeparatorTrainer(options: options, training: training, validation: validationSongs, outputURL: outputURL)
        let interrupts = InterruptHandler(message: "stopping before the next batch; continue later with --resume") { trainer.cancel() }
        let bar = ProgressBar(total: batchesPerEpoch, unit: "batches")
        var epochNumber = 1
        // Under mpirun every rank trains; only rank 0 reports and writes.
        let reports = TrainingGroup.isLeader
        defer { TrainingGroup.finish() }
        // A rank that fails alone takes the whole group down instead of leaving it waiting.
        var failed = true
        defer { if failed { TrainingGroup.abortIfShared() } }
        let history = try reportingErrors {
            try trainer.run(resume: resume, epochDone: { record, improved in
                guard reports else { return }
                bar.clear()
                let rate = record.learningRate.map { $0 != learningRate ? String(format: ", learning rate %.2g", $0) : "" } ?? ""
                print(String(format: "epoch %3d  train loss %.5f  validation loss %.5f%@  %.0f s, %.1f examples/s%@", record.epoch, record.trainingLoss,
                             record.validationLoss, improved ? " *" : "  ", record.seconds, record.examplesPerSecond, rate))
                fflush(nil)
                epochNumber = record.epoch + 1
            }, batchDone: { done, total in
                guard reports else { return }
                bar.update(done: done, detail: "epoch \(epochNumber)", rate: (done, "batches"))
            }, startScored: { loss in
                guard reports else { return }
                print(String(format: "start      validation loss %.5f  (the separator started from: the model until an epoch does better)", loss))
            })
        }
        failed = false
        bar.clear()
        withExtendedLifetime(interrupts) {}
        if trainer.interrupted {
            // Not finished: a script that goes on to score the model must not take it for done.
            if reports { print("interrupted after epoch \(history.last?.epoch ?? 0); run the same command with --resume to continue") }
            throw ExitCode(130)
        }
        if history.count < epochs, let last = history.last, last.epoch < epochs, FileManager.default.fileExists(atPath: trainer.checkpointURL.path) {
            print("stopped after epoch \(last.epoch); the best model is in \(output)")
        }
        if trainingFailures + validationFailures > 0 { throw ExitCode(2) }
    }

    /// The training options these flags give.
    func trainingOptions() -> SeparatorTrainingOptions {
        var options = SeparatorTrainingOptions()
        options.architecture = arch.rawValue
        options.mode = mode
        options.epochs = epochs
        options.batchesPerEpoch = batchesPerEpoch
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.patience = patience
        options.validationExamples = validationExamples
        options.seed = seed
        options.attention = !noAttention
        options.chunk = chunk
        options.sampling.equalisation = equalisation
        options.sampling.repitch = repitch
        options.averageFrom = averageFrom
        options.verticalMaps = verticalMaps
        options.horizontalMaps = horizontalMaps
        options.bottleneck = bottleneck
        options.frameUnits = frameUnits
        options.blocks = blocks
        options.loss = loss.map { $0 == .l1 ? .l1 : .chandna }
        options.plateau = plateauDrops > 0 ? .init(drops: plateauDrops, factor: plateauFactor) : nil
        options.startFrom = startFrom
        return options
    }

    /// Refuses, before any song is read, a separator to start from that is the output, is
    /// not a separator or is not the network these options make. A run resumed from its
    /// checkpoint needs it no longer.
    func checkStart(_ path: String, options: SeparatorTrainingOptions, output: URL) throws {
        guard URL(fileURLWithPath: path).standardizedFileURL != output.standardizedFileURL else {
            throw FileError(path: path, reason: "is also the output; training would overwrite the separator it starts from")
        }
        if resume, FileSystemName.status(of: SeparatorTrainer.checkpointURL(for: output).path).exists { return }
        try FileProbe.check(path, as: .separator)
        _ = try SeparatorTrainer.startingModel(path, options: options)
    }

    /// Reads songs on every core; a song that cannot be read is reported and left out.
    private func load(_ entries: [MultitrackLibrary.Entry], sampleRate: Int) -> ([Multitrack], Int) {
        var songs: [Multitrack] = [], failures = 0
        for result in MultitrackLibrary.loadAll(entries, sampleRate: sampleRate) {
            switch result {
            case .success(let song): songs.append(song)
            case .failure(let error): Terminal.printError("timbre: \(error)"); failures += 1
            }
        }
        return (songs, failures)
    }

    /// FNV-1a of a song name: a stable, well-spread order for the validation split.
    static func hash(_ name: String) -> UInt64 {
        name.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }
}
