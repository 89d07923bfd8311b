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
