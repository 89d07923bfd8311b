import CZlib
import Foundation
import TimbreCore

/// Checks a bundled model against the CRC-32 and size recorded beside it
/// (`NAME.crc32`, written by `make model` and `make separator-model`), so that a damaged
/// or replaced resource is reported in one line instead of being parsed.
public enum BundledResource {
    /// - Throws: `FileError` when the record is missing or the file does not match it.
    public static func verify(_ file: URL) throws {
        let record = file.appendingPathExtension("crc32")
        guard let text = try? String(contentsOf: record, encoding: .utf8) else {
            throw FileError(path: file.path, reason: "has no checksum record \(record.lastPathComponent); reinstall Timbre")
        }
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let expected = UInt32(fields[0], radix: 16), let size = Int(fields[1]) else {
            throw FileError(path: record.path, reason: "is not a checksum record (CRC-32 in hex, then the size)")
        }
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw FileError(path: file.path, reason: "cannot be read")
        }
        let actual = checksum(of: data)
        guard data.count == size, actual == expected else {
            throw FileError(path: file.path, reason: String(format: "is damaged (CRC-32 %08x, %d bytes; expected %08x, %d bytes); reinstall Timbre", actual, data.count, expected, size))
        }
    }

    /// The CRC-32 (zlib's) of a file's bytes, as the records hold it and reports name a
    /// model by.
    public static func checksum(of data: Data) -> UInt32 {
        data.withUnsafeBytes { UInt32(crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt($0.count))) }
    }
}
