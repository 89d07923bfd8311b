import Foundation
import TimbreCore
import TimbreStore

/// The binary form of a finished job in the resume journal: its key, the stamps of the
/// files it read, its counters and its clips, little-endian.
///
/// Decoding checks every length against the bytes that remain, so a damaged record gives
/// nil, never a crash or an absurd allocation.
enum JobRecordCoding {
    static func encode(key: String, result: JobResult) -> [UInt8] {
        var out = ByteWriter()
        out.string(key)
        out.integer(UInt32(result.stamps.count))
        for stamp in result.stamps {
            out.integer(UInt64(bitPattern: stamp.size))
            out.integer(UInt64(bitPattern: stamp.modifiedNanoseconds))
        }
        out.integer(UInt64(result.silentClips))
        out.integer(result.seconds.bitPattern)
        out.integer(UInt32(result.clips.count))
        for clip in result.clips {
            out.string(clip.source)
            out.integer(clip.offset.bitPattern)
            out.integer(UInt32(bitPattern: clip.group))
            out.integer(clip.rmsDB.bitPattern)
            out.integer(UInt32(clip.classIndices.count))
            for index in clip.classIndices { out.integer(UInt32(index)) }
            out.bytes(clip.melChunk)
        }
        return out.data
    }

    /// What comes before a record's clips.
    struct Head {
        let key: String
        let stamps: [FileStamp]
        let silentClips: Int
        let seconds: Double
        let clips: Int
    }

    /// The head only, for the index built when the journal is opened.
    static func decodeHead(_ bytes: UnsafeRawBufferPointer) -> Head? {
        var input = ByteReader(bytes)
        return head(&input)
    }

    private static func head(_ input: inout ByteReader) -> Head? {
        guard let key = input.string(), let stamps = stamps(&input),
              let silent = input.integer(UInt64.self), silent <= UInt64(Int.max),
              let seconds = input.integer(UInt64.self),
              let count = input.integer(UInt32.self), Int(count) <= input.remaining else { return nil }
        return Head(key: key, stamps: stamps, silentClips: Int(silent), seconds: Double(bitPattern: seconds), clips: Int(count))
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> (key: String, result: JobResult)? {
        var input = ByteReader(bytes)
        guard let head = head(&input) else { return nil }
        let key = head.key
        var result = JobResult(clips: [], silentClips: head.silentClips, seconds: head.seconds, stamps: head.stamps)
        result.clips.reserveCapacity(head.clips)
        for _ in 0..<head.clips {
            guard let source = input.string(),
                  let offset = input.integer(UInt32.self),
                  let group = input.integer(UInt32.self),
                  let rms = input.integer(UInt32.self),
                  let classCount = input.integer(UInt32.self), Int(classCount) <= input.remaining / 4 else { return nil }
            var classes: [Int] = []
            for _ in 0..<classCount {
                guard let index = input.integer(UInt32.self) else { return nil }
                classes.append(Int(index))
            }
            guard let chunk = input.byteString() else { return nil }
            result.clips.append(EncodedClip(melChunk: chunk, classIndices: classes, source: source, offset: Float(bitPattern: offset),
                                            group: Int32(bitPattern: group), rmsDB: Float(bitPattern: rms)))
        }
        return input.remaining == 0 ? (key, result) : nil
    }

    private static func stamps(_ input: inout ByteReader) -> [FileStamp]? {
        guard let count = input.integer(UInt32.self), Int(count) <= input.remaining / 16 else { return nil }
        var stamps: [FileStamp] = []
        for _ in 0..<count {
            guard let size = input.integer(UInt64.self), let modified = input.integer(UInt64.self) else { return nil }
            stamps.append(FileStamp(size: Int64(bitPattern: size), modifiedNanoseconds: Int64(bitPattern: modified)))
        }
        return stamps
    }
}

/// Appends little-endian integers and length-prefixed byte strings.
struct ByteWriter {
    private(set) var data: [UInt8] = []

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    mutating func bytes(_ bytes: [UInt8]) {
        integer(UInt32(bytes.count))
        data.append(contentsOf: bytes)
    }

    mutating func string(_ text: String) { bytes(Array(text.utf8)) }
}

/// Reads what `ByteWriter` wrote; every read returns nil instead of running past the end.
struct ByteReader {
    private let source: UnsafeRawBufferPointer
    private var cursor = 0

    init(_ source: UnsafeRawBufferPointer) { self.source = source }

    var remaining: Int { source.count - cursor }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[cursor..<cursor + size])) }
        cursor += size
        return T(littleEndian: value)
    }

    mutating func byteString() -> [UInt8]? {
        guard let count = integer(UInt32.self), Int(count) <= remaining else { return nil }
        defer { cursor += Int(count) }
        return Array(source[cursor..<cursor + Int(count)])
    }

    mutating func string() -> String? {
        guard let raw = byteString() else { return nil }
        return String(validating: raw, as: UTF8.self)
    }
}
