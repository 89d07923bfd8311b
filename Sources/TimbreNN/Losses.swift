import Foundation

/// Softmax and cross-entropy fused: computing log-softmax with the maximum subtracted
/// keeps large logits from overflowing, and the gradient is simply (p − y) / N.
public enum SoftmaxCrossEntropy {
    public struct Result {
        /// Mean cross-entropy over the batch, in nats.
        public let loss: Double
        /// ∂loss/∂logits, [N, classes].
        public let gradient: Tensor
        /// Softmax probabilities, [N, classes].
        public let probabilities: Tensor
    }

    /// Row-wise softmax of [N, classes] logits.
    public static func softmax(_ logits: Tensor) -> Tensor {
        var probabilities = logits
        let classes = logits.shape[1]
        for item in 0..<logits.batch {
            let row = (item * classes)..<((item + 1) * classes)
            let peak = logits.data[row].max() ?? 0
            var sum: Float = 0
            for i in row { let e = Foundation.exp(logits.data[i] - peak); probabilities.data[i] = e; sum += e }
            for i in row { probabilities.data[i] /= sum }
        }
        return probabilities
    }

    /// - Parameters:
    ///   - targets: the class index of each item.
    ///   - weights: optional per-item weights (they sum to the batch size for an unbiased mean).
    public static func evaluate(logits: Tensor, targets: [Int], weights: [Float]? = nil) -> Result {
        let (n, classes) = (logits.batch, logits.shape[1])
        precondition(targets.count == n, "one target per item")
        let probabilities = softmax(logits)
        var gradient = probabilities
        var loss = 0.0
        for item in 0..<n {
            let row = item * classes
            let peak = logits.data[row..<(row + classes)].max() ?? 0
            var sum = 0.0
            for c in 0..<classes { sum += Foundation.exp(Double(logits.data[row + c] - peak)) }
            let logProbability = Double(logits.data[row + targets[item]] - peak) - Foundation.log(sum)
            let weight = weights?[item] ?? 1
            loss -= Double(weight) * logProbability
            gradient.data[row + targets[item]] -= 1
            for c in 0..<classes { gradient.data[row + c] *= weight / Float(n) }
        }
        return Result(loss: loss / Double(n), gradient: gradient, probabilities: probabilities)
    }
}
