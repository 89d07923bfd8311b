import Foundation
import Testing
import TimbreDSP
import TimbreHDF5
@testable import TimbreStore
import TimbreCore
import TimbreTestSupport

private func temporaryFile(_ name: String) -> URL {
    let folder = scratchFolder("store")
    return folder.appendingPathComponent(name)
}

private func pseudoRandomMel(seed: Int, count: Int) -> [Float] {
    var state = UInt64(seed) &* 6_364_136_223_846_793_005 &+ 1
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return -80 + Float(state >> 40) / Float(1 << 24) * 100
    }
}

@Suite struct ChunkCodecTests {
    @Test func encodeThenDecodeIsExact() {
        let values = pseudoRandomMel(seed: 1, count: 128 * 130)
        let bytes = ChunkCodec.encode(values)
        #expect(bytes.count < values.count * 4)
        var decoded = [Float](repeating: 0, count: values.count)
        #expect(decoded.withUnsafeMutableBufferPointer { ChunkCodec.decode(bytes, into: $0) })
        #expect(decoded == values)
    }

    @Test func damagedBytesAreRejected() {
        var bytes = ChunkCodec.encode(pseudoRandomMel(seed: 2, count: 100))
        bytes[bytes.count / 2] ^= 0xff
        var decoded = [Float](repeating: 0, count: 100)
        #expect(!decoded.withUnsafeMutableBufferPointer { ChunkCodec.decode(bytes, into: $0) })
    }

    @Test func hdf5DecodesChunksWrittenDirectly() throws {
        // HDF5's own filter pipeline must read what ChunkCodec wrote.
        let url = temporaryFile("direct.h5")
        let values = pseudoRandomMel(seed: 3, count: 2 * 4 * 5)
        do {
            let file = try HDF5File(creating: url)
            let data = try file.createDataset("x", of: Float.self, shape: [2, 4, 5], chunk: [1, 4, 5], shuffle: true, deflateLevel: 1)
            for row in 0..<2 {
                let chunk = ChunkCodec.encode(Array(values[row * 20..<(row + 1) * 20]))
                try chunk.withUnsafeBytes { try data.writeChunk($0, offset: [row, 0, 0]) }
            }
        }
        let file = try HDF5File(opening: url)
        #expect(try file.dataset("x").readRows(as: Float.self) == values)
        let stored = try file.dataset("x").readChunk(offset: [1, 0, 0])
        #expect(stored.filterMask == 0)
        var decoded = [Float](repeating: 0, count: 20)
        #expect(decoded.withUnsafeMutableBufferPointer { ChunkCodec.decode(stored.bytes, into: $0) })
        #expect(decoded == Array(values[20..<40]))
    }
}

@Suite struct HDF5AttributeTests {
    @Test func everyAttributeKindRoundTrips() throws {
        let url = temporaryFile("attrs.h5")
        let values: [String: HDF5AttributeValue] = [
            "s": .string("naïve – ünïcödé"), "ss": .strings(["cel", "", "voi"]), "i": .int(-7),
            "is": .ints([1, 2, 3]), "d": .double(0.1), "ds": .doubles([1.5, -2.25]), "empty": .strings([]),
        ]
        do {
            let file = try HDF5File(creating: url)
            for (name, value) in values { try file.setAttribute(name, value) }
            try file.setAttribute("i", .int(42))  // replacing works
        }
        let file = try HDF5File(opening: url)
        for (name, value) in values where name != "i" { #expect(try file.attribute(name) == value, "\(name)") }
        #expect(try file.attribute("i") == .int(42))
        #expect(try file.attribute("missing") == nil)
    }

    /// A lock someone else holds on the file (a child process that inherited a writer's
    /// descriptor, standing here as a second open description) does not stop Timbre
    /// reading it or writing it again.
    @Test func aFileLockedElsewhereStillOpens() throws {
        let url = temporaryFile("locked.h5")
        do { try HDF5File(creating: url).setAttribute("i", .int(7)) }
        let holder = open(url.path, O_RDWR)
        defer { close(holder) }
        #expect(flock(holder, LOCK_EX | LOCK_NB) == 0)
        #expect(try HDF5File(opening: url).attribute("i") == .int(7))
        #expect(try HDF5File(opening: url, mode: .readWrite).attribute("i") == .int(7))
        do { try HDF5File(creating: url).setAttribute("i", .int(8)) }
        #expect(try HDF5File(opening: url).attribute("i") == .int(8))
    }

    @Test func openingANonHDF5FileFailsClearly() throws {
        let url = temporaryFile("fake.h5")
        try Data("not hdf5".utf8).write(to: url)
        let error = #expect(throws: FileError.self) { try HDF5File(opening: url) }
        #expect(error?.reason == "not an HDF5 file")
    }
}

@Suite struct FeatureFileTests {
    let settings = FeatureSettings()
    var metadata: FeatureFileMetadata {
        var m = FeatureFileMetadata(classCodes: ["cel", "pia", "voi"], classNames: ["cello", "piano", "voice"], settings: settings, resampler: "libsamplerate sinc_medium")
        m.inputs = ["/data/IRMAS"]
        m.layouts = ["irmas"]
        return m
    }

    /// Every setting of `FeatureSettings.fields` goes into the file and comes back: each one
    /// set to a usable value other than its default, then written and read.
    @Test func everySettingRoundTripsThroughTheFile() throws {
        var changed = FeatureSettings()
        changed.sampleRate = 16_000
        changed.nFFT = 1_024
        changed.hopLength = 256
        changed.nMels = 96
        changed.fmin = 30
        changed.fmax = 7_000
        changed.clipSeconds = 2
        changed.clipHopSeconds = 1
        changed.rmsThresholdDB = -60
        changed.minLastClipSeconds = 0.5
        changed.topDB = 90
        changed.amin = 1e-8
        #expect(changed.problem == nil)
        for field in FeatureSettings.fields { #expect(field.get(changed) != field.get(FeatureSettings()), "\(field.name) is left at its default") }
        var m = metadata
        m.settings = changed
        let url = temporaryFile("settings.h5")
        let writer = try FeatureFileWriter(destination: url, metadata: m)
        try writer.commit()
        let read = try FeatureFileReader(url: url).metadata.settings
        #expect(read == changed)
        #expect(read.logMelDifferences(from: FeatureSettings()).count == FeatureSettings.fields.filter(\.changesLogMel).count)
    }

    @Test func writtenClipsReadBackEqual() throws {
        let url = temporaryFile("features.h5")
        let size = settings.nMels * settings.framesPerClip
        let mels = (0..<3).map { pseudoRandomMel(seed: $0 + 10, count: size) }
        let labels = [[0], [1, 2], []]
        let writer = try FeatureFileWriter(destination: url, metadata: metadata)
        for index in 0..<3 {
            try writer.append(EncodedClip(
                melChunk: ChunkCodec.encode(mels[index]), classIndices: labels[index],
                source: "cel/[cel][cla]000\(index)__1.wav", offset: Float(index) * 3, group: Int32(index / 2), rmsDB: -20 - Float(index)))
        }
        #expect(!FileManager.default.fileExists(atPath: url.path), "nothing appears before commit")
        try writer.commit()

        let reader = try FeatureFileReader(url: url)
        #expect(reader.metadata == metadata)
        #expect(reader.count == 3)
        for index in 0..<3 { #expect(try reader.mel(at: index) == mels[index]) }
        #expect(reader.labels == [1, 0, 0, 0, 1, 1, 0, 0, 0])
        #expect(reader.label == [0, -1, -1])
        #expect(reader.classIndices(of: 1) == [1, 2])
        #expect(reader.sources == (0..<3).map { "cel/[cel][cla]000\($0)__1.wav" })
        #expect(reader.offsets == [0, 3, 6])
        #expect(reader.groups == [0, 0, 1])
        #expect(reader.rmsDB == [-20, -21, -22])
        var batch = [Float](repeating: 0, count: 2 * size)
        try batch.withUnsafeMutableBufferPointer { try reader.readMel(start: 1, rowCount: 2, into: $0) }
        #expect(Array(batch[size...]) == mels[2])
        let names = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        #expect(names == ["features.h5"], "no temporary file left behind")
    }

    @Test(arguments: ["n_fft 0", "clip_seconds nan", "sample_rate 1", "n_mels × frames"])
    func aFileWithUnusableSettingsIsRefusedBeforeAnyAllocation(problem: String) throws {
        let url = temporaryFile("crafted.h5")
        var crafted = metadata
        switch problem {
        case "n_fft 0": crafted.settings.nFFT = 0
        case "clip_seconds nan": crafted.settings.clipSeconds = .nan
        case "sample_rate 1": crafted.settings.sampleRate = 1
        default: crafted.settings.hopLength = 64; crafted.settings.clipSeconds = 600
        }
        try FeatureFileWriter(destination: url, metadata: crafted).commit()
        let error = #expect(throws: FileError.self) { try FeatureFileReader(url: url) }
        #expect(error?.reason.hasPrefix("feature settings cannot be used: \(problem)") == true, "\(error?.reason ?? "")")
    }

    /// A file can declare extents it does not store. Per-clip arrays that disagree with
    /// /mel are refused by their shape, agreeing ones too large to read at once by their
    /// size; both before anything is allocated for them.
    @Test(arguments: [(2, 1 << 40, "/labels has shape [1099511627776, 3], /mel says [2, 3]"), (1 << 40, 1 << 40, "declares 3298534883328 values, more than Timbre reads at once")])
    func declaredExtentsBeyondMemoryAreRefusedBeforeReading(clips: Int, labelRows: Int, expected: String) throws {
        let url = temporaryFile("declared.h5")
        do {
            let file = try HDF5File(creating: url)
            try metadata.write(to: file)
            _ = try file.createDataset("mel", of: Float.self, shape: [clips, settings.nMels, settings.framesPerClip], growable: true, chunk: [1, settings.nMels, settings.framesPerClip])
            _ = try file.createDataset("labels", of: UInt8.self, shape: [labelRows, 3], growable: true, chunk: [1, 3])
            for name in ["label", "group"] { _ = try file.createDataset(name, of: Int32.self, shape: [clips], growable: true, chunk: [1]) }
            for name in ["offset", "rms_db"] { _ = try file.createDataset(name, of: Float.self, shape: [clips], growable: true, chunk: [1]) }
            _ = try file.createStringDataset("source", count: clips, chunk: 1)
        }
        let error = #expect(throws: FileError.self) { try FeatureFileReader(url: url) }
        #expect(error?.reason.contains(expected) == true, "\(error?.reason ?? "")")
    }

    /// A two-clip file whose stored values are then bent as a crafted file might bend them.
    func bentFile(_ name: String, bend: (HDF5File) throws -> Void) throws -> URL {
        let url = temporaryFile(name)
        let writer = try FeatureFileWriter(destination: url, metadata: metadata)
        for index in 0..<2 {
            try writer.append(EncodedClip(melChunk: ChunkCodec.encode(pseudoRandomMel(seed: index, count: settings.nMels * settings.framesPerClip)),
                                          classIndices: [index], source: "\(index).wav", offset: 0, group: Int32(index), rmsDB: -10))
        }
        try writer.commit()
        try bend(try HDF5File(opening: url, mode: .readWrite))
        return url
    }

    /// Values that later index arrays are checked when the file is opened: a class label
    /// beyond the classes, a negative group, and names that do not match the codes.
    @Test(arguments: [
        ("label", "/label of clip 1 is 3, outside -1..<3"),
        ("group", "/group of clip 1 is -5, below 0"),
        ("class_names", "has 3 class codes and 1 class names; it needs one name per code, and at least one"),
    ])
    func valuesThatWouldIndexOutOfRangeAreRefusedAtOpening(bent: String, expected: String) throws {
        let url = try bentFile("bent.h5") { file in
            switch bent {
            case "label": try file.dataset("label").writeRows([Int32(3)], start: 1)
            case "group": try file.dataset("group").writeRows([Int32(-5)], start: 1)
            default: try file.setAttribute("class_names", .strings(["cello"]))
            }
        }
        let error = #expect(throws: FileError.self) { try FeatureFileReader(url: url) }
        #expect(error?.reason == expected)
    }

    /// Merging renumbers each file's groups after the earlier files'; numbers that would
    /// pass 2^31 are refused before anything is written.
    @Test func groupNumbersThatWouldOverflowInAMergeAreRefused() throws {
        let first = try bentFile("first.h5") { _ in }
        let second = try bentFile("second.h5") { file in try file.dataset("group").writeRows([Int32.max - 1], start: 1) }
        let merged = temporaryFile("merged.h5")
        let error = #expect(throws: FileError.self) { try FeatureFileMerger.merge([first, second], into: merged, copy: true) }
        #expect(error?.description == "\(second.path): its group numbers after the earlier files' pass 2^31; merge fewer files at once")
        #expect(!FileManager.default.fileExists(atPath: merged.path))
    }

    @Test func anEmptyFeatureFileIsValid() throws {
        let url = temporaryFile("empty.h5")
        try FeatureFileWriter(destination: url, metadata: metadata).commit()
        let reader = try FeatureFileReader(url: url)
        #expect(reader.count == 0 && reader.labels.isEmpty)
    }

    @Test func anAbandonedWriteLeavesTheExistingFileUntouched() throws {
        let url = temporaryFile("keep.h5")
        let first = try FeatureFileWriter(destination: url, metadata: metadata)
        try first.append(EncodedClip(melChunk: ChunkCodec.encode(pseudoRandomMel(seed: 5, count: settings.nMels * settings.framesPerClip)), classIndices: [0], source: "a.wav", offset: 0, group: 0, rmsDB: -10))
        try first.commit()
        let before = try Data(contentsOf: url)
        do {
            let second = try FeatureFileWriter(destination: url, metadata: metadata)
            try second.append(EncodedClip(melChunk: [1, 2, 3], classIndices: [1], source: "b.wav", offset: 0, group: 0, rmsDB: -10))
            // Dropped without commit, as when a run fails.
        }
        #expect(try Data(contentsOf: url) == before)
        #expect(try FeatureFileReader(url: url).count == 1)
    }

    @Test func aFileWithoutTimbreAttributesIsRejectedByName() throws {
        let url = temporaryFile("other.h5")
        do {
            let file = try HDF5File(creating: url)
            _ = try file.createDataset("mel", of: Float.self, shape: [0, 128, 130], growable: true, chunk: [1, 128, 130])
        }
        let error = #expect(throws: FileError.self) { try FeatureFileReader(url: url) }
        #expect(error?.reason.contains("sample_rate") == true)
    }
}

@Suite struct ErrorDescriptionTests {
    @Test func foundationAndDecodingErrorsBecomeOneLineNamingTheFile() throws {
        let missing = "/no/such/folder/model.json"
        let cocoa = try #require(#expect(throws: CocoaError.self) { _ = try Data(contentsOf: URL(fileURLWithPath: missing)) })
        #expect(ErrorDescription.line(cocoa) == "\(missing): no such file or folder")
        struct Settings: Decodable { let nFFT: Int }
        let decoding = try #require(#expect(throws: DecodingError.self) { _ = try JSONDecoder().decode(Settings.self, from: Data("{\"nFFT\": \"x\"}".utf8)) })
        #expect(ErrorDescription.line(decoding) == "invalid JSON: unexpected value at nFFT")
        #expect(ErrorDescription.line(FileError(path: "a.wav", reason: "cannot decode")) == "a.wav: cannot decode")
    }
}
