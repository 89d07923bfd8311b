/// Float vectors whose lane-wise maximum and ReLU compile to single vector instructions.
/// Kernels generic over their vector width ask for these: inside generic code the standard
/// library's comparisons and blends become loops over the lanes.
protocol FloatLanes: SIMD where Scalar == Float {
    /// Lane-wise maximum.
    func larger(_ other: Self) -> Self
    /// Lane-wise max(0, ·).
    func clampedAtZero() -> Self
}

extension SIMD8: FloatLanes where Scalar == Float {
    @inline(__always) func larger(_ other: Self) -> Self { replacing(with: other, where: other .> self) }
    @inline(__always) func clampedAtZero() -> Self { replacing(with: 0, where: self .< 0) }
}
