import Foundation

/// One line for any error: "PATH: reason" in words, never a raw Foundation or decoding
/// dump.
public enum ErrorDescription {
    public static func line(_ error: Error) -> String {
        switch error {
        case let error as FileError:
            return error.description
        case let error as CocoaError:
            let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? error.filePath ?? error.url?.path
            return (path.map { "\($0): " } ?? "") + reason(error.code)
        case let error as DecodingError:
            return "invalid JSON: \(decodingReason(error))"
        case EncodingError.invalidValue(_, let context):
            return "cannot be written as JSON: \(context.debugDescription)"
        default:
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "unknown error"
        }
    }

    private static func reason(_ code: CocoaError.Code) -> String {
        switch code {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or folder"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileWriteVolumeReadOnly: return "the file system is read-only"
        case .fileWriteFileExists: return "already exists"
        case .fileReadCorruptFile: return "damaged or not in the expected format"
        case .fileReadInapplicableStringEncoding, .fileWriteInapplicableStringEncoding: return "not text in the expected encoding"
        case .fileReadTooLarge: return "too large to read"
        default: return "cannot be read or written (\(code.rawValue))"
        }
    }

    private static func decodingReason(_ error: DecodingError) -> String {
        func at(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "" : " at \(path)"
        }
        switch error {
        case .dataCorrupted(let context): return "damaged\(at(context))"
        case .keyNotFound(let key, let context): return "missing \(key.stringValue)\(at(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "unexpected value\(at(context))"
        @unknown default: return "unreadable"
        }
    }
}
