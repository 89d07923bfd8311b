import CHDF5

/// An HDF5 call failed; `message` carries the library's innermost reason.
public struct HDF5Error: Error, CustomStringConvertible {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }

    /// Builds an error from HDF5's current error stack, then clears it.
    static func current(path: String, action: String) -> HDF5Error {
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
        return HDF5Error(path: path, message: reason)
    }
}

/// One-time library set-up: HDF5 prints its error stack to stderr by default; Timbre turns
/// those into Swift errors instead.
enum HDF5Library {
    static let initialised: Bool = {
        H5open()
        H5Eset_auto2(0, nil, nil)
        return true
    }()
}

/// Checks an HDF5 return code (negative means failure).
@discardableResult
func check<T: BinaryInteger>(_ status: T, _ path: String, _ action: @autoclosure () -> String) throws -> T {
    if status < 0 { throw HDF5Error.current(path: path, action: action()) }
    return status
}
