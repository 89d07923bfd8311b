import CHDF5

/// Element types Timbre stores in HDF5, with their native memory type.
public protocol HDF5Scalar: Numeric, Sendable {
    static var nativeType: hid_t { get }
}

extension Float: HDF5Scalar { public static var nativeType: hid_t { timbre_H5T_NATIVE_FLOAT() } }
extension Double: HDF5Scalar { public static var nativeType: hid_t { timbre_H5T_NATIVE_DOUBLE() } }
extension Int32: HDF5Scalar { public static var nativeType: hid_t { timbre_H5T_NATIVE_INT32() } }
extension Int64: HDF5Scalar { public static var nativeType: hid_t { timbre_H5T_NATIVE_INT64() } }
extension UInt8: HDF5Scalar { public static var nativeType: hid_t { timbre_H5T_NATIVE_UINT8() } }

/// A variable-length UTF-8 string type, the one h5py reads as `str`.
func makeUTF8StringType() -> hid_t {
    let type = H5Tcopy(timbre_H5T_C_S1())
    H5Tset_size(type, timbre_H5T_VARIABLE())
    H5Tset_cset(type, H5T_CSET_UTF8)
    return type
}
