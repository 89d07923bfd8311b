/// A layer of several inputs: where a U-Net's skip connection rejoins the decoder, or a
/// residual branch is summed back.
public protocol MultiInputLayer: AnyObject {
    func outputShape(for inputShapes: [[Int]]) -> [Int]
    func forward(_ inputs: [Tensor], context: ForwardContext) -> Tensor
    /// The gradient with respect to each input, in the order of the inputs.
    func backward(_ outputGradient: Tensor) -> [Tensor]
}

/// Joins its inputs along the channel axis (axis 1 of a batch); the other axes must agree.
public final class Concat: MultiInputLayer {
    private var channelCounts: [Int] = []
    private var shapes: [[Int]] = []

    public init() {}

    public func outputShape(for inputShapes: [[Int]]) -> [Int] {
        precondition(inputShapes.count >= 2 && inputShapes.allSatisfy { $0.dropFirst() == inputShapes[0].dropFirst() },
                     "Concat needs inputs that differ only in channels, got \(inputShapes)")
        return [inputShapes.reduce(0) { $0 + $1[0] }] + inputShapes[0].dropFirst()
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) -> Tensor {
        shapes = inputs.map(\.shape)
        let itemShape = outputShape(for: inputs.map { Array($0.shape.dropFirst()) })
        let batch = inputs[0].batch
        var output = Tensor(uninitialized: [batch] + itemShape)
        var offset = 0
        for n in 0..<batch {
            for input in inputs {
                let size = input.itemSize
                output.data.replaceSubrange(offset..<(offset + size), with: input.data[(n * size)..<((n + 1) * size)])
                offset += size
            }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> [Tensor] {
        var gradients = shapes.map { Tensor(uninitialized: $0) }
        var offset = 0
        for n in 0..<outputGradient.batch {
            for index in gradients.indices {
                let size = gradients[index].itemSize
                gradients[index].data.replaceSubrange((n * size)..<((n + 1) * size), with: outputGradient.data[offset..<(offset + size)])
                offset += size
            }
        }
        return gradients
    }
}

/// The element-wise sum of inputs of one shape.
public final class Add: MultiInputLayer {
    private var count = 0

    public init() {}

    public func outputShape(for inputShapes: [[Int]]) -> [Int] {
        precondition(inputShapes.count >= 2 && inputShapes.allSatisfy { $0 == inputShapes[0] }, "Add needs inputs of one shape, got \(inputShapes)")
        return inputShapes[0]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) -> Tensor {
        count = inputs.count
        var output = inputs[0]
        for input in inputs.dropFirst() {
            precondition(input.shape == output.shape, "Add needs inputs of one shape")
            for i in output.data.indices { output.data[i] += input.data[i] }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> [Tensor] { Array(repeating: outputGradient, count: count) }
}
