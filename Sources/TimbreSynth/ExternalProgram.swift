import Foundation
import TimbreCore

/// Runs a renderer that lives in its own program (Festival, the Synthesis ToolKit), with
/// nothing on its standard input and its output discarded, and stops it if it hangs.
enum ExternalProgram {
    /// Seconds a render may take; far more than any take needs.
    static let timeout = 120.0

    /// The program's exit status (−1 if it had to be stopped).
    static func run(_ program: String, _ arguments: [String], in folder: URL? = nil) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = folder }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            finished.wait()
            return -1
        }
        return process.terminationStatus
    }
}
