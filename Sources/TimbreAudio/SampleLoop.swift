import Foundation

/// Loop points of instrument samples.
///
/// Samplers loop a sustained note over a stretch of its sample. WAV files store the loop
/// in a `smpl` chunk, which libsndfile reads (`AudioFileReader.storedLoop`); FLAC files
/// converted from WAV keep that chunk as "foreign metadata" in an APPLICATION block with
/// the id `riff`, which libsndfile skips. This reads it from there.
public enum SampleLoop {
    /// The first loop of a FLAC file's preserved `smpl` chunk, in frames; nil when the
    /// file has none or is not FLAC.
    public static func flacLoop(_ url: URL) -> Range<Int>? {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return nil }
        defer { try? handle.close() }
        // Metadata blocks come first; loops sit in the first few hundred kilobytes.
        guard let head = try? handle.read(upToCount: 1 << 20), head.count > 8, head.prefix(4) == Data("fLaC".utf8) else { return nil }
        let bytes = [UInt8](head)
        var position = 4
        while position + 4 <= bytes.count {
            let header = bytes[position]
            let length = Int(bytes[position + 1]) << 16 | Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
            let body = position + 4
            guard body + length <= bytes.count else { return nil }
            if header & 0x7F == 2, length >= 4, bytes[body..<body + 4].elementsEqual("riff".utf8),
               let loop = smplLoop(in: bytes[(body + 4)..<(body + length)]) {
                return loop
            }
            if header & 0x80 != 0 { break }
            position = body + length
        }
        return nil
    }

    /// The first loop of a `smpl` chunk found among RIFF chunks (little-endian): after
    /// the 8-byte chunk header, nine 32-bit fields (the eighth counts loops), then
    /// 24-byte loop records whose third and fourth fields are the first and last frame.
    static func smplLoop(in bytes: ArraySlice<UInt8>) -> Range<Int>? {
        guard let found = bytes.indices.dropLast(3).first(where: { bytes[$0..<$0 + 4].elementsEqual("smpl".utf8) }) else { return nil }
        func word(_ offset: Int) -> Int? {
            let at = found + offset
            guard at + 4 <= bytes.endIndex else { return nil }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
        }
        guard let loops = word(8 + 28), loops > 0, let start = word(8 + 36 + 8), let end = word(8 + 36 + 12), end > start else { return nil }
        // The last frame is part of the loop.
        return start..<(end + 1)
    }
}
