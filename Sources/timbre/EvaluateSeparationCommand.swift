import ArgumentParser
import Foundation
import TimbreConsole
import TimbreCore
import TimbreEvaluation

/// `timbre evaluate-separation`: SDR, SIR, SAR and ISR of separated stems, as museval computes them.
struct EvaluateSeparationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-separation",
        abstract: "Score separated stems against reference stems with BSSEval v4 (museval's metrics).",
        discussion: """
            Both folders hold <track>/<stem>.wav (any format libsndfile reads); a track's \
            reference stems say what is scored, and a file named mixture is not a stem. Prints \
            the median over each track's windows, then over tracks, of SDR, SIR, SAR and ISR per \
            stem, next to two baselines on the same references: the mixture (the references' \
            sum) as the estimate, and the oracle ideal ratio mask. A track that cannot be scored \
            is reported in one line and the others are scored (exit status 2; 1 when no \
            track could be scored).
            """
    )

    @Argument(help: "Folder of estimated stems, one subfolder per track.")
    var estimates: String

    @Argument(help: "Folder of reference stems, one subfolder per track.")
    var references: String

    @Option(help: "Folder for metrics.json and windows.csv.")
    var report: String?

    @Option(help: "Window length in seconds (museval: 1).")
    var windowSeconds: Double = 1

    @Option(help: "Hop between windows in seconds (museval: 1).")
    var hopSeconds: Double = 1

    @Flag(help: "Skip the mixture and oracle-mask baselines.")
    var noBaselines = false

    func validate() throws {
        guard windowSeconds.isFinite, windowSeconds > 0, windowSeconds <= 30, hopSeconds.isFinite, hopSeconds > 0, hopSeconds <= 30 else {
            throw ValidationError("--window-seconds and --hop-seconds must be above 0 and at most 30")
        }
    }

    func run() throws {
        let referenceRoot = URL(fileURLWithPath: references), estimateRoot = URL(fileURLWithPath: estimates)
        if let report { try reportingErrors { try OutputPath.checkFolder(URL(fileURLWithPath: report)) } }
        let trackNames = try reportingErrors { () -> [String] in
            for root in [referenceRoot, estimateRoot] {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw FileError(path: root.path, reason: "no such folder")
                }
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: referenceRoot.path).filter { name in
                var isDirectory: ObjCBool = false
                return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: referenceRoot.appendingPathComponent(name).path, isDirectory: &isDirectory)
                    && isDirectory.boolValue
            }.sorted()
            guard !names.isEmpty else { throw FileError(path: referenceRoot.path, reason: "no track folders") }
            return names
        }
        var evaluation = SeparationEvaluation(windowSeconds: windowSeconds, hopSeconds: hopSeconds)
        var failures = 0
        for name in trackNames {
            do {
                let track = try SeparationTrack(name: name, references: referenceRoot.appendingPathComponent(name),
                                                estimates: estimateRoot.appendingPathComponent(name))
                for note in track.notes { Terminal.printError("timbre: \(note)") }
                do {
                    try evaluation.add(track, baselines: !noBaselines)
                } catch let error as FileError {
                    throw FileError(path: referenceRoot.appendingPathComponent(name).path, reason: error.reason)
                } catch {
                    throw FileError(path: referenceRoot.appendingPathComponent(name).path, reason: ErrorDescription.line(error))
                }
                Terminal.printError("scored \(name)")
            } catch let unscorable as SeparationTrack.UnscorableEstimates {
                for problem in unscorable.problems { Terminal.printError("timbre: " + ErrorDescription.line(problem)) }
                failures += 1
            } catch {
                Terminal.printError("timbre: " + ErrorDescription.line(error))
                failures += 1
            }
        }
        guard !evaluation.tracks.isEmpty else { throw ExitCode.failure }
        ResultOutput.lines(evaluation.table())
        if let folder = report {
            try reportingErrors { try evaluation.write(to: URL(fileURLWithPath: folder)) }
            ResultOutput.lines("\nwrote \(folder)/metrics.json, windows.csv")
        }
        if failures > 0 { throw ExitCode(2) }
    }
}
