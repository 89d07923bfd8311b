import CHDF5
import TimbreCore

/// An open HDF5 dataset: whole or leading-dimension (row) reads and writes, strings, and
/// direct access to compressed chunks.
public final class HDF5Dataset: HDF5AttributeHolder {
    public let id: hid_t
    public let path: String
    public var objectID: hid_t { id }

    init(id: hid_t, path: String) {
        self.id = id
        self.path = path
    }

    deinit { H5Dclose(id) }

    /// Current extent of every dimension (a file's extent beyond `Int.max` reads as `Int.max`).
    public var shape: [Int] {
        let space = H5Dget_space(id)
        defer { H5Sclose(space) }
        let rank = Int(max(0, H5Sget_simple_extent_ndims(space)))
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int(clamping: $0) }
    }

    /// Values a whole-dataset read may hold: 2^28 (1 GiB of floats). A file can declare
    /// any extent without storing it, so reads are checked against this before allocating.
    public static let maximumValuesPerRead = 1 << 28

    /// The number of values in the dataset, `Int.max` when the product overflows.
    public var valueCount: Int { UntrustedSize.product(shape) }

    /// Throws unless `count` values of `bytesEach` bytes fit in one read.
    private func checkReadable(_ count: Int, bytesEach: Int) throws {
        let bytes = count.multipliedReportingOverflow(by: bytesEach)
        guard count <= Self.maximumValuesPerRead, !bytes.overflow, bytes.partialValue <= Self.maximumValuesPerRead * 4 else {
            throw FileError(path: path, reason: "declares \(count == Int.max ? "more than 2^63" : String(count)) values, more than Timbre reads at once (\(Self.maximumValuesPerRead))")
        }
    }

    /// Grows (or shrinks) the first dimension of a growable dataset.
    public func resize(rows: Int) throws {
        var dims = shape.map { hsize_t($0) }
        dims[0] = hsize_t(rows)
        try check(H5Dset_extent(id, &dims), path, "cannot resize to \(rows) rows")
    }

    /// Writes `rowCount` rows starting at row `start`; `values` holds them contiguously.
    public func writeRows<T: HDF5Scalar>(_ values: UnsafeBufferPointer<T>, start: Int, rowCount: Int) throws {
        try withRowSelection(start: start, rowCount: rowCount, expected: values.count) { memory, file in
            try check(H5Dwrite(id, T.nativeType, memory, file, timbre_H5P_DEFAULT(), values.baseAddress), path, "cannot write rows \(start)..<\(start + rowCount)")
        }
    }

    public func writeRows<T: HDF5Scalar>(_ values: [T], start: Int = 0) throws {
        let rowSize = UntrustedSize.product(Array(shape.dropFirst()))
        try values.withUnsafeBufferPointer { try writeRows($0, start: start, rowCount: rowSize == 0 ? 0 : values.count / rowSize) }
    }

    /// Reads `rowCount` rows starting at row `start` into `values`.
    public func readRows<T: HDF5Scalar>(into values: UnsafeMutableBufferPointer<T>, start: Int, rowCount: Int) throws {
        try withRowSelection(start: start, rowCount: rowCount, expected: values.count) { memory, file in
            try check(H5Dread(id, T.nativeType, memory, file, timbre_H5P_DEFAULT(), values.baseAddress), path, "cannot read rows \(start)..<\(start + rowCount)")
        }
    }

    public func readRows<T: HDF5Scalar>(start: Int = 0, rowCount: Int? = nil, as: T.Type = T.self) throws -> [T] {
        let dims = shape
        let rows = rowCount ?? (dims.first ?? 0) - start
        guard rows >= 0 else { throw FileError(path: path, reason: "rows from \(start) outside 0..<\(dims.first ?? 0)") }
        let count = UntrustedSize.product([rows] + dims.dropFirst())
        try checkReadable(count, bytesEach: MemoryLayout<T>.stride)
        var values = [T](repeating: 0, count: count)
        try values.withUnsafeMutableBufferPointer { try readRows(into: $0, start: start, rowCount: rows) }
        return values
    }

    /// Writes a whole 1-D string dataset.
    public func writeStrings(_ strings: [String]) throws {
        let type = makeUTF8StringType()
        defer { H5Tclose(type) }
        try withCStringPointers(strings) { pointers in
            try check(H5Dwrite(id, type, timbre_H5S_ALL(), timbre_H5S_ALL(), timbre_H5P_DEFAULT(), pointers), path, "cannot write strings")
        }
    }

    /// Reads a whole 1-D string dataset (variable- or fixed-length).
    public func readStrings() throws -> [String] {
        let dims = shape
        guard dims.count <= 1 else { throw FileError(path: path, reason: "holds strings of shape \(dims), expected one dimension") }
        let count = dims.first ?? 0
        let fileType = H5Dget_type(id)
        defer { H5Tclose(fileType) }
        try checkReadable(count, bytesEach: max(MemoryLayout<UnsafeRawPointer>.stride, H5Tis_variable_str(fileType) > 0 ? 0 : H5Tget_size(fileType)))
        if H5Tis_variable_str(fileType) > 0 {
            let type = makeUTF8StringType()
            defer { H5Tclose(type) }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            if count > 0 {
                try check(H5Dread(id, type, timbre_H5S_ALL(), timbre_H5S_ALL(), timbre_H5P_DEFAULT(), &pointers), path, "cannot read strings")
            }
            defer { for p in pointers { H5free_memory(p) } }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(fileType)
        var bytes = [UInt8](repeating: 0, count: size * count)
        if count > 0 {
            try check(H5Dread(id, fileType, timbre_H5S_ALL(), timbre_H5S_ALL(), timbre_H5P_DEFAULT(), &bytes), path, "cannot read strings")
        }
        return (0..<count).map { String(decoding: bytes[$0 * size..<($0 + 1) * size].prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Stores an already-filtered (e.g. shuffled and deflated) chunk whose first element
    /// sits at `offset`, bypassing HDF5's own filter pipeline; `filterMask` 0 means every
    /// filter of the dataset was applied.
    public func writeChunk(_ bytes: UnsafeRawBufferPointer, offset: [Int], filterMask: UInt32 = 0) throws {
        var offsets = offset.map { hsize_t($0) }
        try check(H5Dwrite_chunk(id, timbre_H5P_DEFAULT(), filterMask, &offsets, bytes.count, bytes.baseAddress), path, "cannot write chunk at \(offset)")
    }

    /// Reads a chunk's stored (still filtered) bytes and its filter mask.
    public func readChunk(offset: [Int]) throws -> (bytes: [UInt8], filterMask: UInt32) {
        var offsets = offset.map { hsize_t($0) }
        var size: hsize_t = 0
        try check(H5Dget_chunk_storage_size(id, &offsets, &size), path, "cannot size chunk at \(offset)")
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var mask: UInt32 = 0
        try check(H5Dread_chunk(id, timbre_H5P_DEFAULT(), &offsets, &mask, &bytes), path, "cannot read chunk at \(offset)")
        return (bytes, mask)
    }

    private func withRowSelection(start: Int, rowCount: Int, expected: Int, _ body: (hid_t, hid_t) throws -> Void) throws {
        let dims = shape
        let rowSize = UntrustedSize.product(Array(dims.dropFirst()))
        guard start >= 0, rowCount >= 0, rowCount <= (dims.first ?? 0) - start else {
            throw FileError(path: path, reason: "\(rowCount) rows from row \(start) outside 0..<\(dims.first ?? 0)")
        }
        precondition(expected >= UntrustedSize.product([rowCount, rowSize]), "buffer holds fewer than \(rowCount) rows")
        if rowCount == 0 { return }
        let fileSpace = H5Dget_space(id)
        defer { H5Sclose(fileSpace) }
        var offset = [hsize_t](repeating: 0, count: dims.count)
        offset[0] = hsize_t(start)
        var count = dims.map { hsize_t($0) }
        count[0] = hsize_t(rowCount)
        try check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &offset, nil, &count, nil), path, "cannot select rows")
        let memorySpace = H5Screate_simple(Int32(count.count), &count, nil)
        defer { H5Sclose(memorySpace) }
        try body(memorySpace, fileSpace)
    }
}
