import CZlib

/// HDF5's "shuffle then deflate" filter pipeline for Float chunks, done in Swift so that
/// worker threads compress in parallel and the single HDF5 writer thread only stores bytes
/// (`H5Dwrite_chunk`). The output is byte-identical in format to what HDF5's own filters
/// produce, so any HDF5 reader (h5py included) decodes it.
public enum ChunkCodec {
    /// Shuffles the bytes of `values` (all first bytes, then all second bytes, ...) and
    /// compresses them with zlib at `level`.
    public static func encode(_ values: UnsafeBufferPointer<Float>, level: Int32) -> [UInt8] {
        let byteCount = values.count * 4
        var shuffled = [UInt8](repeating: 0, count: byteCount)
        let raw = UnsafeRawBufferPointer(values)
        shuffled.withUnsafeMutableBufferPointer { out in
            for byte in 0..<4 {
                let base = byte * values.count
                for index in 0..<values.count { out[base + index] = raw[index * 4 + byte] }
            }
        }
        var compressedSize = compressBound(uLong(byteCount))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        let status = compress2(&compressed, &compressedSize, shuffled, uLong(byteCount), level)
        precondition(status == Z_OK, "zlib compress2 failed with \(status)")
        compressed.removeLast(compressed.count - Int(compressedSize))
        return compressed
    }

    public static func encode(_ values: [Float], level: Int32) -> [UInt8] {
        values.withUnsafeBufferPointer { encode($0, level: level) }
    }

    /// Inverse of `encode`: inflates and unshuffles `count` floats into `values`.
    /// Returns false when the bytes are not a valid chunk of that size.
    public static func decode(_ bytes: [UInt8], into values: UnsafeMutableBufferPointer<Float>) -> Bool {
        let byteCount = values.count * 4
        var shuffled = [UInt8](repeating: 0, count: byteCount)
        var size = uLong(byteCount)
        guard uncompress(&shuffled, &size, bytes, uLong(bytes.count)) == Z_OK, Int(size) == byteCount else { return false }
        let raw = UnsafeMutableRawBufferPointer(values)
        shuffled.withUnsafeBufferPointer { input in
            for byte in 0..<4 {
                let base = byte * values.count
                for index in 0..<values.count { raw[index * 4 + byte] = input[base + index] }
            }
        }
        return true
    }
}
