import Foundation
import Testing
import TimbreAudio
import TimbreStore

/// Runs the built `timbre` executable, as a user would.
struct TimbreProcess {
    static let executable: URL = {
        // The test runner lives in the same build products folder as `timbre`.
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return products.appendingPathComponent("timbre")
    }()

    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func start(_ arguments: [String]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    static func run(_ arguments: [String]) throws -> Output {
        let (process, out, err) = try start(arguments)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

private func makeFolder() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-cli-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func writeTone(_ url: URL, seconds: Double, frequency: Double) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let samples = (0..<Int(seconds * 44_100)).map { Float(0.3 * sin(2 * Double.pi * frequency * Double($0) / 44_100)) }
    try AudioFileWriter.write(samples, sampleRate: 44_100, to: url)
}

@Suite(.serialized) struct CommandLineTests {
    @Test func helpListsPrepare() throws {
        let result = try TimbreProcess.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("prepare"))
    }

    @Test func usageErrorsExitWithStatusOne() throws {
        let result = try TimbreProcess.run(["prepare", "somewhere"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("--output"))
        let badLayout = try TimbreProcess.run(["prepare", "x", "-o", "y.h5", "--layout", "nonsense"])
        #expect(badLayout.status == 1)
        #expect(badLayout.stderr.contains("unknown layout 'nonsense'"))
    }

    @Test func aMissingInputIsAFatalErrorWithOneLine() throws {
        let result = try TimbreProcess.run(["prepare", "/no/such/folder", "-o", makeFolder().appendingPathComponent("f.h5").path])
        #expect(result.status == 1)
        #expect(result.stderr == "timbre: /no/such/folder: no such file or folder\n")
    }

    @Test func aCorruptFileIsReportedOnceAndTheRunExitsWithTwo() throws {
        let data = makeFolder()
        try writeTone(data.appendingPathComponent("violin/ok.wav"), seconds: 3, frequency: 660)
        try Data("not audio at all".utf8).write(to: data.appendingPathComponent("violin/broken.flac"))
        let output = makeFolder().appendingPathComponent("f.h5")
        let result = try TimbreProcess.run(["prepare", data.path, "-o", output.path])
        #expect(result.status == 2)
        let errorLines = result.stderr.split(separator: "\n")
        #expect(errorLines.count == 1)
        #expect(errorLines.first?.hasPrefix("timbre: \(data.path)/violin/broken.flac: cannot decode") == true)
        #expect(result.stdout.contains("1 clips from 1 of 2 files"))
        #expect(try FeatureFileReader(url: output).count == 1)
    }

    @Test func killedMidRunKeepsTheOldFileAndTheNextRunResumes() throws {
        let data = makeFolder()
        for n in 0..<40 { try writeTone(data.appendingPathComponent("trumpet/\(n).wav"), seconds: 12, frequency: 400 + Double(n)) }
        let output = makeFolder().appendingPathComponent("features.h5")
        // A good file from an earlier run sits at the destination.
        let small = makeFolder()
        try writeTone(small.appendingPathComponent("trumpet/old.wav"), seconds: 3, frequency: 500)
        #expect(try TimbreProcess.run(["prepare", small.path, "-o", output.path]).status == 0)
        let before = try Data(contentsOf: output)

        let (process, _, _) = try TimbreProcess.start(["prepare", data.path, "-o", output.path, "-j", "1"])
        Thread.sleep(forTimeInterval: 1.0)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let after = try Data(contentsOf: output)
        if after != before {
            // Only possible if the run had already finished; then the file must be whole.
            #expect(try FeatureFileReader(url: output).count == 160)
        }

        let resumed = try TimbreProcess.run(["prepare", data.path, "-o", output.path])
        #expect(resumed.status == 0)
        #expect(try FeatureFileReader(url: output).count == 160)
        let fresh = makeFolder().appendingPathComponent("fresh.h5")
        #expect(try TimbreProcess.run(["prepare", data.path, "-o", fresh.path]).status == 0)
        let a = try FeatureFileReader(url: output), b = try FeatureFileReader(url: fresh)
        #expect(a.sources == b.sources && a.offsets == b.offsets)
        for index in stride(from: 0, to: a.count, by: 7) { #expect(try a.mel(at: index) == b.mel(at: index)) }
    }
}

@Suite(.serialized) struct TrainEvaluateCommandTests {
    @Test func prepareTrainAndEvaluateEndToEnd() throws {
        let data = makeFolder()
        for (folder, base) in [("flute", 880.0), ("organ", 220.0), ("cello", 110.0)] {
            for take in 0..<4 { try writeTone(data.appendingPathComponent("\(folder)/\(take).wav"), seconds: 6, frequency: base * (1 + Double(take) * 0.05)) }
        }
        let work = makeFolder()
        let features = work.appendingPathComponent("features.h5").path
        let model = work.appendingPathComponent("model.h5").path
        #expect(try TimbreProcess.run(["prepare", data.path, "-o", features]).status == 0)
        let train = try TimbreProcess.run(["train", features, "-o", model, "--epochs", "2", "--validation-fraction", "0.25", "--hidden", "16"])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("wrote \(model): best epoch"))
        #expect(train.stderr.contains("epoch 2/2"))
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("model.checkpoint.h5").path))

        let report = work.appendingPathComponent("report")
        let evaluate = try TimbreProcess.run(["evaluate", "--model", model, features, "--report", report.path])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        #expect(evaluate.stdout.contains("24 clips  top-1 error"))
        let csv = try String(contentsOf: report.appendingPathComponent("confusion.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("true\\predicted,cel,cla,flu,"))
        let counts = csv.split(separator: "\n").dropFirst().flatMap { $0.split(separator: ",").dropFirst().compactMap { Int($0) } }
        #expect(counts.reduce(0, +) == 24)
        #expect(FileManager.default.fileExists(atPath: report.appendingPathComponent("confusion.svg").path))

        // The same model on the audio folder prepares features with the model's settings.
        let fromAudio = try TimbreProcess.run(["evaluate", "--model", model, data.path])
        #expect(fromAudio.status == 0)
        #expect(fromAudio.stdout.contains("24 clips  top-1 error"))
    }

    @Test func evaluateExplainsMissingPieces() throws {
        // Without --model the bundled model is used; the data must still exist.
        let noData = try TimbreProcess.run(["evaluate", "/nonexistent/features.h5"])
        #expect(noData.status == 1)
        #expect(noData.stderr == "timbre: /nonexistent/features.h5: no such file or folder\n")
        let notAModel = makeFolder().appendingPathComponent("x.h5")
        try Data("nope".utf8).write(to: notAModel)
        let bad = try TimbreProcess.run(["evaluate", "--model", notAModel.path, "/tmp"])
        #expect(bad.status == 1)
        #expect(bad.stderr == "timbre: \(notAModel.path): not an HDF5 file\n")
    }
}
