import ArgumentParser
import Foundation
import TimbreConsole
import TimbreCore
import TimbreSeparation
import TimbreStore
import TimbreTraining

/// Reads a user's HDF5 file (a model, a separator, a feature file) in a child process
/// before the command reads it itself. libhdf5 trusts what a file says about its own
/// structure, and a damaged or crafted file can make it crash; in the child, a crash costs
/// one line naming the file instead of the whole run.
enum FileProbe {
    enum Kind: String, CaseIterable, ExpressibleByArgument {
        case model, separator, features
    }

    /// Set in the child's environment by tests: the child aborts after opening the file,
    /// as a crash inside libhdf5 would.
    static let faultVariable = "TIMBRE_PROBE_FAULT"

    /// Throws `FileError` when the child could not read `path` as `kind`: the reason it gave,
    /// or the signal that ended it. Runs nothing when the running binary cannot be found
    /// (the command's own read then reports what it finds).
    static func check(_ path: String, as kind: Kind) throws {
        guard let executable = ResourceFolders.runningExecutable else { return }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["probe-file", "--kind", kind.rawValue, "--", path]
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationReason == .uncaughtSignal {
            throw FileError(path: path, reason: "libhdf5 crashed reading it (signal \(process.terminationStatus)); the file is damaged or was not written by Timbre")
        }
        guard process.terminationStatus == 0 else {
            let reason = String(decoding: message, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            throw FileError(path: path, reason: reason.isEmpty ? "cannot be read" : reason)
        }
    }

    /// Probes every path, stopping at the first that fails.
    static func check(_ paths: [String], as kind: Kind) throws {
        for path in paths { try check(path, as: kind) }
    }
}

/// The child side of `FileProbe`: reads the file completely as the parent will, then
/// exits 0, or prints the reason (without the path) and exits 1.
struct ProbeFileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe-file", abstract: "Read a model or feature file in isolation (used by timbre itself).", shouldDisplay: false)

    @Option var kind: FileProbe.Kind
    @Argument var path: String

    func run() throws {
        let url = URL(fileURLWithPath: path)
        do {
            switch kind {
            case .model: _ = try ModelFile.read(from: url)
            case .separator: _ = try SeparatorModel.read(from: url)
            case .features:
                let reader = try FeatureFileReader(url: url)
                if reader.count > 0 { _ = try reader.mel(at: 0); _ = try reader.mel(at: reader.count - 1) }
            }
        } catch let error as FileError {
            Terminal.printError(error.reason)
            throw ExitCode.failure
        } catch {
            Terminal.printError(ErrorDescription.line(error))
            throw ExitCode.failure
        }
        if ProcessInfo.processInfo.environment[FileProbe.faultVariable] != nil { abort() }
    }
}
