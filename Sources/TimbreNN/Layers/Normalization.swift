import TimbreCore

/// Standardises each batch item to zero mean and unit variance over all its values:
/// y = (x − μ) / √(σ² + ε).
///
/// Per item rather than per batch, so a clip's prediction never depends on which other
/// clips share its batch (tagging sees batches of windows from one file; training sees
/// shuffled mixes). ε = 1e-5 keeps silent inputs finite.
public final class Standardize: Layer {
    public let epsilon: Float = 1e-5
    private var output: Tensor?
    private var inverseDeviation: [Float] = []

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        var output = Tensor(uninitialized: input.shape)
        let size = input.itemSize, epsilon = Double(self.epsilon)
        var inverseDeviation = [Float](repeating: 0, count: input.batch)
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                inverseDeviation.withUnsafeMutableBufferPointer { inverses in
                    let xBase = x.baseAddress!, yBase = y.baseAddress!, inverseBase = inverses.baseAddress!
                    Parallel.forEachRange(input.batch) { _, items in
                        for item in items {
                            let values = xBase + item * size, target = yBase + item * size
                            var sum = 0.0, squares = 0.0
                            for i in 0..<size { sum += Double(values[i]) }
                            let mean = sum / Double(size)
                            for i in 0..<size { let d = Double(values[i]) - mean; squares += d * d }
                            let inverse = Float(1 / (squares / Double(size) + epsilon).squareRoot())
                            inverseBase[item] = inverse
                            let m = Float(mean)
                            for i in 0..<size { target[i] = (values[i] - m) * inverse }
                        }
                    }
                }
            }
        }
        self.inverseDeviation = inverseDeviation
        self.output = output
        return output
    }

    /// dx = (dy − mean(dy) − y · mean(dy · y)) / σ.
    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let output else { preconditionFailure("backward before forward") }
        var gradient = outputGradient
        let size = output.itemSize
        for item in 0..<output.batch {
            let range = (item * size)..<((item + 1) * size)
            var meanGradient = 0.0, meanProduct = 0.0
            for i in range {
                meanGradient += Double(outputGradient.data[i])
                meanProduct += Double(outputGradient.data[i]) * Double(output.data[i])
            }
            let g = Float(meanGradient / Double(size)), p = Float(meanProduct / Double(size))
            for i in range { gradient.data[i] = (outputGradient.data[i] - g - output.data[i] * p) * inverseDeviation[item] }
        }
        return gradient
    }
}

/// Removes each row's mean over the last axis, per item and channel: for a log-mel clip
/// [channels, bands, frames], y[b, t] = x[b, t] − mean over t of x[b, ·]. In the log domain
/// a static gain per band (a microphone's or a room's colouring, an equaliser) is an
/// added constant per row, so the output does not depend on it.
public final class CentreBands: Layer {
    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        var output = input
        Self.centreRows(&output.data, rowLength: input.shape.last ?? 1)
        return output
    }

    /// The map is linear and its matrix is symmetric (I − J/n per row), so the gradient
    /// is centred the same way.
    public func backward(_ outputGradient: Tensor) -> Tensor {
        var gradient = outputGradient
        Self.centreRows(&gradient.data, rowLength: outputGradient.shape.last ?? 1)
        return gradient
    }

    private static func centreRows(_ values: inout [Float], rowLength: Int) {
        guard rowLength > 0 else { return }
        values.withUnsafeMutableBufferPointer { buffer in
            for start in stride(from: 0, to: buffer.count, by: rowLength) {
                var sum = 0.0
                for i in start..<(start + rowLength) { sum += Double(buffer[i]) }
                let mean = Float(sum / Double(rowLength))
                for i in start..<(start + rowLength) { buffer[i] -= mean }
            }
        }
    }
}

/// Batch normalisation per channel (axis 1) over the batch and every other axis:
/// y = γ·(x − μ)/√(σ² + ε) + β. Training normalises with the batch's statistics and moves
/// the running ones toward them (momentum 0.1, the unbiased variance, as PyTorch does);
/// inference normalises with the running statistics, so an item's output never depends on
/// its batch. γ starts at 1 and β at 0.
public final class BatchNorm: Layer, ParameterInitializing {
    public let channels: Int
    public let momentum: Float = 0.1
    public let epsilon: Float = 1e-5
    /// Not trained by the optimiser; stored with the model as `<name>/running_mean|running_variance`.
    public var runningMean: [Float]
    public var runningVariance: [Float]
    public let name: String
    let scale: ParameterStore.Slice
    let shift: ParameterStore.Slice
    private let store: ParameterStore
    private var normalized: Tensor?
    private var inverseDeviation: [Float] = []
    private var trainingPass = true

    public init(channels: Int, store: ParameterStore, name: String) {
        self.channels = channels
        self.name = name
        self.store = store
        scale = store.add("\(name)/gamma", shape: [channels])
        shift = store.add("\(name)/beta", shape: [channels])
        runningMean = [Float](repeating: 0, count: channels)
        runningVariance = [Float](repeating: 1, count: channels)
        store.values(scale).update(repeating: 1, count: channels)
    }

    public func initializeParameters(using generator: inout SeededGenerator) {
        store.values(scale).update(repeating: 1, count: channels)
        store.values(shift).update(repeating: 0, count: channels)
        runningMean = [Float](repeating: 0, count: channels)
        runningVariance = [Float](repeating: 1, count: channels)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.first == channels, "BatchNorm expects \(channels) channels first, got \(inputShape)")
        return inputShape
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let inner = input.shape.dropFirst(2).reduce(1, *), count = input.batch * inner
        let batch = input.batch, channels = self.channels, epsilon = self.epsilon, training = context.training
        let gamma = store.values(scale), beta = store.values(shift)
        var output = Tensor(uninitialized: input.shape), normalized = Tensor(uninitialized: input.shape)
        // Per channel: mean, variance, unbiased variance (training) and 1/σ.
        var statistics = [Float](repeating: 0, count: 4 * channels)
        if !training {
            for c in 0..<channels { (statistics[c], statistics[channels + c]) = (runningMean[c], runningVariance[c]) }
        }
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                normalized.data.withUnsafeMutableBufferPointer { z in
                    statistics.withUnsafeMutableBufferPointer { statistics in
                        let shared = UncheckedBox((x, y, z, statistics, gamma, beta))
                        // Channels are independent, so each worker takes some, each summed in
                        // the order it would be alone.
                        Parallel.forEachRange(channels) { _, range in
                            let (x, y, z, statistics, gamma, beta) = shared.value
                            for c in range {
                                if training {
                                    var sum = 0.0, squares = 0.0
                                    for n in 0..<batch { for i in 0..<inner { sum += Double(x[(n * channels + c) * inner + i]) } }
                                    let batchMean = sum / Double(count)
                                    for n in 0..<batch {
                                        for i in 0..<inner { let d = Double(x[(n * channels + c) * inner + i]) - batchMean; squares += d * d }
                                    }
                                    statistics[c] = Float(batchMean)
                                    statistics[channels + c] = Float(squares / Double(count))
                                    statistics[2 * channels + c] = count > 1 ? Float(squares / Double(count - 1)) : statistics[channels + c]
                                }
                                let mean = statistics[c], inverse = 1 / (statistics[channels + c] + epsilon).squareRoot()
                                statistics[3 * channels + c] = inverse
                                for n in 0..<batch {
                                    let start = (n * channels + c) * inner
                                    for i in start..<(start + inner) {
                                        let x̂ = (x[i] - mean) * inverse
                                        z[i] = x̂
                                        y[i] = gamma[c] * x̂ + beta[c]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if training {
            for c in 0..<channels {
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * statistics[c]
                runningVariance[c] = (1 - momentum) * runningVariance[c] + momentum * statistics[2 * channels + c]
            }
        }
        self.normalized = normalized
        self.inverseDeviation = Array(statistics[(3 * channels)...])
        trainingPass = training
        return output
    }

    /// dγ = Σ dy·x̂, dβ = Σ dy; with batch statistics dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)),
    /// with running ones dx = γ/σ · dy.
    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let normalized else { preconditionFailure("backward before forward") }
        let inner = normalized.shape.dropFirst(2).reduce(1, *), count = Float(normalized.batch * inner)
        let batch = normalized.batch, channels = self.channels, trainingPass = self.trainingPass
        let gamma = store.values(scale), dGamma = store.gradients(scale), dBeta = store.gradients(shift)
        var gradient = Tensor(uninitialized: normalized.shape)
        outputGradient.data.withUnsafeBufferPointer { dy in
            normalized.data.withUnsafeBufferPointer { z in
                gradient.data.withUnsafeMutableBufferPointer { dx in
                    inverseDeviation.withUnsafeBufferPointer { inverseDeviation in
                        let shared = UncheckedBox((dy, z, dx, inverseDeviation, gamma, dGamma, dBeta))
                        Parallel.forEachRange(channels) { _, range in
                            let (dy, z, dx, inverseDeviation, gamma, dGamma, dBeta) = shared.value
                            for c in range {
                                var sumGradient: Float = 0, sumProduct: Float = 0
                                for n in 0..<batch {
                                    let start = (n * channels + c) * inner
                                    for i in start..<(start + inner) {
                                        sumGradient += dy[i]
                                        sumProduct += dy[i] * z[i]
                                    }
                                }
                                dGamma[c] += sumProduct
                                dBeta[c] += sumGradient
                                let factor = gamma[c] * inverseDeviation[c]
                                for n in 0..<batch {
                                    let start = (n * channels + c) * inner
                                    for i in start..<(start + inner) {
                                        dx[i] = trainingPass ? factor * (dy[i] - sumGradient / count - z[i] * sumProduct / count) : factor * dy[i]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return gradient
    }
}

/// Layer normalisation over the last axis: each row of `features` values is standardised,
/// then scaled by γ and shifted by β (per feature; γ starts at 1).
public final class LayerNorm: Layer, ParameterInitializing {
    public let features: Int
    public let epsilon: Float = 1e-5
    let scale: ParameterStore.Slice
    let shift: ParameterStore.Slice
    private let store: ParameterStore
    private var normalized: Tensor?
    private var inverseDeviation: [Float] = []

    public init(features: Int, store: ParameterStore, name: String) {
        self.features = features
        self.store = store
        scale = store.add("\(name)/gamma", shape: [features])
        shift = store.add("\(name)/beta", shape: [features])
        store.values(scale).update(repeating: 1, count: features)
    }

    public func initializeParameters(using generator: inout SeededGenerator) {
        store.values(scale).update(repeating: 1, count: features)
        store.values(shift).update(repeating: 0, count: features)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.last == features, "LayerNorm expects \(features) features last, got \(inputShape)")
        return inputShape
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let rows = input.count / features
        let gamma = store.values(scale), beta = store.values(shift)
        var output = Tensor(uninitialized: input.shape), normalized = Tensor(uninitialized: input.shape)
        var inverseDeviation = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let base = r * features
            var sum = 0.0, squares = 0.0
            for i in 0..<features { sum += Double(input.data[base + i]) }
            let mean = sum / Double(features)
            for i in 0..<features { let d = Double(input.data[base + i]) - mean; squares += d * d }
            let inverse = Float(1 / (squares / Double(features) + Double(epsilon)).squareRoot())
            inverseDeviation[r] = inverse
            for i in 0..<features {
                let x̂ = (input.data[base + i] - Float(mean)) * inverse
                normalized.data[base + i] = x̂
                output.data[base + i] = gamma[i] * x̂ + beta[i]
            }
        }
        self.normalized = normalized
        self.inverseDeviation = inverseDeviation
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let normalized else { preconditionFailure("backward before forward") }
        let rows = normalized.count / features
        let gamma = store.values(scale), dGamma = store.gradients(scale), dBeta = store.gradients(shift)
        var gradient = Tensor(uninitialized: normalized.shape)
        for r in 0..<rows {
            let base = r * features
            var mean: Float = 0, meanProduct: Float = 0
            for i in 0..<features {
                let g = outputGradient.data[base + i]
                dGamma[i] += g * normalized.data[base + i]
                dBeta[i] += g
                let gx̂ = g * gamma[i]
                mean += gx̂
                meanProduct += gx̂ * normalized.data[base + i]
            }
            mean /= Float(features)
            meanProduct /= Float(features)
            for i in 0..<features {
                let gx̂ = outputGradient.data[base + i] * gamma[i]
                gradient.data[base + i] = (gx̂ - mean - normalized.data[base + i] * meanProduct) * inverseDeviation[r]
            }
        }
        return gradient
    }
}
