import ArgumentParser
import Foundation
import TimbreModel
import TimbreSeparation
import TimbreTraining

// Options several commands take, defined once so that their names, help and checks agree.

/// `--model`: a classifier file, or the bundled model.
struct ModelOption: ParsableArguments {
    @Option(help: "Model file (default: the bundled model).")
    var model: String?

    /// The file's URL; nil for the bundled model.
    var url: URL? { model.map { URL(fileURLWithPath: $0) } }

    /// The model, read after a child process has read it safely (`FileProbe`); the
    /// bundled model is checked against its CRC-32 instead.
    func load() throws -> ModelFile { try Self.load(model) }

    /// The classifier at `path`, read after the probe, or the bundled one.
    static func load(_ path: String?) throws -> ModelFile {
        guard let path else { return try BundledModel.load() }
        try FileProbe.check(path, as: .model)
        return try ModelFile.read(from: URL(fileURLWithPath: path))
    }
}

/// `-j/--workers`: threads for decoding, rendering or feature extraction.
struct WorkerOptions: ParsableArguments {
    @Option(name: [.customShort("j"), .long], help: "Worker threads (default: one per core).")
    var workers: Int?

    var count: Int { workers ?? ProcessInfo.processInfo.activeProcessorCount }

    func validate() throws {
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
    }
}

/// `--layout`: how an audio folder is organised.
struct LayoutOption: ParsableArguments {
    @Option(help: "Layout of an audio folder (auto: detect it, reading side-by-side layouts part by part).")
    var layout = LayoutChoice.auto
}

/// `--input-gain`: how loud the separator's network hears a file.
struct InputGainOption: ParsableArguments {
    @Option(help: ArgumentHelp("How loud the separator's network hears a file: match brings it to the level of the mixtures it was trained on, so the stems do not change with the recording's level; lift does so only for a recording quieter than those; a number of dB plays it that much louder (0: as it is). The stems keep the file's level either way.",
                               valueName: "lift|match|dB"))
    var inputGain = "lift"

    var choice: BlockSeparator.InputGain {
        switch inputGain {
        case "match": return .matchTraining
        case "lift": return .liftToTraining
        default: return .decibels(Double(inputGain) ?? 0)
        }
    }

    func validate() throws {
        guard ["lift", "match"].contains(inputGain) || Double(inputGain).map({ $0.isFinite && abs($0) <= 60 }) == true else {
            throw ValidationError("--input-gain must be lift, match or a number of dB between -60 and 60")
        }
    }
}
