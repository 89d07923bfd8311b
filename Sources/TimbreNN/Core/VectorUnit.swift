import TimbreVectorKernels

/// The vector unit the network's kernels chose for this CPU (AVX-512, AVX2 or baseline;
/// `TIMBRE_VECTOR_UNIT` can ask for a narrower one), as `timbre --version` reports.
public enum VectorUnit {
    public static var name: String { String(cString: timbre_vector_unit_name()) }
}
