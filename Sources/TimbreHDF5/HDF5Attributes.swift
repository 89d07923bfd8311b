import CHDF5
import Foundation
import TimbreCore

/// A value stored as an HDF5 attribute.
public enum HDF5AttributeValue: Equatable, Sendable {
    case string(String)
    case strings([String])
    case int(Int)
    case ints([Int])
    case double(Double)
    case doubles([Double])

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var stringsValue: [String]? {
        switch self {
        case .strings(let s): return s
        case .string(let s): return [s]
        default: return nil
        }
    }
    public var intValue: Int? {
        switch self {
        case .int(let v): return v
        case .double(let v): return Int(exactly: v)
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .double(let v): return v
        case .int(let v): return Double(v)
        default: return nil
        }
    }
}

/// Something attributes hang on: a file's root group or a dataset.
public protocol HDF5AttributeHolder {
    var objectID: hid_t { get }
    var path: String { get }
}

extension HDF5AttributeHolder {
    /// Writes (or replaces) an attribute.
    public func setAttribute(_ name: String, _ value: HDF5AttributeValue) throws {
        try removeAttribute(name)
        switch value {
        case .string(let s): try writeStrings(name, [s], scalar: true)
        case .strings(let s): try writeStrings(name, s, scalar: false)
        case .int(let v): try writeNumbers(name, [Int64(v)], scalar: true)
        case .ints(let v): try writeNumbers(name, v.map(Int64.init), scalar: false)
        case .double(let v): try writeNumbers(name, [v], scalar: true)
        case .doubles(let v): try writeNumbers(name, v, scalar: false)
        }
    }

    /// Deletes an attribute if it exists.
    public func removeAttribute(_ name: String) throws {
        if H5Aexists(objectID, name) > 0 { try check(H5Adelete(objectID, name), path, "cannot delete attribute \(name)") }
    }

    /// Values (or bytes per value) an attribute may declare: 2^24.
    public static var maximumAttributeValues: Int { 1 << 24 }

    /// Reads an attribute, or nil when it does not exist.
    public func attribute(_ name: String) throws -> HDF5AttributeValue? {
        guard H5Aexists(objectID, name) > 0 else { return nil }
        let attr = try check(H5Aopen(objectID, name, timbre_H5P_DEFAULT()), path, "cannot open attribute \(name)")
        defer { H5Aclose(attr) }
        let type = H5Aget_type(attr), space = H5Aget_space(attr)
        defer { H5Tclose(type); H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        let scalar = H5Sget_simple_extent_type(space) == H5S_SCALAR
        // Attributes are small by nature; a file declaring a huge one is refused before any allocation.
        guard count >= 0, count <= Self.maximumAttributeValues, H5Tget_size(type) <= Self.maximumAttributeValues else {
            throw FileError(path: path, reason: "attribute \(name) declares more than \(Self.maximumAttributeValues) values or bytes")
        }
        switch H5Tget_class(type) {
        case H5T_STRING:
            let strings = try readStrings(attr, type: type, count: count)
            return scalar ? .string(strings.first ?? "") : .strings(strings)
        case H5T_INTEGER:
            var values = [Int64](repeating: 0, count: count)
            if count > 0 { try check(H5Aread(attr, timbre_H5T_NATIVE_INT64(), &values), path, "cannot read attribute \(name)") }
            return scalar ? .int(Int(values.first ?? 0)) : .ints(values.map(Int.init))
        case H5T_FLOAT:
            var values = [Double](repeating: 0, count: count)
            if count > 0 { try check(H5Aread(attr, timbre_H5T_NATIVE_DOUBLE(), &values), path, "cannot read attribute \(name)") }
            return scalar ? .double(values.first ?? 0) : .doubles(values)
        default:
            throw FileError(path: path, reason: "attribute \(name) has a type Timbre does not read")
        }
    }

    private func writeNumbers<T: HDF5Scalar>(_ name: String, _ values: [T], scalar: Bool) throws {
        let space = try makeSpace(count: values.count, scalar: scalar)
        defer { H5Sclose(space) }
        let attr = try check(H5Acreate2(objectID, name, T.nativeType, space, timbre_H5P_DEFAULT(), timbre_H5P_DEFAULT()), path, "cannot create attribute \(name)")
        defer { H5Aclose(attr) }
        try check(values.withUnsafeBufferPointer { H5Awrite(attr, T.nativeType, $0.baseAddress) }, path, "cannot write attribute \(name)")
    }

    private func writeStrings(_ name: String, _ strings: [String], scalar: Bool) throws {
        let type = makeUTF8StringType()
        let space = try makeSpace(count: strings.count, scalar: scalar)
        defer { H5Tclose(type); H5Sclose(space) }
        let attr = try check(H5Acreate2(objectID, name, type, space, timbre_H5P_DEFAULT(), timbre_H5P_DEFAULT()), path, "cannot create attribute \(name)")
        defer { H5Aclose(attr) }
        try withCStringPointers(strings) { pointers in
            try check(H5Awrite(attr, type, pointers), path, "cannot write attribute \(name)")
        }
    }

    private func readStrings(_ attr: hid_t, type: hid_t, count: Int) throws -> [String] {
        if H5Tis_variable_str(type) > 0 {
            let memType = makeUTF8StringType()
            defer { H5Tclose(memType) }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            if count > 0 { try check(H5Aread(attr, memType, &pointers), path, "cannot read string attribute") }
            defer { for p in pointers { H5free_memory(p) } }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(type)
        guard UntrustedSize.product([size, count]) <= HDF5Dataset.maximumValuesPerRead else {
            throw FileError(path: path, reason: "a string attribute declares \(count) values of \(size) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: size * count)
        if count > 0 { try check(H5Aread(attr, type, &bytes), path, "cannot read string attribute") }
        return (0..<count).map { index in
            let slice = bytes[index * size..<(index + 1) * size].prefix { $0 != 0 }
            return String(decoding: slice, as: UTF8.self)
        }
    }

    private func makeSpace(count: Int, scalar: Bool) throws -> hid_t {
        if scalar { return H5Screate(H5S_SCALAR) }
        var dims = [hsize_t(count)]
        return try check(H5Screate_simple(1, &dims, nil), path, "cannot create dataspace")
    }
}

/// Calls `body` with a C array of NUL-terminated copies of `strings`.
@discardableResult
func withCStringPointers<R>(_ strings: [String], _ body: (UnsafeRawPointer) throws -> R) throws -> R {
    let copies = strings.map { strdup($0) }
    defer { for p in copies { free(p) } }
    if copies.isEmpty {
        var none: UnsafeMutablePointer<CChar>? = nil
        return try withUnsafePointer(to: &none) { try body(UnsafeRawPointer($0)) }
    }
    return try copies.withUnsafeBufferPointer { try body(UnsafeRawPointer($0.baseAddress!)) }
}
