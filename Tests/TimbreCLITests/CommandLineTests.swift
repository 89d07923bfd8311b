import Foundation
import Testing
import TimbreAudio
import TimbreStore
import TimbreCore
import TimbreModel
import TimbreSeparation
import TimbreTraining
import TimbreTestSupport

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

    /// Starts `timbre ARGUMENTS` (or `program`'s) with `environment` added to this
    /// process's, in `folder` when one is given.
    static func start(_ arguments: [String], environment: [String: String] = [:], program: URL = executable, in folder: URL? = nil) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        process.currentDirectoryURL = folder
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    /// `mpirun -np 2 timbre ARGUMENTS` with one engine thread per rank; the status and
    /// both streams together.
    static func runOnTwoRanks(_ arguments: [String]) throws -> (status: Int32, log: String) {
        let mpirun = Process()
        mpirun.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        mpirun.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "2", executable.path] + arguments
        // Shared-memory copies through ptrace are refused in some containers; plain copies work everywhere.
        mpirun.environment = ProcessInfo.processInfo.environment.merging(["TIMBRE_THREADS": "1", "OMPI_MCA_btl_vader_single_copy_mechanism": "none"]) { $1 }
        let output = Pipe()
        mpirun.standardOutput = output
        mpirun.standardError = output
        try mpirun.run()
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        mpirun.waitUntilExit()
        return (mpirun.terminationStatus, log)
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], program: URL = executable, in folder: URL? = nil) throws -> Output {
        let (process, out, err) = try start(arguments, environment: environment, program: program, in: folder)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// ‖a − b‖ / ‖a‖.
private func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
    var difference = 0.0, norm = 0.0
    for (x, y) in zip(a, b) { difference += Double(x - y) * Double(x - y); norm += Double(x) * Double(x) }
    return (difference / norm).squareRoot()
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
        #expect(badLayout.stderr.contains("The value 'nonsense' is invalid for '--layout <layout>'"))
        // Every command's choices are checked the same way, never read as a default.
        for arguments in [["evaluate", "x", "--layout", "nonsense"], ["tag", "x", "--format", "json"], ["synth", "-o", "x", "--split", "test"]] {
            let result = try TimbreProcess.run(arguments)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.contains("is invalid for"), "\(arguments): \(result.stderr)")
        }
    }

    @Test func versionNamesTheCommitTheKernelsAndTheLibraries() throws {
        let result = try TimbreProcess.run(["--version"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("timbre 0.") == true)
        for prefix in ["network kernels: ", "libsndfile: libsndfile-1.", "libsamplerate: ", "FFTW: fftw-3.", "OpenBLAS: OpenBLAS 0.", "HDF5: 1.", "FluidSynth: 2.", "zlib: 1."] {
            #expect(lines.contains { $0.hasPrefix(prefix) }, "\(prefix) in \(result.stdout)")
        }
    }

    /// On a CPU with AVX2 or AVX-512 the matrix products never run on OpenBLAS's SSE3
    /// fallback, which it picks for processors newer than itself; a core the user names stays.
    @Test func openBLASRunsOnTheCoreTheCPUCanRun() throws {
        func core(_ environment: [String: String]) throws -> String? {
            let version = try TimbreProcess.run(["--version"], environment: environment)
            // "OpenBLAS: <config> (core NAME)"
            let line = version.stdout.split(separator: "\n").first { $0.hasPrefix("OpenBLAS: ") && $0.contains("(core ") }
            return line?.components(separatedBy: "(core ").last?.replacingOccurrences(of: ")", with: "")
        }
        let flags = cpuFlags()
        guard flags.isSuperset(of: ["avx2", "fma"]) else { return }
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {
            let chosen = try #require(try core([:]))
            #expect(chosen.lowercased() != "prescott", "OpenBLAS core \(chosen)")
        }
        #expect(try core(["OPENBLAS_CORETYPE": "Haswell"]) == "Haswell")
    }

    @Test func anInstalledBinaryFindsItsModelsInShareTimbre() throws {
        let prefix = scratchFolder("cli")
        let products = TimbreProcess.executable.deletingLastPathComponent()
        let share = prefix.appendingPathComponent("share/timbre")
        try FileManager.default.createDirectory(at: prefix.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: products.appendingPathComponent("timbre"), to: prefix.appendingPathComponent("bin/timbre"))
        for name in ["Timbre_TimbreModel.resources", "Timbre_TimbreLabels.resources"] {
            try FileManager.default.copyItem(at: products.appendingPathComponent(name), to: share.appendingPathComponent(name))
        }
        let audio = scratchFolder("cli").appendingPathComponent("a.wav")
        try writeTone(audio, seconds: 3, frequency: 440)
        let process = Process()
        process.executableURL = prefix.appendingPathComponent("bin/timbre")
        process.arguments = ["tag", audio.path, "--format", "csv"]
        process.currentDirectoryURL = scratchFolder("cli")
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(message)")
        #expect(text.contains("a.wav"), "\(text)")
        // Without the share folder the binary says what is missing, in one line.
        try FileManager.default.removeItem(at: share.appendingPathComponent("Timbre_TimbreModel.resources"))
        let bare = Process()
        bare.executableURL = prefix.appendingPathComponent("bin/timbre")
        bare.arguments = ["tag", audio.path]
        let bareErrors = Pipe()
        bare.standardError = bareErrors
        bare.standardOutput = Pipe()
        try bare.run()
        let bareMessage = String(decoding: bareErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bare.waitUntilExit()
        #expect(bare.terminationStatus == 1)
        #expect(bareMessage.contains("PREFIX/share/timbre"), "\(bareMessage)")
    }

    @Test func aMissingInputIsAFatalErrorWithOneLine() throws {
        let result = try TimbreProcess.run(["prepare", "/no/such/folder", "-o", scratchFolder("cli").appendingPathComponent("f.h5").path])
        #expect(result.status == 1)
        #expect(result.stderr == "timbre: /no/such/folder: no such file or folder\n")
    }

    @Test func aCorruptFileIsReportedOnceAndTheRunExitsWithTwo() throws {
        let data = scratchFolder("cli")
        try writeTone(data.appendingPathComponent("violin/ok.wav"), seconds: 3, frequency: 660)
        try Data("not audio at all".utf8).write(to: data.appendingPathComponent("violin/broken.flac"))
        let output = scratchFolder("cli").appendingPathComponent("f.h5")
        let result = try TimbreProcess.run(["prepare", data.path, "-o", output.path])
        #expect(result.status == 2)
        let errorLines = result.stderr.split(separator: "\n")
        #expect(errorLines.count == 1)
        #expect(errorLines.first?.hasPrefix("timbre: \(data.path)/violin/broken.flac: cannot decode") == true)
        #expect(result.stdout.contains("1 clips from 1 of 2 files"))
        #expect(try FeatureFileReader(url: output).count == 1)
    }

    @Test func killedMidRunKeepsTheOldFileAndTheNextRunResumes() throws {
        let data = scratchFolder("cli")
        for n in 0..<40 { try writeTone(data.appendingPathComponent("trumpet/\(n).wav"), seconds: 12, frequency: 400 + Double(n)) }
        let output = scratchFolder("cli").appendingPathComponent("features.h5")
        // A good file from an earlier run sits at the destination.
        let small = scratchFolder("cli")
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
        let fresh = scratchFolder("cli").appendingPathComponent("fresh.h5")
        #expect(try TimbreProcess.run(["prepare", data.path, "-o", fresh.path]).status == 0)
        let a = try FeatureFileReader(url: output), b = try FeatureFileReader(url: fresh)
        #expect(a.sources == b.sources && a.offsets == b.offsets)
        for index in stride(from: 0, to: a.count, by: 7) { #expect(try a.mel(at: index) == b.mel(at: index)) }
    }
}

/// Every input the fuzzers found a crash with (`Tests/Fuzz/HARNESS/`), and the seeds they
/// start from, replayed through the harnesses: each must now run to its end.
@Suite struct FuzzRegressionTests {
    static let replayer = TimbreProcess.executable.deletingLastPathComponent().appendingPathComponent("timbre-fuzz")

    @Test func everySavedInputRunsWithoutACrash() throws {
        let replayer = Self.replayer
        let saved = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")
        let seeds = scratchFolder("cli")
        for harness in ["audio", "irmas-labels", "medleydb-yaml", "feature-file", "model-file"] {
            let process = Process()
            process.executableURL = replayer
            process.arguments = ["seeds", harness, seeds.appendingPathComponent(harness).path]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            var inputs = [seeds.appendingPathComponent(harness).path]
            if FileManager.default.fileExists(atPath: saved.appendingPathComponent(harness).path) { inputs.append(saved.appendingPathComponent(harness).path) }
            let replay = Process()
            replay.executableURL = replayer
            replay.arguments = [harness] + inputs
            replay.standardOutput = Pipe()
            try replay.run()
            replay.waitUntilExit()
            #expect(replay.terminationStatus == 0, "\(harness) crashed on a saved input")
        }
    }

    /// The file harnesses must reach the readers' success paths, not only their refusals:
    /// the seed that changes nothing describes a file Timbre reads whole, as do all the
    /// model seeds (two classifiers and two separators).
    @Test func theCraftedFileSeedsDescribeFilesTimbreReads() throws {
        for (harness, seedsReadWhole) in [("feature-file", ["seed-0"]), ("model-file", ["seed-0", "seed-1", "seed-2", "seed-3"])] {
            let seeds = scratchFolder("cli").appendingPathComponent(harness)
            let write = Process()
            write.executableURL = Self.replayer
            write.arguments = ["seeds", harness, seeds.path]
            try write.run()
            write.waitUntilExit()
            let replay = Process(), output = Pipe()
            replay.executableURL = Self.replayer
            replay.arguments = [harness] + seedsReadWhole.map { seeds.appendingPathComponent($0).path }
            replay.standardOutput = output
            try replay.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            replay.waitUntilExit()
            #expect(text.contains("\(seedsReadWhole.count) inputs replayed without a crash, \(seedsReadWhole.count) of them read whole"), "\(harness): \(text)")
        }
    }
}

@Suite struct ClassesCommandTests {
    /// `timbre classes --csv` prints exactly labels/taxonomy.csv, the table the code reads.
    @Test func theClassListIsTheTaxonomyFile() throws {
        let result = try TimbreProcess.run(["classes", "--csv"])
        #expect(result.status == 0)
        let taxonomy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("labels/taxonomy.csv")
        let expected = try String(contentsOf: taxonomy, encoding: .utf8).split(whereSeparator: \.isNewline).map(String.init)
        #expect(result.stdout.split(separator: "\n").map(String.init) == expected)
        let table = try TimbreProcess.run(["classes"])
        #expect(table.stdout.split(separator: "\n").count == expected.count)
        #expect(table.stdout.contains("cel   cello            bowed strings"))
    }
}

@Suite struct ShardTests {
    @Test func everyKeyFallsInExactlyOneShard() {
        #expect(FNV1a.hash("a") == 0xaf63_dc4c_8601_ec8c, "64-bit FNV-1a")
        for count in [1, 2, 3, 7] {
            let shards = (0..<count).map { Shard("\($0)/\(count)")! }
            for key in (0..<200).map({ "flute/take \($0).wav" }) { #expect(shards.filter { $0.contains(key) }.count == 1) }
        }
        #expect(Shard("4/4") == nil && Shard("-1/4") == nil && Shard("1/0") == nil && Shard("x") == nil && Shard("0/100001") == nil)
    }

    /// Four shard processes and a merge give the clips of one process: the same
    /// (source, offset) set, identical log-mel, recordings grouped the same way.
    @Test func fourShardsMergedEqualOneRun() throws {
        let data = scratchFolder("cli")
        for n in 0..<12 { try writeTone(data.appendingPathComponent("\(n % 2 == 0 ? "flute" : "organ")/take \(n).wav"), seconds: 6, frequency: 300 + 37 * Double(n)) }
        let work = scratchFolder("cli")
        let whole = work.appendingPathComponent("whole.h5")
        #expect(try TimbreProcess.run(["prepare", data.path, "-o", whole.path]).status == 0)
        let shards = (0..<4).map { work.appendingPathComponent("shard-\($0).h5") }
        for (k, shard) in shards.enumerated() {
            let run = try TimbreProcess.run(["prepare", data.path, "-o", shard.path, "--shard", "\(k)/4"])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let reference = try FeatureFileReader(url: whole)
        func rows(_ reader: FeatureFileReader) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: (0..<reader.count).map { ("\(reader.sources[$0])@\(reader.offsets[$0])", $0) })
        }
        let expected = rows(reference)
        for copy in [false, true] {
            let merged = work.appendingPathComponent(copy ? "copied.h5" : "merged.h5")
            let result = try TimbreProcess.run(["merge"] + shards.map(\.path) + ["-o", merged.path] + (copy ? ["--copy"] : []))
            #expect(result.status == 0, "\(result.stderr)")
            let reader = try FeatureFileReader(url: merged)
            let got = rows(reader)
            #expect(Set(got.keys) == Set(expected.keys))
            for (key, row) in got { #expect(try reader.mel(at: row) == reference.mel(at: expected[key]!)) }
            // Same partition into recordings, whatever the ids.
            var pairs = Set<[Int32]>()
            for (key, row) in got { pairs.insert([reader.groups[row], reference.groups[expected[key]!]]) }
            #expect(Set(pairs.map { $0[0] }).count == pairs.count && Set(pairs.map { $0[1] }).count == pairs.count)
        }
    }

    @Test func tagShardsTogetherGiveTheLinesOfOneRun() throws {
        let data = scratchFolder("cli")
        for n in 0..<9 { try writeTone(data.appendingPathComponent("take \(n).wav"), seconds: 3, frequency: 200 + 50 * Double(n)) }
        let whole = try TimbreProcess.run(["tag", data.path, "--format", "jsonl"])
        #expect(whole.status == 0)
        var lines: [Substring] = []
        for k in 0..<3 { lines += try TimbreProcess.run(["tag", data.path, "--format", "jsonl", "--shard", "\(k)/3"]).stdout.split(separator: "\n") }
        #expect(lines.sorted() == whole.stdout.split(separator: "\n").sorted())
        #expect(lines.count == 9)
    }

    @Test func incompatibleShardsAreRefusedAndNothingIsWritten() throws {
        let data = scratchFolder("cli")
        try writeTone(data.appendingPathComponent("flute/a.wav"), seconds: 3, frequency: 500)
        let work = scratchFolder("cli")
        let a = work.appendingPathComponent("a.h5"), b = work.appendingPathComponent("b.h5"), merged = work.appendingPathComponent("m.h5")
        #expect(try TimbreProcess.run(["prepare", data.path, "-o", a.path]).status == 0)
        #expect(try TimbreProcess.run(["prepare", data.path, "-o", b.path, "--n-mels", "64"]).status == 0)
        let result = try TimbreProcess.run(["merge", a.path, b.path, "-o", merged.path])
        #expect(result.status == 1)
        #expect(result.stderr == "timbre: \(b.path): cannot be merged with a.h5: n_mels 64 (first: 128)\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path).sorted() == ["a.h5", "b.h5"])
    }
}

/// Inputs crafted to break the tool: each gets one line naming the file and the reason,
/// a non-zero exit where something failed, and no damage to earlier results.
@Suite struct CraftedInputTests {
    /// A 16-bit mono PCM WAV whose header claims `rate` Hz.
    private func wav(rate: UInt32, samples: Int) -> Data {
        var bytes = Data()
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        bytes.append(contentsOf: Array("RIFF".utf8)); put(UInt32(36 + 2 * samples)); bytes.append(contentsOf: Array("WAVEfmt ".utf8))
        put(UInt32(16)); put(UInt16(1)); put(UInt16(1)); put(rate); put(rate * 2); put(UInt16(2)); put(UInt16(16))
        bytes.append(contentsOf: Array("data".utf8)); put(UInt32(2 * samples))
        for n in 0..<samples { put(Int16(truncatingIfNeeded: n * 37 % 20_000 - 10_000)) }
        return bytes
    }

    @Test func aHeaderClaimingOneHertzIsRefusedNotResampledToGigabytes() throws {
        let data = scratchFolder("cli")
        try FileManager.default.createDirectory(at: data.appendingPathComponent("piano"), withIntermediateDirectories: true)
        try wav(rate: 1, samples: 66_000).write(to: data.appendingPathComponent("piano/one-hertz.wav"))
        try writeTone(data.appendingPathComponent("piano/fine.wav"), seconds: 3, frequency: 440)
        let result = try TimbreProcess.run(["prepare", data.path, "-o", scratchFolder("cli").appendingPathComponent("f.h5").path])
        #expect(result.status == 2)
        #expect(result.stderr == "timbre: \(data.path)/piano/one-hertz.wav: sample rate 1 Hz is outside 1000–768000 Hz\n")
    }

    @Test func whenEveryInputFailsTheEarlierFeatureFileIsKept() throws {
        let good = scratchFolder("cli"), bad = scratchFolder("cli")
        try writeTone(good.appendingPathComponent("flute/a.wav"), seconds: 3, frequency: 880)
        try FileManager.default.createDirectory(at: bad.appendingPathComponent("flute"), withIntermediateDirectories: true)
        try Data("not audio".utf8).write(to: bad.appendingPathComponent("flute/b.wav"))
        let output = scratchFolder("cli").appendingPathComponent("features.h5")
        #expect(try TimbreProcess.run(["prepare", good.path, "-o", output.path]).status == 0)
        let before = try Data(contentsOf: output)
        let result = try TimbreProcess.run(["prepare", bad.path, "-o", output.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("timbre: \(output.path): no clips to write (every input failed); the file was not written"))
        #expect(try Data(contentsOf: output) == before)
    }

    @Test func resultsThatCannotBeWrittenMakeTheRunFail() throws {
        let data = scratchFolder("cli")
        try writeTone(data.appendingPathComponent("a.wav"), seconds: 3, frequency: 440)
        let process = Process()
        process.executableURL = TimbreProcess.executable
        process.arguments = ["tag", data.appendingPathComponent("a.wav").path]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message == "timbre: standard output: cannot write the results (no space left on device)\n")
    }

    /// A message that cannot be written (standard error on a full device) ends the run
    /// with status 1, not with a trap.
    @Test func messagesThatCannotBeWrittenMakeTheRunFail() throws {
        let process = Process()
        process.executableURL = TimbreProcess.executable
        process.arguments = ["tag", scratchFolder("cli").appendingPathComponent("missing.wav").path]
        process.standardOutput = Pipe()
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 1)
    }

    /// An output that is one of the inputs (under any name) is refused before it is read,
    /// so the input survives.
    @Test(arguments: [["train"], ["merge"], ["calibrate"], ["calibrate", "--thresholds"]])
    func anOutputThatIsAlsoAnInputIsRefused(command: [String]) throws {
        let folder = scratchFolder("cli")
        let input = folder.appendingPathComponent("features.h5"), linked = folder.appendingPathComponent("same.h5")
        try Data("stands for a feature file".utf8).write(to: input)
        try FileManager.default.createSymbolicLink(at: linked, withDestinationURL: input)
        let arguments = command + [input.path, "-o", linked.path]
        let result = try TimbreProcess.run(arguments)
        #expect(result.status == 1)
        #expect(result.stderr == "timbre: \(linked.path): is also an input (\(input.path)); write to another file\n")
        #expect(try String(contentsOf: input, encoding: .utf8) == "stands for a feature file")
    }

    /// A named pipe given as an HDF5 file is refused at once rather than read forever.
    @Test func aNamedPipeGivenAsAModelIsRefused() throws {
        let pipe = scratchFolder("cli").appendingPathComponent("model.h5")
        #expect(mkfifo(pipe.path, 0o644) == 0)
        let result = try TimbreProcess.run(["info", pipe.path])
        #expect(result.status == 1)
        #expect(result.stderr == "timbre: \(pipe.path): not a regular file\n", "\(result.stderr)")
    }

    /// Values quoted back in a usage error are escaped like every other message.
    @Test func aUsageErrorQuotesItsValueEscaped() throws {
        let result = try TimbreProcess.run(["tag", "x.wav", "--top-k", "\u{1B}]0;title\u{07}"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\\x1B]0;title\\x07"), "\(result.stderr)")
        #expect(!result.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
    }

    @Test(arguments: [
        (["--n-fft", "0"], "--n-fft 0: must be between 16 and 65536"),
        (["--clip-seconds", "nan"], "--clip-seconds nan: must be between 0.01 and 600.0"),
        (["--hop-length", "1", "--clip-seconds", "600"], "--n-mels × frames per clip"),
        (["--sample-rate", "0"], "--sample-rate 0: must be between 1000 and 384000"),
    ])
    func absurdFeatureSettingsAreRefusedByTheParser(arguments: [String], message: String) throws {
        let result = try TimbreProcess.run(["prepare", "somewhere", "-o", "f.h5"] + arguments)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("Error: \(message)"), "\(result.stderr)")
    }

    /// Counts with no natural bound still have one: 2^31 epochs would otherwise run on
    /// (printed as a negative number), and a huge mixture size would be tried.
    @Test(arguments: [
        (["train", "f.h5", "-o", "m.h5", "--epochs", "2147483648"], "--epochs must be between 1 and 100000 (got 2147483648)"),
        (["train", "f.h5", "-o", "m.h5", "--max-mix", "99"], "--max-mix must be between 2 and 16 (got 99)"),
        (["train", "f.h5", "-o", "m.h5", "--validation-fraction", "nan"], "--validation-fraction must be at least 0 and below 1 (got nan)"),
        (["train-separator", "songs", "-o", "s.h5", "--batches-per-epoch", "0"], "--batches-per-epoch must be between 1 and 1000000 (got 0)"),
        (["separate", "song.wav", "-o", "stems", "--input-gain", "loud"], "--input-gain must be lift, match or a number of dB between -60 and 60"),
        (["tag", "--separate", "--input-gain", "nan", "song.wav"], "--input-gain must be lift, match or a number of dB between -60 and 60"),
    ])
    func unboundedCountsAreRefusedByTheParser(arguments: [String], message: String) throws {
        let result = try TimbreProcess.run(arguments)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("Error: \(message)"), "\(result.stderr)")
    }

    /// The separator to start from is read safely before any song is: a classifier or a
    /// file that is not a model is one line naming it, and the floor has nothing to start from.
    @Test func aSeparatorToStartFromIsCheckedFirst() throws {
        let folder = scratchFolder("cli")
        let notAModel = folder.appendingPathComponent("notes.h5")
        try Data("not hdf5".utf8).write(to: notAModel)
        let output = folder.appendingPathComponent("s.h5").path
        let bad = try TimbreProcess.run(["train-separator", "/nonexistent/songs", "-o", output, "--arch", "tcn", "--start-from", notAModel.path])
        #expect(bad.status == 1)
        #expect(bad.stderr.hasPrefix("timbre: \(notAModel.path): ") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        let classifier = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/TimbreModel/default-model.h5").path
        let wrongKind = try TimbreProcess.run(["train-separator", "/nonexistent/songs", "-o", output, "--arch", "tcn", "--start-from", classifier])
        #expect(wrongKind.status == 1)
        #expect(wrongKind.stderr.hasPrefix("timbre: \(classifier): ") && wrongKind.stderr.split(separator: "\n").count == 1, "\(wrongKind.stderr)")
        let floor = try TimbreProcess.run(["train-separator", "songs", "-o", output, "--arch", "floor", "--start-from", classifier])
        #expect(floor.status == 1)
        #expect(floor.stderr.hasPrefix("Error: --start-from needs a network"), "\(floor.stderr)")
    }

    /// `combine-separators` writes an ensemble that `info` lists and `separate` uses: a
    /// network joined with itself separates exactly as the network alone. An ensemble (the
    /// bundled separator) or a classifier among the inputs is one line naming it.
    @Test func combinedSeparatorsSeparateAsTheMeanOfTheirNetworks() throws {
        let folder = scratchFolder("cli")
        var settings = SeparatorArchitecture.chandna.defaultSettings(stems: SeparationStem.allCases)
        (settings.fftSize, settings.hopLength, settings.bins, settings.frames) = (256, 64, 129, 16)
        (settings.inputMean, settings.inputScale) = ([Float](repeating: -3, count: 129), [Float](repeating: 0.5, count: 129))
        let network = try SeparatorModel(settings: settings, spec: SeparatorArchitecture.chandna.spec(settings: settings))
        var generator = SeededGenerator(seed: 5)
        network.graph.initializeParameters(using: &generator)
        let single = folder.appendingPathComponent("network.h5").path
        try network.write(to: URL(fileURLWithPath: single))
        let ensemble = folder.appendingPathComponent("ensemble.h5").path
        let made = try TimbreProcess.run(["combine-separators", single, single, "--weights", "2,2", "-o", ensemble])
        #expect(made.status == 0, "\(made.stderr)")
        let info = try TimbreProcess.run(["info", ensemble])
        #expect(info.stdout.contains("separator: ensemble") && info.stdout.contains("member: member2, chandna, weight 0.500"), "\(info.stdout)")
        let mix = folder.appendingPathComponent("mix.wav")
        try writeTone(mix, seconds: 3, frequency: 330)
        var stems: [[Float]] = []
        for (model, name) in [(single, "alone"), (ensemble, "joined")] {
            let run = try TimbreProcess.run(["separate", mix.path, "-o", folder.appendingPathComponent(name).path, "--model", model, "--format", "float", "--stems", "bass"])
            #expect(run.status == 0, "\(run.stderr)")
            stems.append(try MultichannelAudio(contentsOf: folder.appendingPathComponent("\(name)/mix/bass.wav")).channels[0])
        }
        #expect(stems[0].count == 3 * 44_100 && stems[0] == stems[1])
        let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/TimbreModel")
        for refused in [models.appendingPathComponent("default-model.h5").path, models.appendingPathComponent("default-separator.h5").path] {
            let wrong = try TimbreProcess.run(["combine-separators", single, refused, "-o", folder.appendingPathComponent("bad.h5").path])
            #expect(wrong.status == 1)
            #expect(wrong.stderr.hasPrefix("timbre: \(refused): ") && wrong.stderr.split(separator: "\n").count == 1, "\(wrong.stderr)")
        }
    }

    @Test func controlCharactersInNamesReachTheTerminalEscaped() throws {
        let data = scratchFolder("cli")
        let folder = data.appendingPathComponent("flute")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("not audio".utf8).write(to: folder.appendingPathComponent("evil\u{1B}[2Jname\u{7}.wav"))
        try writeTone(folder.appendingPathComponent("fine.wav"), seconds: 3, frequency: 500)
        let result = try TimbreProcess.run(["prepare", data.path, "-o", scratchFolder("cli").appendingPathComponent("f.h5").path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("evil\\x1B[2Jname\\x07.wav: "), "\(result.stderr)")
        #expect(!result.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
    }

    @Test func anUnusableOutputPathIsReportedBeforeAnyWork() throws {
        let data = scratchFolder("cli")
        try writeTone(data.appendingPathComponent("flute/a.wav"), seconds: 3, frequency: 500)
        let missing = scratchFolder("cli").appendingPathComponent("no/such/folder/f.h5")
        let first = try TimbreProcess.run(["prepare", data.path, "-o", missing.path])
        #expect(first.status == 1)
        #expect(first.stderr == "timbre: \(missing.path): its folder \(missing.deletingLastPathComponent().path) does not exist\n")
        let folder = scratchFolder("cli")
        let second = try TimbreProcess.run(["train", folder.path, "-o", folder.path])
        #expect(second.status == 1)
        #expect(second.stderr == "timbre: \(folder.path): is a folder, not a file that can be written\n")
    }

    /// A disk that fills up while the feature file is written: one line, status 1, and no
    /// partial file left beside the destination. Needs root to mount a small tmpfs.
    @Test(.enabled(if: getuid() == 0)) func aFullDiskLeavesNoPartialFile() throws {
        let data = scratchFolder("cli")
        for n in 0..<8 { try writeTone(data.appendingPathComponent("flute/\(n).wav"), seconds: 12, frequency: 300 + 40 * Double(n)) }
        let disk = scratchFolder("cli")
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=96k", "tmpfs", disk.path]
        try mount.run()
        mount.waitUntilExit()
        try #require(mount.terminationStatus == 0, "tmpfs could not be mounted")
        defer {
            let unmount = Process()
            unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
            unmount.arguments = [disk.path]
            try? unmount.run()
            unmount.waitUntilExit()
        }
        let result = try TimbreProcess.run(["prepare", data.path, "-o", disk.appendingPathComponent("f.h5").path])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("timbre: \(disk.path)/"))
        let left = try FileManager.default.contentsOfDirectory(atPath: disk.path).filter { !$0.hasSuffix(".journal") }
        #expect(left.isEmpty, "left behind: \(left)")
    }

    /// A bundled model that no longer matches its checksum record is refused in one line
    /// before libhdf5 parses it.
    @Test func aDamagedBundledModelIsReportedNotParsed() throws {
        let copy = scratchFolder("cli")
        let products = TimbreProcess.executable.deletingLastPathComponent()
        for name in ["timbre", "Timbre_TimbreModel.resources"] {
            try FileManager.default.copyItem(at: products.appendingPathComponent(name), to: copy.appendingPathComponent(name))
        }
        let model = copy.appendingPathComponent("Timbre_TimbreModel.resources/default-model.h5")
        var bytes = try Data(contentsOf: model)
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: model)
        let audio = scratchFolder("cli").appendingPathComponent("a.wav")
        try writeTone(audio, seconds: 3, frequency: 440)
        let process = Process()
        process.executableURL = copy.appendingPathComponent("timbre")
        process.arguments = ["tag", audio.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.hasPrefix("timbre: \(model.path): is damaged (CRC-32 "), "\(message)")
        #expect(message.hasSuffix("; reinstall Timbre\n"))
    }

    /// A model or feature file that crashes libhdf5 costs one line, not the run: the file
    /// is read in a child process first. The crash is simulated in the child.
    @Test func aFileThatCrashesTheReaderIsReportedInOneLine() throws {
        let data = scratchFolder("cli")
        try writeTone(data.appendingPathComponent("flute/a.wav"), seconds: 3, frequency: 880)
        let features = scratchFolder("cli").appendingPathComponent("f.h5")
        #expect(try TimbreProcess.run(["prepare", data.path, "-o", features.path]).status == 0)
        let process = Process()
        process.executableURL = TimbreProcess.executable
        process.arguments = ["evaluate", features.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["TIMBRE_PROBE_FAULT": "1"]) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(message == "timbre: \(features.path): libhdf5 crashed reading it (signal 6); the file is damaged or was not written by Timbre\n", "\(message)")
        // A file that is not HDF5 at all is refused by the child's clean error.
        let text = scratchFolder("cli").appendingPathComponent("model.h5")
        try Data("not a model".utf8).write(to: text)
        let info = try TimbreProcess.run(["info", text.path])
        #expect(info.status == 1)
        #expect(info.stderr == "timbre: \(text.path): not an HDF5 file\n", "\(info.stderr)")
    }

    /// A file whose name is not UTF-8 (Latin-1 "café") is found in a folder, opened when
    /// named on the command line, prepared, and shown with its stray byte as \xE9.
    @Test func aFileNameThatIsNotUTF8IsReadByItsBytes() throws {
        let folder = scratchFolder("cli")
        let plain = folder.appendingPathComponent("flute/plain.wav")
        try writeTone(plain, seconds: 3, frequency: 880)
        var latin1 = Array((folder.path + "/flute/caf").utf8)
        latin1 += [0xE9] + Array(" take.wav".utf8) + [0]
        let moved = latin1.withUnsafeBufferPointer { bytes in
            rename(plain.path, UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self))
        }
        #expect(moved == 0)
        let fromFolder = try TimbreProcess.run(["tag", "--format", "csv", folder.path])
        #expect(fromFolder.status == 0, "\(fromFolder.stderr)")
        #expect(fromFolder.stdout.split(separator: "\n").count == 2, "\(fromFolder.stdout)")
        let features = scratchFolder("cli").appendingPathComponent("f.h5")
        let prepared = try TimbreProcess.run(["prepare", folder.path, "-o", features.path])
        #expect(prepared.status == 0, "\(prepared.stderr)")
        #expect(try FeatureFileReader(url: features).count == 1)
        // Named on the command line by its raw bytes, as a shell passes them.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", #"name="$1/flute/$(printf 'caf\351') take.wav"; "$0" tag "$name" "$name.missing""#,
                             TimbreProcess.executable.path, folder.path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let tagged = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(tagged.contains("0:03.0"), "\(tagged)")
        #expect(message == "timbre: \(folder.path)/flute/caf\\xE9 take.wav.missing: no such file or folder\n", "\(message)")
        // Outputs named after the file carry its bytes: its plot and its stems' folder.
        let outputs = scratchFolder("cli")
        #expect(try TimbreProcess.run(["tag", "--plot", outputs.appendingPathComponent("plots").path, folder.path]).status == 0)
        #expect(try TimbreProcess.run(["separate", folder.appendingPathComponent("flute").path, "-o", outputs.appendingPathComponent("stems").path]).status == 0)
        for (folder, rest) in [("plots", " take.svg"), ("stems", " take/vocals.wav")] {
            let path = Array("\(outputs.path)/\(folder)/caf".utf8) + [0xE9] + Array(rest.utf8) + [0]
            #expect(path.withUnsafeBufferPointer { access(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), F_OK) } == 0, "\(folder)/caf\\xE9\(rest)")
        }
    }

    @Test func aNegativeThresholdIsReadAsAValue() throws {
        let data = scratchFolder("cli")
        try writeTone(data.appendingPathComponent("flute/a.wav"), seconds: 3, frequency: 880)
        let output = scratchFolder("cli").appendingPathComponent("f.h5")
        let result = try TimbreProcess.run(["prepare", data.path, "-o", output.path, "--rms-threshold-db", "-60"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try FeatureFileReader(url: output).metadata.settings.rmsThresholdDB == -60)
    }
}

/// The network's vector kernels are chosen at run time from the CPU; each narrower path,
/// asked for through TIMBRE_VECTOR_UNIT, must score a batch as the widest does.
@Suite struct VectorUnitTests {
    @Test func everyVectorUnitScoresABatchOfClipsAlike() throws {
        let data = scratchFolder("cli")
        defer { try? FileManager.default.removeItem(at: data) }
        for (folder, base) in [("flute", 880.0), ("organ", 220.0), ("cello", 110.0)] {
            for take in 0..<2 { try writeTone(data.appendingPathComponent("\(folder)/\(take).wav"), seconds: 6, frequency: base * (1 + Double(take) * 0.05)) }
        }
        let cpuFlags = cpuFlags()
        let hasAVX2 = cpuFlags.isSuperset(of: ["avx2", "fma"])
        let hasAVX512 = hasAVX2 && cpuFlags.isSuperset(of: ["avx512f", "avx512vl", "avx512bw", "avx512dq"])
        // What each request must get: never a wider unit than the CPU has.
        let expected = [("avx512", hasAVX512 ? "AVX-512 with FMA" : hasAVX2 ? "AVX2 with FMA" : "baseline x86-64"),
                        ("avx2", hasAVX2 ? "AVX2 with FMA" : "baseline x86-64"), ("baseline", "baseline x86-64")]
        var probabilities: [String: [[Double]]] = [:]
        for (unit, name) in expected {
            let environment = ["TIMBRE_VECTOR_UNIT": unit]
            let version = try TimbreProcess.run(["--version"], environment: environment)
            #expect(version.stdout.contains("network kernels: \(name)\n"), "\(unit): \(version.stdout)")
            let report = data.appendingPathComponent("report-\(unit)")
            let evaluate = try TimbreProcess.run(["evaluate", data.path, "--report", report.path], environment: environment)
            #expect(evaluate.status == 0, "\(unit): \(evaluate.stderr)")
            let rows = try String(contentsOf: report.appendingPathComponent("predictions.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
            // source, offset, true labels, predicted class, then every class's probability.
            probabilities[unit] = rows.map { $0.split(separator: ",").dropFirst(4).compactMap { Double($0) } }
        }
        let widest = try #require(probabilities["avx512"])
        #expect(widest.count == 12 && widest.allSatisfy { $0.count == 13 }, "\(widest)")
        for unit in ["avx2", "baseline"] {
            let other = try #require(probabilities[unit])
            #expect(other.count == widest.count)
            let largest = zip(widest, other).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? .infinity
            #expect(largest <= 1e-5, "\(unit) differs from the widest path by \(largest)")
        }
    }
}

@Suite(.serialized) struct TrainEvaluateCommandTests {
    @Test func prepareTrainAndEvaluateEndToEnd() throws {
        let data = scratchFolder("cli")
        for (folder, base) in [("flute", 880.0), ("organ", 220.0), ("cello", 110.0)] {
            for take in 0..<4 { try writeTone(data.appendingPathComponent("\(folder)/\(take).wav"), seconds: 6, frequency: base * (1 + Double(take) * 0.05)) }
        }
        let work = scratchFolder("cli")
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
        // metrics.json names the exact model bytes, the data, its layout and the threshold.
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("metrics.json"))) as! [String: Any]
        let provenance = try #require(metrics["provenance"] as? [String: Any])
        let modelBytes = try Data(contentsOf: URL(fileURLWithPath: model))
        #expect(provenance["model"] as? String == URL(fileURLWithPath: model).standardizedFileURL.path)
        #expect(provenance["model_crc32"] as? String == String(format: "%08x", BundledResource.checksum(of: modelBytes)))
        #expect(provenance["model_bytes"] as? Int == modelBytes.count)
        #expect(provenance["data"] as? [String] == [URL(fileURLWithPath: features).standardizedFileURL.path])
        #expect(provenance["layouts"] as? [String] == ["features"])
        #expect(provenance["timbre_version"] as? String == "0.1.0")
        #expect((provenance["date"] as? String)?.hasPrefix("20") == true)
        #expect(provenance["threshold"] != nil)

        // The same model on the audio folder prepares features with the model's settings.
        let fromAudio = try TimbreProcess.run(["evaluate", "--model", model, data.path])
        #expect(fromAudio.status == 0)
        #expect(fromAudio.stdout.contains("24 clips  top-1 error"))

        // Thresholds chosen on the clips: the weights stay, the choice is recorded.
        let tuned = work.appendingPathComponent("tuned.h5").path
        let choose = try TimbreProcess.run(["calibrate", "--model", model, "--thresholds", features, "-o", tuned])
        #expect(choose.status == 0, "\(choose.stderr)")
        #expect(choose.stdout.contains("thresholds chosen on 24 clips; micro F1"), "\(choose.stdout)")
        #expect(choose.stdout.contains("thresholds: cel "), "\(choose.stdout)")
        #expect(try ModelFile.read(from: URL(fileURLWithPath: tuned)).weights == ModelFile.read(from: URL(fileURLWithPath: model)).weights)
    }

    /// A `--sound-font` that is no SoundFont stops `synth` with one line naming it and
    /// fluidsynth's reason, before anything is rendered.
    @Test func synthNamesABrokenSoundFontOnce() throws {
        let root = scratchFolder("cli")
        let font = root.appendingPathComponent("broken.sf2")
        try Data("no RIFF here".utf8).write(to: font)
        let output = root.appendingPathComponent("corpus")
        let run = try TimbreProcess.run(["synth", "-o", output.path, "--sound-font", font.path, "--takes-per-class", "1", "--songs", "0"])
        #expect(run.status == 1)
        #expect(run.stderr == "timbre: \(font.path): not a SoundFont libfluidsynth can load (Not a RIFF file)\n", "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    /// `synth --print-settings` prints what a render records in synth-settings.txt, and
    /// renders nothing: recipes compare the two to know whether a corpus is still theirs.
    @Test func synthPrintsTheSettingsItWouldRecord() throws {
        let root = scratchFolder("cli")
        let arguments = ["synth", "-o", root.path, "--takes-per-class", "1", "--excerpts", "1", "--songs", "0", "--classes", "pia", "--seed", "3"]
        let rendered = try TimbreProcess.run(arguments)
        #expect(rendered.status == 0, "\(rendered.stderr)")
        let recorded = try String(contentsOf: root.appendingPathComponent("synth-settings.txt"), encoding: .utf8)
        #expect(recorded.contains("seed 3\n") && recorded.contains("patch fluidr3 pia sf2 "), "\(recorded)")
        let same = try TimbreProcess.run(arguments + ["--print-settings"])
        #expect(same.status == 0 && same.stdout == recorded, "\(same.stdout)")
        // Another seed: other settings, and neither the corpus nor a new folder is touched.
        let fresh = scratchFolder("cli").appendingPathComponent("never")
        let other = try TimbreProcess.run(["synth", "-o", fresh.path, "--takes-per-class", "1", "--excerpts", "1", "--songs", "0", "--classes", "pia",
                                           "--seed", "4", "--print-settings"])
        #expect(other.status == 0 && other.stdout.contains("seed 4\n") && other.stdout != recorded, "\(other.stdout)")
        #expect(!FileManager.default.fileExists(atPath: fresh.path))
        // Holding recordings out is a setting only when asked for, so corpora made before it stay theirs.
        #expect(!recorded.contains("recording-hold-out"))
        let holdOut = try TimbreProcess.run(arguments + ["--recording-hold-out", "0.2", "--print-settings"])
        #expect(holdOut.stdout.contains("\nrecording-hold-out 0.2\n"), "\(holdOut.stdout)")
        let repitch = try TimbreProcess.run(arguments + ["--recording-repitch", "3", "--print-settings"])
        #expect(repitch.stdout.contains("\nrecording-repitch 3.0\n"), "\(repitch.stdout)")
        #expect(try String(contentsOf: root.appendingPathComponent("synth-settings.txt"), encoding: .utf8) == recorded)
    }

    /// A take the system refuses to store (past a file-size limit of 8 KB, as on a full
    /// disk) is reported with the system's reason and leaves no file behind; run again
    /// without the limit, the corpus is rendered whole.
    @Test func synthSaysWhyATakeCouldNotBeStoredAndRendersItOnTheNextRun() throws {
        let root = scratchFolder("cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let arguments = ["synth", "-o", root.path, "--takes-per-class", "1", "--excerpts", "1", "--songs", "0", "--classes", "pia", "--seed", "3"]
        func audioFiles() -> [String] {
            (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".wav") || $0.contains(".partial.") }
        }
        // The limit's signal is ignored, so the write fails with EFBIG instead of killing the process.
        let limited = try TimbreProcess.run(["-c", #"trap '' XFSZ; ulimit -f 16; exec "$0" "$@""#, TimbreProcess.executable.path] + arguments,
                                            program: URL(fileURLWithPath: "/bin/sh"))
        #expect(limited.status == 2)
        #expect(limited.stderr.contains(".wav: short write (") && limited.stderr.contains(" frames): file too large\n"), "\(limited.stderr)")
        #expect(audioFiles().isEmpty, "\(audioFiles())")
        let again = try TimbreProcess.run(arguments)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(audioFiles().count == 1, "\(audioFiles())")
    }

    /// `timbre synth`'s output holds IRMAS-TrainingData/ and MedleyDB/ side by side: both
    /// are read, and an .m4a file among them is named, not skipped silently.
    @Test func aFolderOfTwoLayoutsGivesTheClipsOfBoth() throws {
        let root = scratchFolder("cli")
        let synth = try TimbreProcess.run(["synth", "-o", root.path, "--takes-per-class", "1", "--excerpts", "1", "--songs", "1", "--song-seconds", "8",
                                           "--classes", "pia,dru,voi"])
        #expect(synth.status == 0, "\(synth.stderr)")
        try Data().write(to: root.appendingPathComponent("IRMAS-TrainingData/phone memo.m4a"))
        func clips(_ folder: URL, _ name: String) throws -> (Int, String) {
            let output = scratchFolder("cli").appendingPathComponent(name + ".h5")
            let result = try TimbreProcess.run(["prepare", folder.path, "-o", output.path])
            #expect(result.status == 0, "\(result.stderr)")
            return (try FeatureFileReader(url: output).count, result.stdout)
        }
        let (irmas, _) = try clips(root.appendingPathComponent("IRMAS-TrainingData"), "irmas")
        let (medley, _) = try clips(root.appendingPathComponent("MedleyDB"), "medleydb")
        let (both, summary) = try clips(root, "both")
        #expect(irmas > 0 && medley > 0)
        #expect(both == irmas + medley)
        #expect(summary.contains("(IRMAS-TrainingData/ (irmas): 3 files, MedleyDB/ (medleydb): 1 file)"), "\(summary)")
        #expect(summary.contains("note: 1 audio file in a format libsndfile cannot read was skipped (m4a: 1), e.g. IRMAS-TrainingData/phone memo.m4a"), "\(summary)")
    }

    /// Two MPI ranks, each with half of every batch, train the same model as one process
    /// with the whole batch: the same loss curve and the same weights, to rounding. Runs
    /// when the build includes MPI (`make test` builds it with TIMBRE_MPI=1).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TIMBRE_MPI"] == "1", "built without MPI (TIMBRE_MPI=1)"))
    func twoMPIRanksTrainLikeOneProcess() throws {
        let data = scratchFolder("cli")
        for (folder, base) in [("flute", 880.0), ("organ", 220.0), ("cello", 110.0)] {
            for take in 0..<4 { try writeTone(data.appendingPathComponent("\(folder)/\(take).wav"), seconds: 6, frequency: base * (1 + Double(take) * 0.05)) }
        }
        let work = scratchFolder("cli")
        let features = work.appendingPathComponent("features.h5").path
        #expect(try TimbreProcess.run(["prepare", data.path, "-o", features]).status == 0)
        let recipe = ["train", features, "--epochs", "2", "--batch-size", "6", "--validation-fraction", "0.25", "--hidden", "16", "--seed", "4", "--no-calibrate"]
        let one = work.appendingPathComponent("one.h5"), two = work.appendingPathComponent("two.h5")
        let single = try TimbreProcess.run(recipe + ["-o", one.path])
        #expect(single.status == 0, "\(single.stderr)")
        let (status, log) = try TimbreProcess.runOnTwoRanks(recipe + ["-o", two.path])
        #expect(status == 0, "\(log)")
        // Only rank 0 reports.
        #expect(log.components(separatedBy: "wrote \(two.path)").count == 2, "\(log)")
        let a = try ModelFile.read(from: one), b = try ModelFile.read(from: two)
        func losses(_ model: ModelFile) throws -> [Double] {
            let summary = try JSONSerialization.jsonObject(with: Data(model.trainingSummary.utf8)) as? [String: Any]
            return (summary?["history"] as? [[String: Any]] ?? []).compactMap { $0["trainingLoss"] as? Double }
        }
        let (lossA, lossB) = (try losses(a), try losses(b))
        #expect(lossA.count == 2 && lossB.count == 2)
        for (x, y) in zip(lossA, lossB) { #expect(abs(x - y) <= 1e-4 * max(1, abs(x)), "loss \(x) against \(y)") }
        let difference = relativeDifference(a.weights, b.weights)
        #expect(difference < 1e-4, "relative weight difference \(difference)")
    }

    /// evaluate --separate scores the mix clips twice: as tagged (the same figures as the
    /// plain multi-label line, since here every multi-label clip is a mix clip) and after
    /// separation, and writes both into metrics.json.
    @Test func evaluateWithSeparationScoresTheMixesBothWays() throws {
        let root = scratchFolder("cli")
        let synth = try TimbreProcess.run(["synth", "-o", root.path, "--takes-per-class", "0", "--songs", "2", "--song-seconds", "9", "--seed", "5"])
        #expect(synth.status == 0, "\(synth.stderr)")
        let report = scratchFolder("cli").appendingPathComponent("report")
        let result = try TimbreProcess.run(["evaluate", root.appendingPathComponent("MedleyDB").path, "--separate", "--report", report.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("mix clips of 2 songs"), "\(result.stdout)")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("metrics.json"))) as! [String: Any]
        let separation = try #require(metrics["separation"] as? [String: Any])
        let multi = try #require(metrics["multi_label"] as? [String: Any])
        let without = try #require(separation["without"] as? [String: Double]), with = try #require(separation["with"] as? [String: Double])
        #expect(separation["songs"] as? Int == 2)
        #expect(separation["clips"] as? Int == multi["n_clips"] as? Int)
        #expect(abs((without["micro_f1"] ?? -1) - (multi["micro_f1"] as? Double ?? -2)) < 1e-9)
        #expect(abs((without["lrap"] ?? -1) - (multi["lrap"] as? Double ?? -2)) < 1e-9)
        for value in with.values { #expect((0...1).contains(value)) }
        #expect(separation["stems"] as? String == "separated")
        // The songs' own stems instead of the separator's: the same mix clips, tagged from
        // the true stems, and a stem that cannot be read is named.
        let oracleReport = scratchFolder("cli").appendingPathComponent("oracle")
        let oracle = try TimbreProcess.run(["evaluate", root.appendingPathComponent("MedleyDB").path, "--separate", "--oracle-stems", "--report", oracleReport.path])
        #expect(oracle.status == 0, "\(oracle.stderr)")
        #expect(oracle.stdout.contains("tagged from the songs' own stems"), "\(oracle.stdout)")
        let oracleMetrics = try JSONSerialization.jsonObject(with: Data(contentsOf: oracleReport.appendingPathComponent("metrics.json"))) as! [String: Any]
        let oracleSeparation = try #require(oracleMetrics["separation"] as? [String: Any])
        #expect(oracleSeparation["stems"] as? String == "oracle")
        #expect(oracleSeparation["clips"] as? Int == separation["clips"] as? Int)
        let stem = try #require(FileManager.default.enumerator(at: root.appendingPathComponent("MedleyDB"), includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.first { $0.lastPathComponent.contains("_STEM_") })
        // Readable, so the song stays in the evaluation, but not addable to its other stems.
        try AudioFileWriter.write([Float](repeating: 0.1, count: 22_050), sampleRate: 22_050, to: stem)
        let broken = try TimbreProcess.run(["evaluate", root.appendingPathComponent("MedleyDB").path, "--separate", "--oracle-stems"])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains(stem.lastPathComponent), "\(broken.stderr)")
        for options in [["--oracle-stems"], ["--separate", "--oracle-stems", "--separator-model", "x.h5"]] {
            let refused = try TimbreProcess.run(["evaluate", root.appendingPathComponent("MedleyDB").path] + options)
            #expect(refused.status != 0 && refused.stderr.contains("--oracle-stems"), "\(options): \(refused.stderr)")
        }
        // A feature file cannot be separated.
        let refused = try TimbreProcess.run(["evaluate", report.appendingPathComponent("metrics.json").path, "--separate"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("--separate needs the folder of MedleyDB songs"), "\(refused.stderr)")
    }

    /// The same for the Chandna separator: two ranks, each making and training half of every
    /// batch of mixtures, end with the weights of one process.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TIMBRE_MPI"] == "1", "built without MPI (TIMBRE_MPI=1)"))
    func twoMPIRanksTrainASeparatorLikeOneProcess() throws {
        let root = scratchFolder("cli")
        #expect(try TimbreProcess.run(["synth", "-o", root.path, "--takes-per-class", "0", "--songs", "4", "--song-seconds", "6", "--seed", "9"]).status == 0)
        let songs = root.appendingPathComponent("MedleyDB").path
        let work = scratchFolder("cli")
        let one = work.appendingPathComponent("one.h5"), two = work.appendingPathComponent("two.h5")
        let recipe = ["train-separator", songs, "--arch", "chandna", "--epochs", "2", "--batches-per-epoch", "3", "--batch-size", "4", "--learning-rate", "0.01",
                      "--validation-examples", "4", "--seed", "3"]
        let single = try TimbreProcess.run(recipe + ["-o", one.path])
        #expect(single.status == 0, "\(single.stderr)")
        let (status, log) = try TimbreProcess.runOnTwoRanks(recipe + ["-o", two.path])
        #expect(status == 0, "\(log)")
        #expect(log.components(separatedBy: "epoch   2").count == 2, "only rank 0 reports: \(log)")
        let a = try SeparatorModel.read(from: one).store.valueArray, b = try SeparatorModel.read(from: two).store.valueArray
        #expect(a.count == b.count)
        let difference = relativeDifference(a, b)
        #expect(difference < 1e-4, "relative weight difference \(difference)")
    }

    @Test func evaluateExplainsMissingPieces() throws {
        // Without --model the bundled model is used; the data must still exist.
        let noData = try TimbreProcess.run(["evaluate", "/nonexistent/features.h5"])
        #expect(noData.status == 1)
        #expect(noData.stderr == "timbre: /nonexistent/features.h5: no such file or folder\n")
        let notAModel = scratchFolder("cli").appendingPathComponent("x.h5")
        try Data("nope".utf8).write(to: notAModel)
        let bad = try TimbreProcess.run(["evaluate", "--model", notAModel.path, "/tmp"])
        #expect(bad.status == 1)
        #expect(bad.stderr == "timbre: \(notAModel.path): not an HDF5 file\n")
    }
}

/// The feature flags of this machine's first CPU, as /proc/cpuinfo lists them.
func cpuFlags() -> Set<String> {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    return Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
}
