import Foundation
import TimbreAudio
import TimbreCore
import TimbreDatasets

/// The inputs Timbre reads from untrusted files, each as one function of arbitrary bytes
/// that must return (with or without an error) and never crash, hang or allocate without
/// bound. libFuzzer drives them (`make fuzz`); without it, `timbre-fuzz HARNESS FILE...`
/// replays saved inputs, which is how every crash found becomes a regression test.
enum Harness: String, CaseIterable {
    case audio
    case irmasLabels = "irmas-labels"
    case medleydbYAML = "medleydb-yaml"
    case featureFile = "feature-file"
    case modelFile = "model-file"

    /// Runs the harness on one input; false when a crafted file was refused (the other
    /// harnesses read text and audio of any kind, and always say true).
    @discardableResult
    func run(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .audio: Self.decodeAudio(bytes)
        case .irmasLabels: Self.readIRMASNames(bytes)
        case .medleydbYAML: Self.readMedleyDBMetadata(bytes)
        case .featureFile: return FeatureFileHarness.run(bytes)
        case .modelFile: return ModelFileHarness.run(bytes)
        }
        return true
    }

    /// The bytes as an audio file: decoded, mixed to mono and resampled as `prepare` does,
    /// up to ten seconds of output.
    private static func decodeAudio(_ bytes: UnsafeRawBufferPointer) {
        let url = audioScratchFile
        guard FileManager.default.createFile(atPath: url.path, contents: Data(bytes)) else { return }
        guard let stream = try? MonoAudioStream(url: url, sampleRate: 22_050, blockFrames: 4096) else { return }
        var produced = 0
        while produced < 10 * 22_050, let block = try? stream.next() { produced += block.count }
    }

    /// Small valid inputs to start from, made the way the tests make theirs.
    func writeSeeds(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        switch self {
        case .audio:
            let tone = (0..<2_205).map { Float(0.3 * sin(Double($0) * 0.07)) }
            let stereo = tone.flatMap { [$0, -$0] }
            let formats: [(AudioFileFormat, String)] = [(.wav16, "wav"), (.wav24, "wav"), (.wavFloat, "wav"), (.flac16, "flac"), (.aiff16, "aiff"),
                                                        (.oggVorbis, "ogg"), (.opus, "opus"), (.mp3, "mp3")]
            for (index, (format, ext)) in formats.enumerated() {
                // Opus takes only rates that divide 48 kHz.
                let rate = format == .opus ? 48_000 : 44_100
                try AudioFileWriter.write(tone, sampleRate: 48_000, to: folder.appendingPathComponent("mono-\(index).\(ext)"), format: format)
                try AudioFileWriter.write(stereo, channels: 2, sampleRate: rate, to: folder.appendingPathComponent("stereo-\(index).\(ext)"), format: format)
            }
        case .irmasLabels:
            for (index, text) in ["gel\t\r\nvoi\t\n", "pia\n", "[cel][cla]0001__1.wav", "008__[vio][nod][cou_fol]2297__1.wav", "(02) dont kill the whale-1.wav"].enumerated() {
                try Data(text.utf8).write(to: folder.appendingPathComponent("seed-\(index).txt"))
            }
        case .medleydbYAML:
            let text = """
                mix_filename: Song_MIX.wav
                stem_dir: Song_STEMS
                stems:
                  S01: {filename: Song_STEM_01.wav, instrument: electric bass}
                  S02:
                    filename: Song_STEM_02.wav
                    instrument: [male singer, vocalists]
                    raw: {R01: {filename: Song_RAW_02_01.wav, instrument: male singer}}
                anchors: {a: &a [x, y], b: *a}
                """
            try Data(text.utf8).write(to: folder.appendingPathComponent("seed.yaml"))
        case .featureFile, .modelFile:
            let seeds = self == .featureFile ? FeatureFileHarness.seeds : try ModelFileHarness.seeds()
            for (index, seed) in seeds.enumerated() { try Data(seed).write(to: folder.appendingPathComponent("seed-\(index)")) }
        }
    }

    /// The bytes as an IRMAS testing label file and as IRMAS file names.
    private static func readIRMASNames(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = IRMASTestingImporter.parseLabels(text)
        _ = IRMASTestingImporter.song(of: text)
        _ = IRMASTrainingImporter.parse(text)
    }

    /// The bytes as a MedleyDB `_METADATA.yaml`, and its paths confined to a song folder.
    private static func readMedleyDBMetadata(_ bytes: UnsafeRawBufferPointer) {
        guard let metadata = try? MedleyDBImporter.parseMetadata(String(decoding: bytes, as: UTF8.self), songID: "Song") else { return }
        let song = URL(fileURLWithPath: "/tmp/timbre-fuzz-song", isDirectory: true)
        for stem in metadata.stems {
            _ = ConfinedPath.resolve(metadata.stemDirectory + "/" + stem.filename, from: song, inside: song)
        }
        _ = ConfinedPath.resolve(metadata.mixFilename, from: song, inside: song)
    }

    /// The file a process writes its audio inputs to.
    private static let audioScratchFile = scratchFile(named: "wav")

    /// One file per process and extension, in memory-backed storage when there is some.
    static func scratchFile(named pathExtension: String) -> URL {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return URL(fileURLWithPath: folder).appendingPathComponent("timbre-fuzz-\(getpid()).\(pathExtension)")
    }

    /// The harness named by `TIMBRE_FUZZ` (libFuzzer passes no arguments of its own).
    static var selected: Harness {
        guard let name = ProcessInfo.processInfo.environment["TIMBRE_FUZZ"], let harness = Harness(rawValue: name) else {
            FileHandle.standardError.write(Data("timbre-fuzz: set TIMBRE_FUZZ to one of \(allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(1)
        }
        return harness
    }
}

#if FUZZING
/// libFuzzer's driver (compiler-rt), which parses libFuzzer's options and calls `input`
/// for every generated input.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ input: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// The executable's entry point under SwiftPM, which names it after the module: hands
/// over to libFuzzer with the harness chosen once, from the environment.
@_cdecl("timbre_fuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    _ = Harness.fuzzed
    // libhdf5's caches are allocated and freed with every file; keep them in the heap.
    MemoryPolicy.reuseLargeAllocations()
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in
        Harness.fuzzed.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
        return 0
    }
}

extension Harness {
    static let fuzzed = Harness.selected
}
#else
/// Replays saved inputs: `timbre-fuzz HARNESS FILE_OR_FOLDER...`.
@main
struct Replay {
    static func main() {
        // libhdf5's caches are allocated and freed with every file; keep them in the heap.
        MemoryPolicy.reuseLargeAllocations()
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "seeds", arguments.count == 3, let harness = Harness(rawValue: arguments[arguments.startIndex + 1]) {
            do { try harness.writeSeeds(to: URL(fileURLWithPath: arguments.last!)) } catch {
                FileHandle.standardError.write(Data("timbre-fuzz: \(error)\n".utf8))
                exit(1)
            }
            return
        }
        guard let name = arguments.first, let harness = Harness(rawValue: name) else {
            let names = Harness.allCases.map(\.rawValue).joined(separator: "|")
            FileHandle.standardError.write(Data("usage: timbre-fuzz \(names) FILE_OR_FOLDER...\n       timbre-fuzz seeds \(names) FOLDER\n".utf8))
            exit(1)
        }
        var count = 0, accepted = 0
        for path in arguments.dropFirst() {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
            let files = isFolder.boolValue ? AudioFileFinder.allFiles(under: URL(fileURLWithPath: path)) : [URL(fileURLWithPath: path)]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file.path) else { continue }
                if data.withUnsafeBytes({ harness.run($0) }) { accepted += 1 }
                count += 1
            }
        }
        print("\(harness.rawValue): \(count) inputs replayed without a crash, \(accepted) of them read whole")
    }
}
#endif
