import CHDF5
import Foundation
import TimbreCore

/// An open HDF5 file. HDF5 (as Debian builds it) serialises every call behind one global
/// lock, so use a file from one thread at a time.
public final class HDF5File: HDF5AttributeHolder {
    public enum Mode { case readOnly, readWrite }

    public let path: String
    public let id: hid_t
    public var objectID: hid_t { id }

    /// Creates a new file, replacing any file at `url`.
    public init(creating url: URL) throws {
        _ = HDF5Library.initialised
        path = url.path
        id = try check(FileSystemName.withPath(url.path) { H5Fcreate($0, timbre_H5F_ACC_TRUNC(), timbre_H5P_DEFAULT(), HDF5Library.fileAccess) },
                       url.path, "cannot create HDF5 file")
    }

    /// Opens an existing file.
    public init(opening url: URL, mode: Mode = .readOnly) throws {
        _ = HDF5Library.initialised
        path = url.path
        // By the name's bytes, and only a regular file: a named pipe or a device would
        // block the library's first read.
        var status = stat()
        guard FileSystemName.withPath(url.path, { stat($0, &status) }) == 0 else {
            throw FileError(path: url.path, reason: errno == ENOENT ? "no such file" : String(cString: strerror(errno)).lowercased())
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw FileError(path: url.path, reason: "not a regular file") }
        guard FileSystemName.withPath(url.path, { H5Fis_hdf5($0) }) > 0 else {
            H5Eclear2(0)
            throw FileError(path: url.path, reason: "not an HDF5 file")
        }
        let flags = mode == .readOnly ? timbre_H5F_ACC_RDONLY() : timbre_H5F_ACC_RDWR()
        id = try check(FileSystemName.withPath(url.path) { H5Fopen($0, flags, HDF5Library.fileAccess) }, url.path, "cannot open HDF5 file")
    }

    deinit { H5Fclose(id) }

    /// Writes buffered data and metadata to disk.
    public func flush() throws {
        try check(H5Fflush(id, H5F_SCOPE_GLOBAL), path, "cannot flush")
    }

    public func exists(_ name: String) -> Bool {
        // H5Lexists fails unless every parent exists, so check the path one level at a time.
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += "/" + part
            if H5Lexists(id, prefix, timbre_H5P_DEFAULT()) <= 0 { H5Eclear2(0); return false }
        }
        return true
    }

    /// Creates a group and any missing parents.
    public func createGroup(_ name: String) throws {
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += "/" + part
            if !exists(prefix) {
                let group = try check(H5Gcreate2(id, prefix, timbre_H5P_DEFAULT(), timbre_H5P_DEFAULT(), timbre_H5P_DEFAULT()), path, "cannot create group \(prefix)")
                H5Gclose(group)
            }
        }
    }

    /// Creates a dataset of `T` with the given shape.
    /// - Parameters:
    ///   - growable: the first dimension may be extended later.
    ///   - chunk: chunk shape; needed for growth and compression.
    ///   - shuffle, deflateLevel: HDF5's byte-shuffle and zlib filters, in that order.
    public func createDataset<T: HDF5Scalar>(_ name: String, of: T.Type, shape: [Int], growable: Bool = false, chunk: [Int]? = nil, shuffle: Bool = false, deflateLevel: Int? = nil) throws -> HDF5Dataset {
        try createDataset(name, type: T.nativeType, shape: shape, growable: growable, chunk: chunk, shuffle: shuffle, deflateLevel: deflateLevel)
    }

    /// Creates a 1-D dataset of variable-length UTF-8 strings.
    public func createStringDataset(_ name: String, count: Int, chunk: Int? = nil, deflateLevel: Int? = nil) throws -> HDF5Dataset {
        let type = makeUTF8StringType()
        defer { H5Tclose(type) }
        return try createDataset(name, type: type, shape: [count], growable: chunk != nil, chunk: chunk.map { [$0] }, shuffle: false, deflateLevel: deflateLevel)
    }

    private func createDataset(_ name: String, type: hid_t, shape: [Int], growable: Bool, chunk: [Int]?, shuffle: Bool, deflateLevel: Int?) throws -> HDF5Dataset {
        var dims = shape.map { hsize_t($0) }
        var maxDims = dims
        if growable { maxDims[0] = timbre_H5S_UNLIMITED() }
        let space = try check(H5Screate_simple(Int32(dims.count), &dims, &maxDims), path, "cannot create dataspace for \(name)")
        defer { H5Sclose(space) }
        let properties = H5Pcreate(timbre_H5P_DATASET_CREATE())
        defer { H5Pclose(properties) }
        if let chunk {
            var chunkDims = chunk.map { hsize_t(max($0, 1)) }
            try check(H5Pset_chunk(properties, Int32(chunkDims.count), &chunkDims), path, "cannot set chunking for \(name)")
            if shuffle { try check(H5Pset_shuffle(properties), path, "cannot set shuffle for \(name)") }
            if let deflateLevel { try check(H5Pset_deflate(properties, UInt32(deflateLevel)), path, "cannot set deflate for \(name)") }
        }
        let dataset = try check(H5Dcreate2(id, name, type, space, timbre_H5P_DEFAULT(), properties, timbre_H5P_DEFAULT()), path, "cannot create dataset \(name)")
        return HDF5Dataset(id: dataset, path: "\(path):\(name)")
    }

    /// Creates a dataset of `T` whose rows are the rows of datasets in other files, one
    /// after another (an HDF5 virtual dataset: nothing is copied). `file` paths relative to
    /// this file's folder keep working when the folder moves.
    public func createVirtualDataset<T: HDF5Scalar>(_ name: String, of: T.Type, rowShape: [Int], sources: [(file: String, dataset: String, rows: Int)]) throws {
        let total = sources.reduce(0) { $0 + $1.rows }
        var dims = ([total] + rowShape).map { hsize_t($0) }
        let space = try check(H5Screate_simple(Int32(dims.count), &dims, nil), path, "cannot create dataspace for \(name)")
        defer { H5Sclose(space) }
        let properties = H5Pcreate(timbre_H5P_DATASET_CREATE())
        defer { H5Pclose(properties) }
        var start = 0
        for source in sources where source.rows > 0 {
            var sourceDims = ([source.rows] + rowShape).map { hsize_t($0) }
            let sourceSpace = try check(H5Screate_simple(Int32(sourceDims.count), &sourceDims, nil), path, "cannot create dataspace for \(source.file)")
            defer { H5Sclose(sourceSpace) }
            var offset = ([start] + rowShape.map { _ in 0 }).map { hsize_t($0) }
            try check(H5Sselect_hyperslab(space, H5S_SELECT_SET, &offset, nil, &sourceDims, nil), path, "cannot select rows for \(source.file)")
            try check(H5Pset_virtual(properties, space, source.file, source.dataset, sourceSpace), path, "cannot map \(source.file):\(source.dataset)")
            start += source.rows
        }
        H5Sselect_all(space)
        let dataset = try check(H5Dcreate2(id, name, T.nativeType, space, timbre_H5P_DEFAULT(), properties, timbre_H5P_DEFAULT()), path, "cannot create virtual dataset \(name)")
        H5Dclose(dataset)
    }

    /// Opens an existing dataset.
    public func dataset(_ name: String) throws -> HDF5Dataset {
        guard exists(name) else { throw FileError(path: path, reason: "has no dataset \(name)") }
        let dataset = try check(H5Dopen2(id, name, timbre_H5P_DEFAULT()), path, "cannot open dataset \(name)")
        return HDF5Dataset(id: dataset, path: "\(path):\(name)")
    }
}
