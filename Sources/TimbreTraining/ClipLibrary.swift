import Foundation
import TimbreCore
import TimbreStore

/// Several feature files read as one numbered collection of clips.
///
/// Training on many sound sources keeps each source in its own feature file (so one can be
/// left out of training and scored alone); this puts them back together. The files must
/// share the class vocabulary and every setting that changes a clip's log-mel. Clip `i`
/// of the collection is row `i − start` of the file it falls in; recordings (`/group`)
/// are renumbered so groups of different files never coincide.
public final class ClipLibrary {
    public let readers: [FeatureFileReader]
    /// Clips in all files.
    public let count: Int
    /// Index of each file's first clip.
    public let starts: [Int]
    /// The single label of each clip, −1 when it has none or several.
    public let label: [Int32]
    /// Recording ids, unique across files.
    public let groups: [Int32]
    /// Which file (source) each clip comes from.
    public let fileIndex: [Int]

    public convenience init(reader: FeatureFileReader) {
        try! self.init(readers: [reader])
    }

    /// Opens `urls` as one collection.
    public convenience init(urls: [URL]) throws {
        try self.init(readers: urls.map { try FeatureFileReader(url: $0) })
    }

    public init(readers: [FeatureFileReader]) throws {
        guard let first = readers.first else { throw FileError(path: "features", reason: "no feature files given") }
        for other in readers.dropFirst() {
            guard other.metadata.classCodes == first.metadata.classCodes else {
                throw FileError(path: other.url.path, reason: "class codes \(other.metadata.classCodes) differ from \(first.url.lastPathComponent)'s \(first.metadata.classCodes)")
            }
            let differences = first.metadata.settings.logMelDifferences(from: other.metadata.settings, mineCalled: first.url.lastPathComponent)
            guard differences.isEmpty else {
                throw FileError(path: other.url.path, reason: "features made with other settings: \(differences.joined(separator: ", "))")
            }
        }
        self.readers = readers
        var starts: [Int] = [], total = 0
        var label: [Int32] = [], groups: [Int32] = [], fileIndex: [Int] = []
        var renumber: [Int64: Int32] = [:]
        for (file, reader) in readers.enumerated() {
            starts.append(total)
            total += reader.count
            label += reader.label
            fileIndex += [Int](repeating: file, count: reader.count)
            for group in reader.groups {
                let key = Int64(file) << 32 | Int64(UInt32(bitPattern: group))
                if renumber[key] == nil { renumber[key] = Int32(renumber.count) }
                groups.append(renumber[key]!)
            }
        }
        self.starts = starts
        count = total
        self.label = label
        self.groups = groups
        self.fileIndex = fileIndex
    }

    public var metadata: FeatureFileMetadata { readers[0].metadata }
    public var classCount: Int { readers[0].classCount }
    public var melSize: Int { readers[0].melSize }

    /// The file holding clip `index` and its row there.
    public func locate(_ index: Int) -> (reader: FeatureFileReader, row: Int) {
        let file = fileIndex[index]
        return (readers[file], index - starts[file])
    }

    /// The class indices present in clip `index`.
    public func classIndices(of index: Int) -> [Int] {
        let (reader, row) = locate(index)
        return reader.classIndices(of: row)
    }

    /// The clip's RMS level in dBFS, as `prepare` measured it.
    public func rmsDB(of index: Int) -> Float {
        let (reader, row) = locate(index)
        return reader.rmsDB[row]
    }

    /// The clip's source path and offset, for reports.
    public func provenance(of index: Int) -> (source: String, offset: Float) {
        let (reader, row) = locate(index)
        return (reader.sources[row], reader.offsets[row])
    }

    /// Reads clip `index`'s log-mel into `buffer` (melSize floats).
    public func readMel(_ index: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let (reader, row) = locate(index)
        try reader.readMel(start: row, rowCount: 1, into: buffer)
    }

    /// Clip `index`'s log-mel.
    public func mel(_ index: Int) throws -> [Float] {
        var values = [Float](repeating: 0, count: melSize)
        try values.withUnsafeMutableBufferPointer { try readMel(index, into: $0) }
        return values
    }
}
