import Foundation
import TimbreCore
import TimbreVectorKernels

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
                // A select rather than a branch, so the loop vectorises; a NaN output keeps its gradient.
                for i in g.indices { g[i] = y[i] <= 0 ? 0 : g[i] }
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

/// x for x > 0, slope·x otherwise (the U-Net's activation; slope 0.2 in most separators).
public final class LeakyReLU: Layer {
    public let slope: Float
    private var input: Tensor?

    public init(slope: Float = 0.2) { self.slope = slope }

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        self.input = input
        var output = input
        for i in output.data.indices where output.data[i] < 0 { output.data[i] *= slope }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("backward before forward") }
        var gradient = outputGradient
        for i in gradient.data.indices where input.data[i] < 0 { gradient.data[i] *= slope }
        return gradient
    }
}

/// 1 / (1 + e^−x): bounded masks in (0, 1).
public final class Sigmoid: Layer {
    private var output: Tensor?

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        var output = input
        let itemSize = input.itemSize
        output.data.withUnsafeMutableBufferPointer { y in
            let y = UncheckedBox(y)
            Parallel.forEachRange(input.batch) { _, items in
                // One exponential of −|x|, which never overflows, serves both signs; the
                // vector kernel computes it for a whole range at once.
                timbre_sigmoid(y.value.baseAddress! + items.lowerBound * itemSize, items.count * itemSize)
            }
        }
        self.output = output
        return output
    }

    /// dy/dx = y(1 − y).
    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let output else { preconditionFailure("backward before forward") }
        var gradient = outputGradient
        gradient.data.withUnsafeMutableBufferPointer { g in
            output.data.withUnsafeBufferPointer { y in
                for i in g.indices { g[i] *= y[i] * (1 - y[i]) }
            }
        }
        return gradient
    }
}

/// tanh(x).
public final class Tanh: Layer {
    private var output: Tensor?

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        var output = input
        for i in output.data.indices { output.data[i] = tanh(output.data[i]) }
        self.output = output
        return output
    }

    /// dy/dx = 1 − y².
    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let output else { preconditionFailure("backward before forward") }
        var gradient = outputGradient
        for i in gradient.data.indices { gradient.data[i] *= 1 - output.data[i] * output.data[i] }
        return gradient
    }
}
