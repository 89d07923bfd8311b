/// Every trainable value of a model in one flat buffer, with a gradient buffer of the same
/// layout, so optimisers and checkpoints handle a model as two arrays.
public final class ParameterStore: @unchecked Sendable {
    /// A named slice of the store.
    public struct Slice: Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public private(set) var slices: [Slice] = []
    public private(set) var values: UnsafeMutableBufferPointer<Float>
    public private(set) var gradients: UnsafeMutableBufferPointer<Float>
    public var count: Int { values.count }

    public init() {
        values = .allocate(capacity: 0)
        gradients = .allocate(capacity: 0)
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    /// Adds a zero-filled parameter and returns its slice. Call before training starts.
    public func add(_ name: String, shape: [Int]) -> Slice {
        let slice = Slice(name: name, shape: shape, offset: count)
        let grown = UnsafeMutableBufferPointer<Float>.allocate(capacity: count + slice.count)
        let grownGradients = UnsafeMutableBufferPointer<Float>.allocate(capacity: count + slice.count)
        grown.initialize(repeating: 0)
        grownGradients.initialize(repeating: 0)
        if count > 0 {
            _ = grown.update(fromContentsOf: values)
            _ = grownGradients.update(fromContentsOf: gradients)
        }
        values.deallocate()
        gradients.deallocate()
        values = grown
        gradients = grownGradients
        slices.append(slice)
        return slice
    }

    public func values(_ slice: Slice) -> UnsafeMutablePointer<Float> { values.baseAddress! + slice.offset }
    public func gradients(_ slice: Slice) -> UnsafeMutablePointer<Float> { gradients.baseAddress! + slice.offset }

    public func zeroGradients() { gradients.update(repeating: 0) }

    /// Copies of the values, e.g. for a checkpoint.
    public var valueArray: [Float] { Array(values) }

    public func setValues(_ array: [Float]) {
        precondition(array.count == count, "expected \(count) values, got \(array.count)")
        _ = values.update(fromContentsOf: array)
    }
}
