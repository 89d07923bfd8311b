import ArgumentParser
import Foundation
import TimbreCore
import TimbreConsole
import TimbreDatasets
import TimbreEvaluation
import TimbreModel
import TimbrePrepare
import TimbreSeparation
import TimbreTagging
import TimbreTraining

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model on a feature file or a folder of labelled audio.",
        discussion: """
            Prints top-1 error, accuracy, macro and micro F1, the confusion matrix, per-class \
            precision/recall/F1/support and per-family accuracy; clips with several classes are \
            scored as multi-label (F1 at --threshold, label-ranking average precision). With \
            --report DIR, writes confusion.csv, confusion.svg and .pdf, predictions.csv (every clip's \
            probabilities) and metrics.json there.

            Examples:
              timbre evaluate --model model.h5 test.h5 --report report/
              timbre evaluate IRMAS-TestingData --report report/ --normalize
            """
    )

    @OptionGroup var model: ModelOption

    @Argument(help: "A feature file, or a folder of audio in a supported layout.")
    var data: String

    @Option(help: "Folder for confusion.csv, confusion.svg, confusion.pdf, predictions.csv and metrics.json.")
    var report: String?

    @Option(help: "Probability at or above which a class counts as present in multi-label clips (default: the per-class thresholds chosen on validation data when the model was trained, else 0.5).")
    var threshold: Double?

    @OptionGroup var layout: LayoutOption

    @Flag(help: "Show each row's shares in percent in the confusion matrix picture instead of counts.")
    var normalize = false

    @Flag(help: "MedleyDB mixes: also separate each mix, tag its stems and report multi-label F1 and LRAP of the mix clips with and without separation.")
    var separate = false

    @Option(help: "Separator model for --separate (default: the bundled separator).")
    var separatorModel: String?

    @Option(help: "With --separate: the classifier for the stems, as in tag --separate (default: the classifier of --model).")
    var stemModel: String?

    @Option(help: "With --separate: the least probability at which a stem's class is reported, as in tag --separate.")
    var stemThreshold = 0.5

    @Option(help: "With --separate: a stem's window this many dB under the mix's is what other stems leaked into it, and gives no tag.")
    var stemGateDB = SeparatedTagging.defaultGateDB

    @OptionGroup var inputGain: InputGainOption

    @Flag(help: "With --separate: tag each song's own stems, summed into the separator's four targets (labels/separation-groups.csv), instead of separating its mix: what a perfect separator would give this classifier.")
    var oracleStems = false

    func validate() throws {
        try requireOption(threshold, "--threshold", in: 0...1)
        try requireOption(stemThreshold, "--stem-threshold", in: 0...1)
        if stemModel != nil, !separate { throw ValidationError("--stem-model needs --separate") }
        if oracleStems, !separate { throw ValidationError("--oracle-stems needs --separate") }
        if oracleStems, separatorModel != nil { throw ValidationError("--oracle-stems uses the songs' own stems, not --separator-model") }
        try requireOption(stemGateDB, "--stem-gate-db", in: -200...0)
    }

    func run() throws {
        if let report { try reportingErrors { try OutputPath.checkFolder(URL(fileURLWithPath: report)) } }
        let report = try reportingErrors { () -> EvaluationReport in
            let modelFile = try model.load()
            let (threshold, classThresholds) = modelFile.decisionThresholds(override: self.threshold)
            let families = modelFile.features.classCodes.map { code in
                Taxonomy.standard.index(of: code).map { Taxonomy.standard.classes[$0].family } ?? "other"
            }
            let dataURL = URL(fileURLWithPath: data)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dataURL.path, isDirectory: &isDirectory) else {
                throw TrainingError("\(data): no such file or folder")
            }
            guard isDirectory.boolValue else {
                if separate { throw TrainingError("\(data): --separate needs the folder of MedleyDB songs, not a feature file") }
                try FileProbe.check(data, as: .features)
                var report = try Evaluator.evaluate(model: modelFile, features: dataURL, families: families, threshold: threshold, classThresholds: classThresholds,
                                                    reportSkipped: { Terminal.printError("timbre: \(data): \($0)") })
                report.provenance = try provenance(layouts: ["features"], threshold: threshold, perClass: classThresholds != nil)
                return report
            }
            // An audio folder: features first, made exactly as the model's were.
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-evaluate-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            var options = PrepareOptions(inputs: [dataURL], output: scratch.appendingPathComponent("features.h5"))
            options.layout = layout.layout.layout
            options.settings = modelFile.features.settings
            let summary = try Preparer(options: options).run(failure: { Terminal.printError("timbre: \($0)") })
            Terminal.printError("prepared \(summary.counts.clipsKept) clips from \(data) (\(summary.parts.map(\.description).joined(separator: ", ")))")
            for note in summary.notes { Terminal.printError("  note: \(note)") }
            var report = try Evaluator.evaluate(model: modelFile, features: options.output, families: families, threshold: threshold, classThresholds: classThresholds,
                                                reportSkipped: { Terminal.printError("timbre: \($0)") })
            report.provenance = try provenance(layouts: summary.layouts, threshold: threshold, perClass: classThresholds != nil)
            if separate { report.separation = try separationComparison(report, model: modelFile, root: dataURL) }
            return report
        }
        ResultOutput.lines(report.table())
        if let folder = self.report {
            try reportingErrors { try report.write(to: URL(fileURLWithPath: folder), normalized: normalize) }
            ResultOutput.lines("\nwrote \(folder)/metrics.json, predictions.csv" + (report.single != nil ? ", confusion.csv, confusion.svg, confusion.pdf" : ""))
        }
    }

    /// Multi-label F1 and LRAP of the mix clips (`*_MIX.*` files) as the mixes are tagged,
    /// and as `tag --separate` tags them: each mix separated, its stems tagged and merged,
    /// each clip matched to the timeline window that starts where it does.
    private func separationComparison(_ report: EvaluationReport, model modelFile: ModelFile, root: URL) throws -> EvaluationReport.SeparationComparison {
        let mixClips = report.predictions.filter { !$0.truth.isEmpty && FileName.withoutExtension($0.source).uppercased().hasSuffix("_MIX") }
        guard !mixClips.isEmpty else { throw TrainingError("\(data): --separate found no labelled clips of MedleyDB mixes (*_MIX.wav)") }
        let classes = report.classCodes.count
        let (threshold, classThresholds) = modelFile.decisionThresholds(override: self.threshold)
        let stemClassifier = try SeparatedTagging.loadStemClassifier(stemModel, classifier: modelFile)
        let tagger = try SeparatedTagging.stemTagger(stemClassifier, options: TagOptions(), threshold: self.threshold, stemThreshold: stemThreshold)
        let separator = oracleStems ? nil : BlockSeparator(model: try SeparatedTagging.loadSeparator(separatorModel), blockSeconds: 60)
        separator?.inputGain = inputGain.choice
        var windows: [String: [WindowTags]] = [:]
        for source in Set(mixClips.map(\.source)).sorted() {
            let file = (url: root.appendingPathComponent(source), path: source)
            let tagged: Result<FileTags, FileError>
            if let separator {
                Terminal.printError("separating \(source)")
                tagged = SeparatedTagging.tag(file, separator: separator, tagger: tagger, gateDB: stemGateDB)
            } else {
                Terminal.printError("grouping the stems of \(source)")
                tagged = SeparatedTagging.tag(file, tagger: { tagger }, gateDB: stemGateDB) { folder in
                    try MultitrackLibrary.writeGroupedStems(try Self.song(of: file.url), to: folder, mixture: false)
                    return SeparationStem.allCases
                }
            }
            switch tagged {
            case .success(let tags): windows[source] = tags.timeline
            case .failure(let error): throw error
            }
        }
        var scores: [Float] = [], decisions: [Set<Int>] = [], plain: [Float] = []
        for clip in mixClips {
            let window = windows[clip.source]?.first { abs($0.start - Double(clip.offset)) < 1e-3 }
            let windowScores = window?.scores.count == classes ? window!.scores.map(Float.init) : [Float](repeating: 0, count: classes)
            scores += windowScores
            decisions.append(Set((window?.tags ?? []).compactMap { tag in report.classCodes.firstIndex(of: tag.code) }))
            plain += clip.probabilities
        }
        let truth = mixClips.map { Set($0.truth) }
        return EvaluationReport.SeparationComparison(
            songs: windows.count, stems: oracleStems ? .oracle : .separated,
            without: MultiLabelMetrics(probabilities: plain, truth: truth, classes: classes, threshold: threshold, classThresholds: classThresholds),
            with: MultiLabelMetrics(scores: scores, decisions: decisions, truth: truth, classes: classes, threshold: threshold, classThresholds: classThresholds))
    }

    /// The MedleyDB song whose mix is `mix` (`<Song>/<Song>_MIX.*`).
    private static func song(of mix: URL) throws -> MultitrackLibrary.Entry {
        let folder = mix.deletingLastPathComponent()
        guard let song = try MultitrackLibrary.find(folder).first(where: { $0.layout == .medleyDB && $0.folder == folder }) else {
            throw FileError(path: mix.path, reason: "--oracle-stems needs the mix in its song's folder, beside <Song>_METADATA.yaml")
        }
        return song
    }

    /// The model (path, CRC-32 and size), data, layouts, threshold, version and date behind
    /// a report.
    private func provenance(layouts: [String], threshold: Double, perClass: Bool) throws -> EvaluationReport.Provenance {
        let modelURL = model.url ?? BundledModel.url
        let bytes = try modelURL.map { try Data(contentsOf: $0) } ?? Data()
        return EvaluationReport.Provenance(
            model: modelURL?.standardizedFileURL.path ?? "bundled", modelCRC32: String(format: "%08x", BundledResource.checksum(of: bytes)),
            modelBytes: bytes.count, data: [URL(fileURLWithPath: data).standardizedFileURL.path], layouts: layouts,
            threshold: perClass && self.threshold == nil ? "per-class" : String(threshold), timbreVersion: VersionReport.version, date: Date())
    }
}
