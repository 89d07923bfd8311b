import Foundation
import TimbreHDF5
import TimbreCore

/// Reads a feature file written by `timbre prepare` (or any tool following DESIGN.md).
///
/// The per-clip arrays (labels, provenance) are loaded at open; log-mel spectrograms are
/// read on demand, so files larger than memory are fine.
public final class FeatureFileReader {
    public let url: URL
    public let metadata: FeatureFileMetadata
    public let count: Int
    /// Multi-hot labels, row-major [count × classes].
    public let labels: [UInt8]
    /// The single label of each clip, or -1 when it has none or several.
    public let label: [Int32]
    public let sources: [String]
    public let offsets: [Float]
    public let groups: [Int32]
    public let rmsDB: [Float]
    private let file: HDF5File
    private let mel: HDF5Dataset

    public var classCount: Int { metadata.classCodes.count }
    /// Values in one clip's log-mel: nMels × frames.
    public var melSize: Int { metadata.settings.nMels * metadata.settings.framesPerClip }

    public init(url: URL) throws {
        self.url = url
        file = try HDF5File(opening: url)
        metadata = try FeatureFileMetadata.read(from: file)
        mel = try file.dataset("mel")
        let shape = mel.shape
        let s = metadata.settings
        guard shape.count == 3, shape[1] == s.nMels, shape[2] == s.framesPerClip else {
            throw FileError(path: url.path, reason: "/mel has shape \(shape), expected [N, \(s.nMels), \(s.framesPerClip)]")
        }
        count = shape[0]
        // Shapes first: a file may declare any extent, and only agreeing ones are read.
        let count = count, classes = metadata.classCodes.count, opened = file
        func perClip(_ name: String, _ expected: [Int]) throws -> HDF5Dataset {
            let dataset = try opened.dataset(name)
            guard dataset.shape == expected else {
                throw FileError(path: opened.path, reason: "/\(name) has shape \(dataset.shape), /mel says \(expected)")
            }
            return dataset
        }
        labels = try perClip("labels", [count, classes]).readRows(as: UInt8.self)
        label = try perClip("label", [count]).readRows(as: Int32.self)
        sources = try perClip("source", [count]).readStrings()
        offsets = try perClip("offset", [count]).readRows(as: Float.self)
        groups = try perClip("group", [count]).readRows(as: Int32.self)
        rmsDB = try perClip("rms_db", [count]).readRows(as: Float.self)
        guard labels.count == count * classCount, [label.count, sources.count, offsets.count, groups.count, rmsDB.count].allSatisfy({ $0 == count }) else {
            throw FileError(path: url.path, reason: "per-clip arrays disagree with /mel on the number of clips")
        }
        // Values index arrays later (a class's clips, a group's number after merging).
        if let row = label.firstIndex(where: { $0 < -1 || Int($0) >= classes }) {
            throw FileError(path: url.path, reason: "/label of clip \(row) is \(label[row]), outside -1..<\(classes)")
        }
        if let row = groups.firstIndex(where: { $0 < 0 }) {
            throw FileError(path: url.path, reason: "/group of clip \(row) is \(groups[row]), below 0")
        }
    }

    /// The class indices present in clip `index`.
    public func classIndices(of index: Int) -> [Int] {
        (0..<classCount).filter { labels[index * classCount + $0] != 0 }
    }

    /// Reads `rowCount` consecutive log-mel clips into `buffer` (rowCount × melSize floats).
    public func readMel(start: Int, rowCount: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try mel.readRows(into: buffer, start: start, rowCount: rowCount)
    }

    /// One clip's log-mel as `ChunkEncoder` stores it: the chunk's bytes as they are in
    /// the file, or, when the file's /mel maps other files, encoded afresh.
    public func encodedMel(at index: Int) throws -> [UInt8] {
        if let chunk = try? mel.readChunk(offset: [index, 0, 0]), chunk.filterMask == 0 { return chunk.bytes }
        return ChunkCodec.encode(try mel(at: index))
    }

    /// One clip's log-mel, band-major [nMels × frames].
    public func mel(at index: Int) throws -> [Float] {
        try mel.readRows(start: index, rowCount: 1, as: Float.self)
    }
}
