import ArgumentParser
import Foundation
import TimbreConsole
import TimbreCore
import TimbreDatasets
import TimbreModel
import TimbreSeparation
import TimbreTagging
import TimbreTraining

struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "Say which instruments play in audio files.",
        discussion: """
            Cuts each file into 3-s windows, classifies every window that is not silent, \
            averages the probabilities over the file and reports the most probable instrument \
            plus any other at or above the threshold. Folders are searched recursively for \
            audio files. Silent files are reported as silent; files shorter than a window are \
            padded and flagged. Failures are printed once each on standard error and the run \
            goes on (exit status 2).

            Examples:
              timbre tag ~/Music/session
              timbre tag --timeline --plot plots/ live-set.flac
              timbre tag --format jsonl --all-scores songs/ > tags.jsonl
              timbre tag --separate --model my-model.h5 mixes/
            """
    )

    @OptionGroup var model: ModelOption

    @Argument(help: "Audio files and folders.")
    var paths: [String]

    @Option(help: "Output format.")
    var format = TagFormat.table

    @Option(help: "Most tags reported per file and per window (with --separate, per stem).")
    var topK = TagOptions().topK

    @Option(help: "Mean probability at or above which an instrument is reported (default: the model's per-class thresholds, chosen on validation data).")
    var threshold: Double?

    // Unconditional, so that `--rms-threshold-db -60` is read as a value, not as an option.
    @Option(name: .customLong("rms-threshold-db"), parsing: .unconditional,
            help: "RMS level (dBFS) under which a window is not classified (default: the model's gate, −50 dBFS); lower it for quiet recordings.")
    var rmsThresholdDB: Double?

    @Option(help: "Seconds between window starts (default: the window length).")
    var hopSeconds: Double?

    @Flag(help: "Also report the tags of every window, with its start time.")
    var timeline = false

    @Flag(help: "JSON lines: also give every class's probability, per file and (with --timeline) per window.")
    var allScores = false

    @Option(help: "Folder to write one SVG per file into: every class's probability over time.")
    var plot: String?

    @Flag(help: "Separate each file into vocals, drums, bass and other first, tag every stem that is not silent, and merge their tags (each tag names its stem).")
    var separate = false

    @Option(help: "With --separate: the least probability at which a stem's class is reported, whatever its own threshold; a stem's own instrument (voice in vocals, drums in drums, bass in bass) keeps its threshold.")
    var stemThreshold = 0.5

    @Option(help: "Separator model for --separate (default: the bundled separator).")
    var separatorModel: String?

    @Option(help: "With --separate: the classifier for the stems (default: the classifier of --model); make stem-model trains one on separated stems.")
    var stemModel: String?

    @Option(help: "With --separate: a stem's window this many dB under the mix's is what other stems leaked into it, and gives no tag.")
    var stemGateDB = SeparatedTagging.defaultGateDB

    @OptionGroup var inputGain: InputGainOption

    @Option(help: "Tag only shard K of N of the files (K from 0, e.g. $SLURM_ARRAY_TASK_ID/N), chosen by each file's path as printed.")
    var shard: String?

    @OptionGroup var workers: WorkerOptions

    func validate() throws {
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if let threshold, !(0...1).contains(threshold) { throw ValidationError("--threshold must be between 0 and 1") }
        // A window every 0.1 s already looks at each moment 30 times.
        try requireOption(hopSeconds, "--hop-seconds", in: 0.1...600)
        try requireOption(stemThreshold, "--stem-threshold", in: 0...1)
        if stemModel != nil, !separate { throw ValidationError("--stem-model needs --separate") }
        // The table and CSV give tags only; saying so beats ignoring the flag.
        if allScores, format != .jsonl { throw ValidationError("--all-scores needs --format jsonl") }
        try requireOption(stemGateDB, "--stem-gate-db", in: -200...0)
        try requireOption(rmsThresholdDB, "--rms-threshold-db", in: -200...0)
        if let shard, Shard(shard) == nil { throw ValidationError("--shard must be K/N with 0 ≤ K < N ≤ \(Shard.maxCount) (got \(shard))") }
    }

    func run() throws {
        let modelFile = try reportingErrors { try model.load() }
        let network = try reportingErrors { try modelFile.makeModel() }
        var options = TagOptions()
        options.topK = topK
        (options.threshold, options.classThresholds) = modelFile.decisionThresholds(override: threshold)
        options.hopSeconds = hopSeconds
        options.workers = workers.count
        let features = modelFile.features
        var settings = features.settings
        if let rmsThresholdDB { settings.rmsThresholdDB = rmsThresholdDB }
        let tagger = Tagger(model: network, settings: settings, classCodes: features.classCodes, classNames: features.classNames, options: options)

        var failures = 0
        let formatter = TagFormatter(format: format, timeline: timeline, pathWidth: 0,
                                     scoreCodes: allScores ? modelFile.features.classCodes : nil)
        var files: [(url: URL, path: String)] = []
        for path in paths {
            let url = URL(fileURLWithPath: path)
            let status = FileSystemName.status(of: path)
            if !status.exists {
                report(path: path, reason: "no such file or folder", formatter: formatter)
                failures += 1
            } else if status.isFolder {
                let found = AudioFileFinder.audioFiles(under: url)
                if found.isEmpty {
                    report(path: path, reason: "no audio files in this folder", formatter: formatter)
                    failures += 1
                }
                files += found.map { ($0, (path as NSString).appendingPathComponent(AudioFileFinder.relativePath(of: $0, to: url))) }
            } else {
                files.append((url, path))
            }
        }
        if let shard = shard.flatMap(Shard.init) { files = files.filter { shard.contains($0.path) } }
        let output = TagFormatter(format: formatter.format, timeline: timeline, pathWidth: min(60, files.map(\.path.count).max() ?? 4),
                                  scoreCodes: formatter.scoreCodes)
        if let header = output.header, !files.isEmpty { ResultOutput.line(header) }
        let bar = ProgressBar(total: files.count, unit: "files")
        var done = 0, seconds = 0.0
        let tagFiles: ([(url: URL, path: String)], (Result<FileTags, FileError>) -> Void) -> Void
        if separate {
            let separatorFile = try reportingErrors { try SeparatedTagging.loadSeparator(separatorModel) }
            let separator = BlockSeparator(model: separatorFile, blockSeconds: 60)
            separator.inputGain = inputGain.choice
            let stemTagger = try reportingErrors {
                let stemClassifier = try SeparatedTagging.loadStemClassifier(stemModel, classifier: modelFile)
                return try SeparatedTagging.stemTagger(stemClassifier, network: stemModel == nil ? network : nil, options: options, threshold: threshold, stemThreshold: stemThreshold, rmsThresholdDB: rmsThresholdDB)
            }
            tagFiles = { files, result in
                for file in files { result(SeparatedTagging.tag(file, separator: separator, tagger: stemTagger, gateDB: stemGateDB)) }
            }
        } else {
            tagFiles = { files, result in tagger.tag(files, result: result) }
        }
        let plots = try plot.map { folder in
            try reportingErrors { try PlotFolder(folder: URL(fileURLWithPath: folder), classCodes: features.classCodes, classNames: features.classNames) }
        }
        tagFiles(files) { outcome in
            done += 1
            switch outcome {
            case .success(let tags):
                seconds += tags.duration
                bar.clear()
                ResultOutput.line(output.format(tags))
                if let plots { plots.write(tags) }
            case .failure(let error):
                failures += 1
                bar.clear()
                report(path: error.path, reason: error.reason, formatter: output)
            }
            bar.update(done: done, detail: String(format: "%.0f s of audio", seconds), rate: (Int(seconds), "audio s"))
        }
        bar.clear()
        if failures > 0 { throw ExitCode(2) }
    }

    /// Separates one file into a temporary folder, tags each stem and merges their tags.
    private func report(path: String, reason: String, formatter: TagFormatter) {
        Terminal.printError("timbre: \(path): \(reason)")
        if let line = formatter.failure(path: path, reason: reason) { ResultOutput.line(line) }
    }
}

/// Where `tag --plot` writes its pictures: `NAME.svg` after each file's name, with a
/// number added when two files share a name. A picture that cannot be written is reported
/// and the run goes on.
private final class PlotFolder {
    let folder: URL
    let classCodes: [String], classNames: [String]
    private var used = Set<String>()

    init(folder: URL, classCodes: [String], classNames: [String]) throws {
        try OutputPath.checkFolder(folder)
        try FileSystemName.makeFolders(folder.path)
        self.folder = folder
        self.classCodes = classCodes
        self.classNames = classNames
    }

    func write(_ tags: FileTags) {
        let base = FileName.withoutExtension(tags.path)
        var name = base + ".svg", number = 1
        while !used.insert(name).inserted {
            number += 1
            name = "\(base)-\(number).svg"
        }
        let svg = TimelinePlot.picture(of: tags, classCodes: classCodes, classNames: classNames).svg()
        do {
            try FileSystemName.write(Data(svg.utf8), atomicallyTo: folder.appendingPathComponent(name).path)
        } catch {
            Terminal.printError("timbre: \(folder.appendingPathComponent(name).path): cannot write the plot (\(ErrorDescription.line(error)))")
        }
    }
}
