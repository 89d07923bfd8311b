import Foundation

/// A loss of a network output against a target of the same shape: its value and its
/// gradient with respect to the output. Separation trains on L1 or MSE of magnitudes, often
/// as a weighted sum of terms (Chandna's discriminative loss); the classifier's softmax and
/// sigmoid cross-entropies are losses of the same form on logits.
public protocol LossFunction {
    func evaluate(_ output: Tensor, target: Tensor) -> (loss: Double, gradient: Tensor)
}

/// Mean absolute error over every value: gradient sign(y − t) / count (0 where equal).
public struct MeanAbsoluteError: LossFunction {
    public init() {}

    public func evaluate(_ output: Tensor, target: Tensor) -> (loss: Double, gradient: Tensor) {
        precondition(output.shape == target.shape, "output \(output.shape) and target \(target.shape) differ")
        let scale = 1 / Float(max(output.count, 1))
        var loss = 0.0, gradient = Tensor(uninitialized: output.shape)
        for i in output.data.indices {
            let d = output.data[i] - target.data[i]
            loss += Double(abs(d))
            gradient.data[i] = d > 0 ? scale : d < 0 ? -scale : 0
        }
        return (loss / Double(max(output.count, 1)), gradient)
    }
}

/// Mean squared error over every value: gradient 2(y − t) / count.
public struct MeanSquaredError: LossFunction {
    public init() {}

    public func evaluate(_ output: Tensor, target: Tensor) -> (loss: Double, gradient: Tensor) {
        precondition(output.shape == target.shape, "output \(output.shape) and target \(target.shape) differ")
        let scale = 2 / Float(max(output.count, 1))
        var loss = 0.0, gradient = Tensor(uninitialized: output.shape)
        for i in output.data.indices {
            let d = output.data[i] - target.data[i]
            loss += Double(d) * Double(d)
            gradient.data[i] = scale * d
        }
        return (loss / Double(max(output.count, 1)), gradient)
    }
}

/// Softmax cross-entropy of logits against target distributions ([N, classes] rows).
public struct SoftmaxCrossEntropyLoss: LossFunction {
    public init() {}

    public func evaluate(_ output: Tensor, target: Tensor) -> (loss: Double, gradient: Tensor) {
        let result = SoftmaxCrossEntropy.evaluate(logits: output, distributions: target)
        return (result.loss, result.gradient)
    }
}

/// Binary cross-entropy of logits through independent sigmoids.
public struct BinaryCrossEntropyLoss: LossFunction {
    public init() {}

    public func evaluate(_ output: Tensor, target: Tensor) -> (loss: Double, gradient: Tensor) {
        let result = SigmoidCrossEntropy.evaluate(logits: output, targets: target)
        return (result.loss, result.gradient)
    }
}

/// Σ wᵢ·lossᵢ over terms that each compare the output with its own target; the gradient is
/// the same weighted sum. A negative weight subtracts a term (a discriminative loss rewards
/// distance from the other sources).
public struct WeightedLossSum {
    public var terms: [(weight: Double, loss: any LossFunction)]

    public init(_ terms: [(weight: Double, loss: any LossFunction)]) { self.terms = terms }

    /// - Parameter targets: one target per term, in order.
    public func evaluate(_ output: Tensor, targets: [Tensor]) -> (loss: Double, gradient: Tensor) {
        precondition(targets.count == terms.count, "one target per term")
        var total = 0.0, gradient = Tensor(zeros: output.shape)
        for ((weight, loss), target) in zip(terms, targets) {
            let (value, termGradient) = loss.evaluate(output, target: target)
            total += weight * value
            for i in gradient.data.indices { gradient.data[i] += Float(weight) * termGradient.data[i] }
        }
        return (total, gradient)
    }
}
