import ArgumentParser
import Foundation
import TimbreNN
import TimbreCore
import TimbreConsole

@main
struct Timbre: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timbre",
        abstract: "Recognise musical instruments in audio.",
        discussion: """
            Progress goes to standard error, results to standard output. Exit status: 0 all done, \
            1 usage or fatal error, 2 finished but some inputs failed, 130 interrupted.
            """,
        version: VersionReport.text,
        subcommands: [TagCommand.self, SynthCommand.self, PrepareCommand.self, TrainCommand.self, EvaluateCommand.self, EvaluateSeparationCommand.self, TrainSeparatorCommand.self, SeparateCommand.self, CombineSeparatorsCommand.self, GroupStemsCommand.self, MergeCommand.self, InfoCommand.self, ClassesCommand.self, CalibrateCommand.self, ProbeFileCommand.self]
    )

    /// Parses and runs; usage errors exit with status 1 (DESIGN.md), not ArgumentParser's 64.
    static func main() {
        // Before anything else: an OpenBLAS that took this CPU for an old one is loaded again.
        BLASCore.runAgainIfFallenBack()
        do {
            // Arguments decoded from their bytes, so a file name that is not UTF-8 still opens.
            var command = try parseAsRoot(Array(FileSystemName.arguments.dropFirst()))
            try command.run()
            if !resultsWereWritten() { Foundation.exit(ExitCode.failure.rawValue) }
        } catch {
            if exitCode(for: error) == .validationFailure {
                // The usage text spans lines on purpose; the values quoted in it are escaped.
                Terminal.writeError(Terminal.escapingControls(fullMessage(for: error), keepingNewlines: true) + "\n")
                Foundation.exit(ExitCode.failure.rawValue)
            }
            if !resultsWereWritten() { Foundation.exit(ExitCode.failure.rawValue) }
            exit(withError: error)
        }
    }
}

/// Runs a command body, turning errors into one `timbre: ...` line and exit status 1.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        Terminal.printError("timbre: " + ErrorDescription.line(error))
        throw ExitCode.failure
    }
}

/// Results or messages that could not be written (a full disk, a closed pipe, a read-only
/// file behind a redirection) make the run fail instead of ending with status 0.
/// Says so on standard error when the results were not.
func resultsWereWritten() -> Bool {
    guard fflush(nil) != 0 || ResultOutput.failureReason != nil else { return Terminal.errorFailureReason == nil }
    Terminal.printError("timbre: standard output: cannot write the results (\(ResultOutput.failureReason ?? String(cString: strerror(errno)).lowercased()))")
    return false
}
