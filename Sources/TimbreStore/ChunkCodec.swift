import CZlib

/// HDF5's "shuffle then deflate" filter pipeline for Float chunks, done in Swift so that
/// worker threads compress in parallel and the single HDF5 writer thread only stores bytes
/// (`H5Dwrite_chunk`). The output is an ordinary zlib stream of shuffled bytes, exactly
/// what HDF5's own filters read, so any HDF5 reader (h5py included) decodes it.
///
/// Compression uses zlib's run-length strategy: on shuffled log-mel floats it was measured
/// to compress slightly better than level 1 (70.1% vs 70.7% of raw) in a third of the time.
/// One encoder per thread; it reuses its zlib state between chunks.
public final class ChunkEncoder {
    private var stream = z_stream()
    private var shuffled: [UInt8] = []

    public init() {
        let status = timbre_deflateInit2(&stream, 1, Z_RLE)
        precondition(status == Z_OK, "zlib deflateInit2 failed with \(status)")
    }

    deinit { deflateEnd(&stream) }

    /// Shuffles the bytes of `values` (all first bytes, then all second bytes, ...) and
    /// deflates them.
    public func encode(_ values: UnsafeBufferPointer<Float>) -> [UInt8] {
        let byteCount = values.count * 4
        if shuffled.count != byteCount { shuffled = [UInt8](repeating: 0, count: byteCount) }
        ChunkCodec.shuffle(values, into: &shuffled)
        var compressed = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(byteCount))))
        deflateReset(&stream)
        let produced: Int = shuffled.withUnsafeMutableBufferPointer { input in
            compressed.withUnsafeMutableBufferPointer { output in
                stream.next_in = input.baseAddress
                stream.avail_in = uInt(byteCount)
                stream.next_out = output.baseAddress
                stream.avail_out = uInt(output.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "zlib deflate failed with \(status)")
                return output.count - Int(stream.avail_out)
            }
        }
        compressed.removeLast(compressed.count - produced)
        return compressed
    }

    public func encode(_ values: [Float]) -> [UInt8] {
        values.withUnsafeBufferPointer { encode($0) }
    }
}

/// Stateless helpers of the chunk format.
public enum ChunkCodec {
    /// Encodes with a throw-away encoder; prefer a long-lived `ChunkEncoder` in loops.
    public static func encode(_ values: [Float]) -> [UInt8] { ChunkEncoder().encode(values) }

    static func shuffle(_ values: UnsafeBufferPointer<Float>, into shuffled: inout [UInt8]) {
        let count = values.count
        let raw = UnsafeRawBufferPointer(values)
        shuffled.withUnsafeMutableBufferPointer { out in
            for index in 0..<count {
                let base = index * 4
                out[index] = raw[base]
                out[count + index] = raw[base + 1]
                out[2 * count + index] = raw[base + 2]
                out[3 * count + index] = raw[base + 3]
            }
        }
    }

    /// Inverse of encoding: inflates and unshuffles `values.count` floats into `values`.
    /// Returns false when the bytes are not a valid chunk of that size.
    public static func decode(_ bytes: [UInt8], into values: UnsafeMutableBufferPointer<Float>) -> Bool {
        let byteCount = values.count * 4
        var shuffled = [UInt8](repeating: 0, count: byteCount)
        var size = uLong(byteCount)
        guard uncompress(&shuffled, &size, bytes, uLong(bytes.count)) == Z_OK, Int(size) == byteCount else { return false }
        let raw = UnsafeMutableRawBufferPointer(values)
        let count = values.count
        shuffled.withUnsafeBufferPointer { input in
            for index in 0..<count {
                let base = index * 4
                raw[base] = input[index]
                raw[base + 1] = input[count + index]
                raw[base + 2] = input[2 * count + index]
                raw[base + 3] = input[3 * count + index]
            }
        }
        return true
    }
}
