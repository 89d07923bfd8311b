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

extension SoftmaxCrossEntropy {
    /// Cross-entropy against target distributions instead of class indices: for a clip
    /// with several instruments the target spreads evenly over them. `targets` is
    /// [N, classes], each row summing to 1 (or 0: no target, no loss); the gradient is
    /// (p·Σt − t) / N, which is (p − t) / N for a distribution.
    public static func evaluate(logits: Tensor, distributions targets: Tensor, weights: [Float]? = nil) -> Result {
        let (n, classes) = (logits.batch, logits.shape[1])
        precondition(targets.shape == logits.shape, "one target row per item")
        let probabilities = softmax(logits)
        var gradient = probabilities
        var loss = 0.0
        for item in 0..<n {
            let row = item * classes
            let peak = logits.data[row..<(row + classes)].max() ?? 0
            var sum = 0.0
            for c in 0..<classes { sum += Foundation.exp(Double(logits.data[row + c] - peak)) }
            let logSum = Foundation.log(sum)
            let weight = weights?[item] ?? 1
            var mass: Float = 0
            for c in 0..<classes where targets.data[row + c] != 0 {
                loss -= Double(weight) * Double(targets.data[row + c]) * (Double(logits.data[row + c] - peak) - logSum)
                mass += targets.data[row + c]
            }
            for c in 0..<classes { gradient.data[row + c] = (gradient.data[row + c] * mass - targets.data[row + c]) * weight / Float(n) }
        }
        return Result(loss: loss / Double(n), gradient: gradient, probabilities: probabilities)
    }
}

/// One independent sigmoid per class and binary cross-entropy: the multi-label output,
/// where several instruments can each be present with probability near 1.
///
/// loss = mean over items and classes of −[t log σ(z) + (1 − t) log(1 − σ(z))], computed
/// as max(z, 0) − z·t + log(1 + e^−|z|) so that large logits never overflow; the gradient
/// is (σ(z) − t) / (N · classes), Keras's `binary_crossentropy` averaged the same way.
public enum SigmoidCrossEntropy {
    public typealias Result = SoftmaxCrossEntropy.Result

    /// Element-wise logistic function.
    public static func sigmoid(_ logits: Tensor) -> Tensor {
        var out = logits
        for i in out.data.indices {
            let z = logits.data[i]
            // Two forms, each exact where the other would overflow.
            out.data[i] = z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z))
        }
        return out
    }

    /// - Parameters:
    ///   - targets: [N, classes], each value in 0...1 (1: the class is present).
    ///   - weights: optional per-item weights.
    public static func evaluate(logits: Tensor, targets: Tensor, weights: [Float]? = nil) -> Result {
        let (n, classes) = (logits.batch, logits.shape[1])
        precondition(targets.shape == logits.shape, "one target row per item")
        let probabilities = sigmoid(logits)
        var gradient = probabilities
        var loss = 0.0
        let scale = 1 / Float(n * classes)
        for item in 0..<n {
            let weight = weights?[item] ?? 1
            for c in 0..<classes {
                let i = item * classes + c
                let z = Double(logits.data[i]), t = Double(targets.data[i])
                loss += Double(weight) * (max(z, 0) - z * t + Foundation.log1p(Foundation.exp(-abs(z))))
                gradient.data[i] = (probabilities.data[i] - targets.data[i]) * weight * scale
            }
        }
        return Result(loss: loss / Double(n * classes), gradient: gradient, probabilities: probabilities)
    }
}

/// What the classifier's outputs mean: one class per clip (softmax, the design's output)
/// or independent presence of each class (sigmoid, for mixes).
public enum OutputActivation: String, Codable, Sendable, CaseIterable {
    case softmax
    case sigmoid

    /// Probabilities from [N, classes] logits.
    public func probabilities(_ logits: Tensor) -> Tensor {
        switch self {
        case .softmax: return SoftmaxCrossEntropy.softmax(logits)
        case .sigmoid: return SigmoidCrossEntropy.sigmoid(logits)
        }
    }

    /// The loss for [N, classes] targets: multi-hot rows for sigmoid; for softmax each row
    /// is normalised to a distribution over its classes.
    public func loss(logits: Tensor, targets: Tensor, weights: [Float]? = nil) -> SoftmaxCrossEntropy.Result {
        switch self {
        case .sigmoid:
            return SigmoidCrossEntropy.evaluate(logits: logits, targets: targets, weights: weights)
        case .softmax:
            var distributions = targets
            let classes = targets.shape[1]
            for item in 0..<targets.batch {
                let row = (item * classes)..<((item + 1) * classes)
                let sum = targets.data[row].reduce(0, +)
                if sum > 0 { for i in row { distributions.data[i] /= sum } }
            }
            return SoftmaxCrossEntropy.evaluate(logits: logits, distributions: distributions, weights: weights)
        }
    }
}
