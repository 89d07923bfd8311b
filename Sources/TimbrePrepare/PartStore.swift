import Foundation
import TimbreDSP
import TimbreDatasets
import TimbreStore
import TimbreCore

/// The resume record of an unfinished `prepare`: a folder beside the output holding one
/// part file per finished job. Each part is written atomically (temporary file, then
/// rename), so a run killed at any instant loses at most the jobs in flight, and the next
/// run with the same output skips every job that has a part.
///
/// Parts are keyed by the job's files (path, size, modification time); the folder is
/// discarded when the feature settings differ from the ones it was made with.
public final class PartStore: @unchecked Sendable {
    public let folder: URL
    private static let magic = Array("TIMBRE-PART-1\n".utf8)

    /// Opens (or starts) the record for `output` and `fingerprint` (the settings).
    /// Returns whether existing parts were kept.
    public init(output: URL, fingerprint: String) throws {
        folder = output.deletingLastPathComponent().appendingPathComponent(".\(output.lastPathComponent).parts")
        let manager = FileManager.default
        let stamp = folder.appendingPathComponent("settings.json")
        if manager.fileExists(atPath: folder.path) {
            let previous = try? String(contentsOf: stamp, encoding: .utf8)
            if previous != fingerprint { try manager.removeItem(at: folder) }
        }
        if !manager.fileExists(atPath: folder.path) {
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(fingerprint.utf8).write(to: stamp, options: .atomic)
        }
    }

    /// Stable key of a job: its files' relative paths, sizes and modification times.
    public static func key(of job: PreparationJob) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = (hash ^ 0xff) &* 0x0000_0100_0000_01b3
        }
        for file in job.files {
            mix(file.relativePath)
            mix(file.url.path)
            let attributes = try? FileManager.default.attributesOfItem(atPath: file.url.path)
            mix(String(describing: attributes?[.size] ?? 0))
            mix(String(describing: (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0))
            mix(file.classIndices.map(String.init).joined(separator: ","))
        }
        mix(job.group)
        return String(hash, radix: 16)
    }

    private func url(for key: String) -> URL { folder.appendingPathComponent("\(key).part") }


    /// A part's JSON header; the clips' chunk bytes follow it in order.
    private struct Header: Codable {
        let silentClips: Int
        let seconds: Double
        let clips: [EncodedClip]
        let chunkSizes: [Int]
    }

    /// Saves a job's result atomically.
    public func save(_ result: JobResult, key: String) throws {
        let header = try JSONEncoder().encode(Header(silentClips: result.silentClips, seconds: result.seconds, clips: result.clips, chunkSizes: result.clips.map(\.melChunk.count)))
        var data = Data(Self.magic)
        var length = UInt32(header.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(header)
        for clip in result.clips { data.append(contentsOf: clip.melChunk) }
        // Write then rename: a killed process leaves either the whole part or none. No
        // fsync: after a power loss a torn part fails `load`'s checks and is recomputed.
        let destination = url(for: key)
        let temporary = folder.appendingPathComponent(".\(key).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: data) else {
            throw FileError(path: temporary.path, reason: "cannot write resume record")
        }
        guard rename(temporary.path, destination.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw FileError(path: destination.path, reason: "cannot move resume record into place")
        }
    }

    /// Reads a part's header (not its chunks) and checks that the file holds exactly the
    /// chunks it lists. Nil when the part is missing or damaged.
    private func header(_ key: String) -> (header: Header, chunksStart: Int, handle: FileHandle)? {
        guard let handle = try? FileHandle(forReadingFrom: url(for: key)),
              let prefix = try? handle.read(upToCount: Self.magic.count + 4), prefix.count == Self.magic.count + 4,
              Array(prefix.prefix(Self.magic.count)) == Self.magic else { return nil }
        let length = prefix.suffix(4).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard let json = try? handle.read(upToCount: length), json.count == length,
              let header = try? JSONDecoder().decode(Header.self, from: json),
              header.chunkSizes.count == header.clips.count,
              let size = try? handle.seekToEnd(),
              Int(size) == prefix.count + length + header.chunkSizes.reduce(0, +) else { return nil }
        return (header, prefix.count + length, handle)
    }

    /// Clip counts of a saved result without reading its features; nil when the part is
    /// missing or damaged.
    public func counts(_ key: String) -> (clips: Int, silentClips: Int)? {
        header(key).map { ($0.header.clips.count, $0.header.silentClips) }
    }

    /// Loads a saved result, or nil when the part is missing or damaged.
    public func load(_ key: String) -> JobResult? {
        guard let (header, chunksStart, handle) = header(key),
              (try? handle.seek(toOffset: UInt64(chunksStart))) != nil,
              let data = try? handle.readToEnd() ?? Data() else { return nil }
        var cursor = 0
        var result = JobResult(clips: [], silentClips: header.silentClips, seconds: header.seconds)
        for (var clip, size) in zip(header.clips, header.chunkSizes) {
            guard cursor + size <= data.count else { return nil }
            clip.melChunk = [UInt8](data[cursor..<cursor + size])
            cursor += size
            result.clips.append(clip)
        }
        return cursor == data.count ? result : nil
    }

    /// Deletes the record once the feature file is in place.
    public func remove() {
        try? FileManager.default.removeItem(at: folder)
    }
}
