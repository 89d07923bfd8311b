import Foundation
import TimbreHDF5
import TimbreCore

/// One clip ready for the feature file: its log-mel already compressed by `ChunkEncoder`,
/// plus labels and provenance. Codable without the chunk, so a resume record can keep the
/// metadata as JSON and the chunk bytes beside it.
public struct EncodedClip: Sendable, Codable, Equatable {
    /// `ChunkEncoder.encode` of the [nMels × frames] log-mel.
    public var melChunk: [UInt8]
    /// Indices into the file's class codes of every instrument present (multi-hot).
    public var classIndices: [Int]
    /// Path of the source audio relative to its input root.
    public var source: String
    /// Start of the clip in the source, seconds.
    public var offset: Float
    /// Recording id for leakage-free splits.
    public var group: Int32
    /// RMS level of the clip's audio in dBFS.
    public var rmsDB: Float

    public init(melChunk: [UInt8], classIndices: [Int], source: String, offset: Float, group: Int32, rmsDB: Float) {
        self.melChunk = melChunk
        self.classIndices = classIndices
        self.source = source
        self.offset = offset
        self.group = group
        self.rmsDB = rmsDB
    }

    enum CodingKeys: String, CodingKey { case classIndices = "classes", source, offset, group, rmsDB = "rms_db" }

    /// Decodes the metadata; `melChunk` is left empty for the caller to fill.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        melChunk = []
        classIndices = try c.decode([Int].self, forKey: .classIndices)
        source = try c.decode(String.self, forKey: .source)
        offset = try c.decode(Float.self, forKey: .offset)
        group = try c.decode(Int32.self, forKey: .group)
        rmsDB = try c.decode(Float.self, forKey: .rmsDB)
    }
}

/// Writes a feature file (DESIGN.md) atomically: everything goes to a hidden file beside
/// the destination, which replaces the destination only in `commit`. An interrupted or
/// failed write never damages an existing file.
///
/// Log-mel chunks arrive pre-compressed and are stored with `H5Dwrite_chunk`, one clip per
/// chunk; the small per-clip arrays are written at commit.
public final class FeatureFileWriter {
    /// The deflate level recorded in the `/mel` filter pipeline (the chunks themselves come
    /// from `ChunkEncoder`; readers ignore the level when inflating).
    static let melDeflateLevel = 1

    public let destination: URL
    public let metadata: FeatureFileMetadata
    private let partial: URL
    private var file: HDF5File?
    private var mel: HDF5Dataset?
    private var classIndices: [[Int]] = []
    private var sources: [String] = []
    private var offsets: [Float] = []
    private var groups: [Int32] = []
    private var levels: [Float] = []
    /// Set for a merged file whose /mel maps other files' rows instead of holding chunks.
    private let virtualMel: [(file: String, rows: Int)]?

    public var count: Int { sources.count }

    public convenience init(destination: URL, metadata: FeatureFileMetadata) throws {
        try self.init(destination: destination, metadata: metadata, virtualMel: nil)
    }

    /// A writer whose /mel will be an HDF5 virtual dataset over the /mel of `sources`, in
    /// order (paths as the merged file should record them); clips are then added with
    /// `appendReference`, without their chunks.
    public convenience init(destination: URL, metadata: FeatureFileMetadata, virtualMelFrom sources: [(file: String, rows: Int)]) throws {
        try self.init(destination: destination, metadata: metadata, virtualMel: sources)
    }

    private init(destination: URL, metadata: FeatureFileMetadata, virtualMel: [(file: String, rows: Int)]?) throws {
        self.destination = destination
        self.metadata = metadata
        self.virtualMel = virtualMel
        partial = destination.deletingLastPathComponent().appendingPathComponent(".\(destination.lastPathComponent).partial")
        FileSystemName.remove(partial.path)
        let file = try HDF5File(creating: partial)
        self.file = file
        guard virtualMel == nil else { return }
        let s = metadata.settings
        mel = try file.createDataset(
            "mel", of: Float.self, shape: [0, s.nMels, s.framesPerClip], growable: true,
            chunk: [1, s.nMels, s.framesPerClip], shuffle: true, deflateLevel: Self.melDeflateLevel)
    }

    deinit {
        if file != nil { abandon() }
    }

    /// Adds the per-clip data of the next row of a virtual /mel (its chunk is not needed).
    public func appendReference(_ clip: EncodedClip) {
        precondition(virtualMel != nil && file != nil, "appendReference needs a writer made with virtualMelFrom")
        classIndices.append(clip.classIndices)
        sources.append(clip.source)
        offsets.append(clip.offset)
        groups.append(clip.group)
        levels.append(clip.rmsDB)
    }

    /// Appends one clip.
    public func append(_ clip: EncodedClip) throws {
        guard let mel else { preconditionFailure("append after commit") }
        let row = count
        try mel.resize(rows: row + 1)
        try clip.melChunk.withUnsafeBytes { try mel.writeChunk($0, offset: [row, 0, 0]) }
        classIndices.append(clip.classIndices)
        sources.append(clip.source)
        offsets.append(clip.offset)
        groups.append(clip.group)
        levels.append(clip.rmsDB)
    }

    /// Writes the per-clip arrays and attributes, then moves the file into place.
    public func commit() throws {
        guard let file else { preconditionFailure("commit twice") }
        let n = count
        let classes = metadata.classCodes.count
        var multiHot = [UInt8](repeating: 0, count: n * classes)
        var single = [Int32](repeating: -1, count: n)
        for (row, indices) in classIndices.enumerated() {
            for index in indices { multiHot[row * classes + index] = 1 }
            if indices.count == 1 { single[row] = Int32(indices[0]) }
        }
        if let virtualMel {
            guard virtualMel.reduce(0, { $0 + $1.rows }) == n else { preconditionFailure("references do not match the mapped rows") }
            let s = metadata.settings
            try file.createVirtualDataset("mel", of: Float.self, rowShape: [s.nMels, s.framesPerClip],
                                          sources: virtualMel.map { ($0.file, "mel", $0.rows) })
        }
        let chunk = max(1, min(n, 4096))
        try file.createDataset("labels", of: UInt8.self, shape: [n, classes], growable: true, chunk: [chunk, max(classes, 1)], deflateLevel: 4).writeRows(multiHot)
        try file.createDataset("label", of: Int32.self, shape: [n], growable: true, chunk: [chunk], deflateLevel: 4).writeRows(single)
        try file.createStringDataset("source", count: n, chunk: chunk, deflateLevel: 4).writeStrings(sources)
        try file.createDataset("offset", of: Float.self, shape: [n], growable: true, chunk: [chunk], deflateLevel: 4).writeRows(offsets)
        try file.createDataset("group", of: Int32.self, shape: [n], growable: true, chunk: [chunk], deflateLevel: 4).writeRows(groups)
        try file.createDataset("rms_db", of: Float.self, shape: [n], growable: true, chunk: [chunk], deflateLevel: 4).writeRows(levels)
        try metadata.write(to: file)
        try file.flush()
        mel = nil
        self.file = nil  // closes the file
        try Self.syncToDisk(partial)
        guard FileSystemName.rename(partial.path, to: destination.path) else {
            throw FileError(path: destination.path, reason: "cannot move finished file into place (\(String(cString: strerror(errno))))")
        }
    }

    /// Drops the unfinished file.
    public func abandon() {
        mel = nil
        file = nil
        FileSystemName.remove(partial.path)
    }

    private static func syncToDisk(_ url: URL) throws {
        let fd = FileSystemName.withPath(url.path) { open($0, O_RDONLY) }
        guard fd >= 0 else { throw FileError(path: url.path, reason: "cannot reopen to sync") }
        defer { close(fd) }
        fsync(fd)
    }
}
