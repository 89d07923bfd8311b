import CHDF5
import TimbreCore

/// The failure HDF5 just reported, as a `FileError` carrying the library's innermost
/// reason; clears HDF5's error stack.
func hdf5Failure(path: String, action: String) -> FileError {
    var reasons: [String] = []
    withUnsafeMutablePointer(to: &reasons) { context in
        _ = H5Ewalk2(0, H5E_WALK_UPWARD, { _, error, context in
            if let error, let text = error.pointee.desc {
                context!.assumingMemoryBound(to: [String].self).pointee.append(String(cString: text))
            }
            return 0
        }, context)
    }
    H5Eclear2(0)
    let reason = reasons.first.map { "\(action) (\($0))" } ?? action
    return FileError(path: path, reason: reason)
}

/// One-time library set-up: HDF5 prints its error stack to stderr by default; Timbre turns
/// those into Swift errors instead.
enum HDF5Library {
    static let initialised: Bool = {
        H5open()
        H5Eset_auto2(0, nil, nil)
        return true
    }()

    /// How every file is opened and created: without HDF5's file locks. Timbre writes each
    /// file under a hidden name and renames it into place, so no reader meets a file being
    /// written, and the locks only made opening fail: where the file system has no locks
    /// (NFS, say), or while a child process started meanwhile (Festival, a test's `timbre`)
    /// still held a descriptor it inherited from the writer.
    /// Should the library refuse either call, files open with its defaults, locks included.
    static let fileAccess: hid_t = {
        _ = initialised
        let list = H5Pcreate(timbre_H5P_FILE_ACCESS())
        guard list >= 0, H5Pset_file_locking(list, false, true) >= 0 else {
            H5Eclear2(0)
            return timbre_H5P_DEFAULT()
        }
        return list
    }()
}

/// Checks an HDF5 return code (negative means failure).
@discardableResult
func check<T: BinaryInteger>(_ status: T, _ path: String, _ action: @autoclosure () -> String) throws -> T {
    if status < 0 { throw hdf5Failure(path: path, action: action()) }
    return status
}
