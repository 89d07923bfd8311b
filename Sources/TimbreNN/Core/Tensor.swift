/// A dense Float array with a shape, row-major (the last dimension is contiguous).
/// Images are NCHW: batch, channels, height, width.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) values")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// A tensor whose values the caller overwrites entirely (no zero-filling).
    public init(uninitialized shape: [Int]) {
        let count = shape.reduce(1, *)
        self.init(shape: shape, data: [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count })
    }

    public var count: Int { data.count }
    /// Size of the first (batch) dimension.
    public var batch: Int { shape.first ?? 0 }
    /// Values per batch item.
    public var itemSize: Int { shape.dropFirst().reduce(1, *) }

    /// The same values under another shape with as many elements.
    public func reshaped(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, data: data) }
}
