import CZlib
import Foundation
import TimbreCore
import TimbreDatasets

/// The resume record of an unfinished `prepare`: one append-only file beside the output,
/// `.NAME.journal`, holding every finished job.
///
/// Each job is one record, `TJR1`, payload length, CRC-32 of the payload, then the payload
/// (`JobRecordCoding`), written with a single `pwrite` by the one thread that also writes
/// the feature file. A process killed at any instant leaves whole records and at most one
/// torn record at the end; opening the journal keeps the whole ones and cuts the rest
/// away, so nothing finished is lost and nothing is counted twice. The data are synced at
/// most once a second: after a power failure, records since the last sync may be missing
/// or damaged, and their checksums send those jobs back to the queue.
///
/// A record serves a later run only if the job's files still have the size and
/// modification time they had when it was made; the whole journal is discarded when the
/// feature settings (the fingerprint) differ.
public final class ResumeJournal {
    public let url: URL
    private let descriptor: Int32
    private var end: Int64
    private var index: [String: Entry] = [:]
    private var lastSync = Date()

    /// Where a record sits and what it says without reading its clips.
    struct Entry {
        let offset: Int64
        let length: Int
        let stamps: [FileStamp]
        let clips: Int
        let silentClips: Int
    }

    private static let fileMagic = Array("TIMBRE-JOURNAL-1\n".utf8)
    private static let recordMagic = Array("TJR1".utf8)
    private static let frameSize = 12
    /// The largest record written (a job of many hours of stems holds a few hundred
    /// megabytes of features).
    private static let maxRecordBytes = 1 << 31
    static let syncInterval = 1.0

    /// Opens (or starts) the journal for `output` and `fingerprint` (the settings).
    /// - Throws: `FileError` when the journal cannot be created or read.
    public init(output: URL, fingerprint: String) throws {
        let folder = output.deletingLastPathComponent()
        url = folder.appendingPathComponent(".\(output.lastPathComponent).journal")
        // Earlier versions kept a folder of part files there; they are not read any more.
        try? FileManager.default.removeItem(at: folder.appendingPathComponent(".\(output.lastPathComponent).parts"))
        descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileError(path: url.path, reason: "cannot open resume journal (\(String(cString: strerror(errno)).lowercased()))") }
        end = 0
        let header = Self.fileMagic + Self.frame(Array(fingerprint.utf8))
        if readBytes(at: 0, count: header.count) == header {
            end = Int64(header.count)
            scanRecords()
        } else {
            guard ftruncate(descriptor, 0) == 0 else { throw failure("cannot reset resume journal") }
            try write(header)
        }
    }

    deinit { close(descriptor) }

    /// Stable key of a job: its files' paths and labels and its group.
    public static func key(of job: PreparationJob) -> String {
        var hash = FNV1a()
        // Each field ends in 0xff, a byte UTF-8 never holds, so fields cannot run together.
        func mix(_ text: String) {
            hash.add(text)
            hash.add(0xff)
        }
        for file in job.files {
            mix(file.relativePath)
            mix(file.url.path)
            mix(file.classIndices.map(String.init).joined(separator: ","))
        }
        mix(job.group)
        return String(hash.value, radix: 16)
    }

    /// Clip counts of `job`'s record when it has one and its files are unchanged since.
    public func counts(_ job: PreparationJob, key: String) -> (clips: Int, silentClips: Int)? {
        guard let entry = index[key],
              entry.stamps == job.files.map({ FileStamp.of(path: $0.url.path) }) else { return nil }
        return (entry.clips, entry.silentClips)
    }

    /// Records a finished job. Its result must carry the stamps of the files it read.
    /// - Throws: `FileError` when the record cannot be written (e.g. the disk is full).
    public func append(_ result: JobResult, key: String) throws {
        let payload = JobRecordCoding.encode(key: key, result: result)
        guard payload.count <= Self.maxRecordBytes else { throw FileError(path: url.path, reason: "a job's record exceeds 2 GB") }
        let offset = end
        try write(Self.frame(payload))
        index[key] = Entry(offset: offset, length: payload.count, stamps: result.stamps, clips: result.clips.count, silentClips: result.silentClips)
        if Date().timeIntervalSince(lastSync) >= Self.syncInterval { sync() }
    }

    /// The result recorded for `key`, or nil when there is none or it is damaged.
    public func load(_ key: String) -> JobResult? {
        guard let entry = index[key],
              let payload = readBytes(at: entry.offset + Int64(Self.frameSize), count: entry.length),
              let frame = readBytes(at: entry.offset, count: Self.frameSize),
              Self.checksum(payload) == Self.uint32(frame, at: 8) else { return nil }
        return payload.withUnsafeBytes { JobRecordCoding.decode($0) }.flatMap { $0.key == key ? $0.result : nil }
    }

    /// Flushes the records to the disk.
    public func sync() {
        _ = fdatasync(descriptor)
        lastSync = Date()
    }

    /// Deletes the journal once the feature file is in place.
    public func remove() {
        unlink(url.path)
    }

    /// Indexes the records after the header; cuts the file at the first one that is torn
    /// or damaged, so that new records follow the last good one.
    private func scanRecords() {
        var status = stat()
        let size = fstat(descriptor, &status) == 0 ? Int64(status.st_size) : 0
        while let frame = readBytes(at: end, count: Self.frameSize), Array(frame[0..<4]) == Self.recordMagic {
            let length = Int(Self.uint32(frame, at: 4))
            guard end + Int64(Self.frameSize + length) <= size,
                  let payload = readBytes(at: end + Int64(Self.frameSize), count: length),
                  Self.checksum(payload) == Self.uint32(frame, at: 8),
                  let head = payload.withUnsafeBytes({ JobRecordCoding.decodeHead($0) }) else { break }
            index[head.key] = Entry(offset: end, length: length, stamps: head.stamps, clips: head.clips, silentClips: head.silentClips)
            end += Int64(Self.frameSize + length)
        }
        _ = ftruncate(descriptor, off_t(end))
    }

    private static func frame(_ payload: [UInt8]) -> [UInt8] {
        var framed = recordMagic
        var writer = ByteWriter()
        writer.integer(UInt32(payload.count))
        writer.integer(checksum(payload))
        framed += writer.data
        framed += payload
        return framed
    }

    private static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
    }

    private static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    /// Exactly `count` bytes at `offset`, or nil when the file is shorter.
    private func readBytes(at offset: Int64, count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            got += n
        }
        return bytes
    }

    /// Writes `bytes` at the end of the journal.
    private func write(_ bytes: [UInt8]) throws {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + written, bytes.count - written, off_t(end) + off_t(written)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                // Leave no partial record behind for the next append to follow.
                _ = ftruncate(descriptor, off_t(end))
                throw failure("cannot write resume journal")
            }
            written += n
        }
        end += Int64(bytes.count)
    }

    private func failure(_ what: String) -> FileError {
        FileError(path: url.path, reason: "\(what) (\(String(cString: strerror(errno)).lowercased()))")
    }
}
