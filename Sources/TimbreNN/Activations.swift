/// max(0, x).
public final class ReLU: Layer {
    private var output: Tensor?

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        var output = input
        output.data.withUnsafeMutableBufferPointer { y in
            for i in y.indices { y[i] = max(y[i], 0) }
        }
        self.output = output
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let output else { preconditionFailure("backward before forward") }
        var gradient = outputGradient
        gradient.data.withUnsafeMutableBufferPointer { g in
            output.data.withUnsafeBufferPointer { y in
                for i in g.indices where y[i] <= 0 { g[i] = 0 }
            }
        }
        return gradient
    }
}

/// Passes values through unchanged; stands in for a ReLU that a preceding convolution
/// already applied.
public final class Identity: Layer {
    public init() {}
    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }
    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor { input }
    public func backward(_ outputGradient: Tensor) -> Tensor { outputGradient }
}
