extension SIMD8 where Scalar == Float {
    /// Lane-wise maximum, always inlined (the standard library's generic `pointwiseMax`
    /// stays a function call per use in the hot loops).
    @inline(__always)
    func larger(_ other: Self) -> Self { replacing(with: other, where: other .> self) }
}
