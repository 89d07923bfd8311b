import Foundation
import TimbreCore

/// Multi-head self-attention over sequences [T, D] (Vaswani et al.): Q, K and V are dense
/// projections of the input, each of `heads` heads attends with softmax(Q_h·K_hᵀ/√d_h)·V_h,
/// and the heads' outputs, side by side, go through an output projection.
public final class MultiHeadAttention: Layer, ParameterInitializing {
    public let features: Int, heads: Int
    private let query: DenseOverLastAxis, key: DenseOverLastAxis, value: DenseOverLastAxis, output: DenseOverLastAxis
    private var queries = Tensor(zeros: [0]), keys = Tensor(zeros: [0]), values = Tensor(zeros: [0])
    /// Attention weights per item and head, [T × T] each.
    private var weights: [Float] = []

    public init(features: Int, heads: Int, store: ParameterStore, name: String) {
        precondition(heads > 0 && features % heads == 0, "the features must divide into the heads")
        self.features = features
        self.heads = heads
        let scope = Scope(name)
        query = DenseOverLastAxis(inputs: features, outputs: features, store: store, name: scope("query"))
        key = DenseOverLastAxis(inputs: features, outputs: features, store: store, name: scope("key"))
        value = DenseOverLastAxis(inputs: features, outputs: features, store: store, name: scope("value"))
        output = DenseOverLastAxis(inputs: features, outputs: features, store: store, name: scope("output"))
    }

    public func initializeParameters(using generator: inout SeededGenerator) {
        for projection in [query, key, value, output] { projection.initializeParameters(using: &generator) }
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 2 && inputShape[1] == features, "MultiHeadAttention expects [T, \(features)], got \(inputShape)")
        return inputShape
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let (n, t) = (input.shape[0], input.shape[1])
        let width = features / heads, scale = 1 / Float(width).squareRoot()
        queries = query.forward(input, context: context)
        keys = key.forward(input, context: context)
        values = value.forward(input, context: context)
        weights = [Float](repeating: 0, count: n * heads * t * t)
        var mixed = Tensor(zeros: input.shape)
        for item in 0..<n {
            for head in 0..<heads {
                let base = item * t * features + head * width, w = (item * heads + head) * t * t
                for i in 0..<t {
                    var largest = -Float.infinity
                    for j in 0..<t {
                        var dot: Float = 0
                        for d in 0..<width { dot += queries.data[base + i * features + d] * keys.data[base + j * features + d] }
                        weights[w + i * t + j] = dot * scale
                        largest = max(largest, dot * scale)
                    }
                    var sum: Float = 0
                    for j in 0..<t { let e = exp(weights[w + i * t + j] - largest); weights[w + i * t + j] = e; sum += e }
                    for j in 0..<t { weights[w + i * t + j] /= sum }
                    for j in 0..<t {
                        let a = weights[w + i * t + j]
                        for d in 0..<width { mixed.data[base + i * features + d] += a * values.data[base + j * features + d] }
                    }
                }
            }
        }
        return output.forward(mixed, context: context)
    }

    /// Through the output projection; per head dV = Aᵀ·dO, dA = dO·Vᵀ, dS = A ⊙ (dA − Σ_j dA·A),
    /// dQ = dS·K/√d, dK = dSᵀ·Q/√d; then through the three input projections, summed.
    public func backward(_ outputGradient: Tensor) -> Tensor {
        let (n, t) = (outputGradient.shape[0], outputGradient.shape[1])
        let width = features / heads, scale = 1 / Float(width).squareRoot()
        let dMixed = output.backward(outputGradient)
        var dQ = Tensor(zeros: queries.shape), dK = Tensor(zeros: keys.shape), dV = Tensor(zeros: values.shape)
        var dA = [Float](repeating: 0, count: t)
        for item in 0..<n {
            for head in 0..<heads {
                let base = item * t * features + head * width, w = (item * heads + head) * t * t
                for i in 0..<t {
                    var weighted: Float = 0
                    for j in 0..<t {
                        var dot: Float = 0
                        for d in 0..<width { dot += dMixed.data[base + i * features + d] * values.data[base + j * features + d] }
                        dA[j] = dot
                        weighted += dot * weights[w + i * t + j]
                        let a = weights[w + i * t + j]
                        for d in 0..<width { dV.data[base + j * features + d] += a * dMixed.data[base + i * features + d] }
                    }
                    for j in 0..<t {
                        let dS = weights[w + i * t + j] * (dA[j] - weighted) * scale
                        for d in 0..<width {
                            dQ.data[base + i * features + d] += dS * keys.data[base + j * features + d]
                            dK.data[base + j * features + d] += dS * queries.data[base + i * features + d]
                        }
                    }
                }
            }
        }
        var gradient = query.backward(dQ)
        let fromKeys = key.backward(dK), fromValues = value.backward(dV)
        for i in gradient.data.indices { gradient.data[i] += fromKeys.data[i] + fromValues.data[i] }
        return gradient
    }
}

/// Sams-Net's sliced attention: a feature map [C, F, T] is cut along time into chunks of
/// `chunk` frames, and within each chunk of each channel the frames (vectors of the F
/// frequency bins) attend to each other with shared multi-head attention.
public final class SlicedAttention: Layer, ParameterInitializing {
    public let chunk: Int
    private let attention: MultiHeadAttention
    private var inputShape: [Int] = []

    public init(frequencies: Int, heads: Int, chunk: Int, store: ParameterStore, name: String) {
        precondition(chunk > 0, "chunks must hold at least one frame")
        self.chunk = chunk
        attention = MultiHeadAttention(features: frequencies, heads: heads, store: store, name: name)
    }

    public func initializeParameters(using generator: inout SeededGenerator) { attention.initializeParameters(using: &generator) }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 3 && inputShape[1] == attention.features && inputShape[2] % chunk == 0,
                     "SlicedAttention expects [C, \(attention.features), a multiple of \(chunk) frames], got \(inputShape)")
        return inputShape
    }

    /// [N, C, F, T] → [N·C·T/chunk, chunk, F] and back.
    private func toSequences(_ x: Tensor) -> Tensor {
        let (n, c, f, t) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var sequences = Tensor(uninitialized: [n * c * (t / chunk), chunk, f])
        for plane in 0..<(n * c) {
            for frame in 0..<t {
                let row = (plane * (t / chunk) + frame / chunk) * chunk + frame % chunk
                for bin in 0..<f { sequences.data[row * f + bin] = x.data[(plane * f + bin) * t + frame] }
            }
        }
        return sequences
    }

    private func fromSequences(_ sequences: Tensor, shape: [Int]) -> Tensor {
        let (n, c, f, t) = (shape[0], shape[1], shape[2], shape[3])
        var x = Tensor(uninitialized: shape)
        for plane in 0..<(n * c) {
            for frame in 0..<t {
                let row = (plane * (t / chunk) + frame / chunk) * chunk + frame % chunk
                for bin in 0..<f { x.data[(plane * f + bin) * t + frame] = sequences.data[row * f + bin] }
            }
        }
        return x
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        _ = outputShape(for: Array(input.shape.dropFirst()))
        inputShape = input.shape
        return fromSequences(attention.forward(toSequences(input), context: context), shape: input.shape)
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        fromSequences(attention.backward(toSequences(outputGradient)), shape: inputShape)
    }
}
