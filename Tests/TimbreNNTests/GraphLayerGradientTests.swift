import TimbreCore
import Testing
@testable import TimbreNN

/// Finite-difference checks of the separation layers and of a small two-decoder U-Net.
@Suite struct GraphLayerGradientTests {
    func randomizeParameters(_ store: ParameterStore, seed: UInt64) {
        let values = randomTensor([store.count], seed: seed, scale: 0.5).data
        for i in 0..<store.count { store.values[i] = values[i] }
    }

    @Test func rectangularStridedPaddedDilatedConvolution() {
        let store = ParameterStore()
        let conv = Convolution2D(inChannels: 2, filters: 3, kernel: (2, 3), stride: (2, 1), padding: (1, 2), dilation: (1, 2), store: store, name: "c")
        randomizeParameters(store, seed: 11)
        #expect(conv.outputShape(for: [2, 7, 6]) == [3, 4, 6])
        checkGradients(layer: conv, store: store, input: randomTensor([2, 2, 7, 6], seed: 12))
    }

    @Test func chandnasVerticalAndHorizontalKernels() {
        let store = ParameterStore()
        let vertical = Convolution2D(inChannels: 1, filters: 2, kernel: (1, 9), store: store, name: "vertical")
        let horizontal = Convolution2D(inChannels: 2, filters: 3, kernel: (4, 1), store: store, name: "horizontal")
        randomizeParameters(store, seed: 13)
        #expect(vertical.outputShape(for: [1, 6, 9]) == [2, 6, 1])
        checkGradients(layer: vertical, store: store, input: randomTensor([2, 1, 6, 9], seed: 14))
        checkGradients(layer: horizontal, store: store, input: randomTensor([2, 2, 6, 1], seed: 15))
        // One 1 × 9 kernel per channel: the transposed-image path, group by group.
        let depthwise = Convolution2D(inChannels: 2, filters: 4, kernel: (1, 9), groups: 2, store: store, name: "depthwise")
        randomizeParameters(store, seed: 36)
        checkGradients(layer: depthwise, store: store, input: randomTensor([2, 2, 6, 9], seed: 37))
    }

    /// The decoders' transposes of those kernels, which take the paths that skip the column
    /// matrix or copy it in runs; and the vertical pair is each other's adjoint.
    @Test func chandnasTransposedKernels() {
        let store = ParameterStore()
        let vertical = TransposedConvolution2D(inChannels: 2, filters: 1, kernel: (1, 9), store: store, name: "vertical")
        let horizontal = TransposedConvolution2D(inChannels: 3, filters: 2, kernel: (4, 1), store: store, name: "horizontal")
        let convolution = Convolution2D(inChannels: 1, filters: 2, kernel: (1, 9), store: store, name: "convolution")
        randomizeParameters(store, seed: 31)
        #expect(vertical.outputShape(for: [2, 6, 1]) == [1, 6, 9])
        #expect(horizontal.outputShape(for: [3, 3, 1]) == [2, 6, 1])
        checkGradients(layer: vertical, store: store, input: randomTensor([2, 2, 6, 1], seed: 32))
        checkGradients(layer: horizontal, store: store, input: randomTensor([2, 3, 3, 1], seed: 33))
        for i in 0..<convolution.weight.count { store.values(convolution.weight)[i] = store.values(vertical.weight)[i] }
        store.values(convolution.bias).update(repeating: 0, count: 2)
        store.values(vertical.bias).update(repeating: 0, count: 1)
        let x = randomTensor([1, 1, 6, 9], seed: 34), y = randomTensor([1, 2, 6, 1], seed: 35)
        let context = ForwardContext(training: false)
        let left = zip(convolution.forward(x, context: context).data, y.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let right = zip(x.data, vertical.forward(y, context: context).data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(left - right) < 1e-4 * max(1, abs(left)))
    }

    @Test func depthwiseAndPointwiseConvolution() {
        let store = ParameterStore()
        let depthwise = Convolution2D(inChannels: 3, filters: 3, kernel: (3, 3), padding: (1, 1), groups: 3, store: store, name: "depthwise")
        let pointwise = Convolution2D(inChannels: 3, filters: 4, kernel: (1, 1), store: store, name: "pointwise")
        randomizeParameters(store, seed: 16)
        checkGradients(layer: depthwise, store: store, input: randomTensor([2, 3, 5, 4], seed: 17))
        checkGradients(layer: pointwise, store: store, input: randomTensor([2, 3, 5, 4], seed: 18))
    }

    @Test func transposedConvolutionGrowsByTheStride() {
        let store = ParameterStore()
        let up = TransposedConvolution2D(inChannels: 3, filters: 2, kernel: (3, 2), stride: (2, 2), padding: (1, 0), outputPadding: (1, 0), store: store, name: "t")
        randomizeParameters(store, seed: 19)
        // (4 − 1)·2 − 2 + 2 + 1 + 1 = 8 rows; (5 − 1)·2 + 1 + 1 = 10 columns.
        #expect(up.outputShape(for: [3, 4, 5]) == [2, 8, 10])
        checkGradients(layer: up, store: store, input: randomTensor([2, 3, 4, 5], seed: 20))
    }

    /// The transposed convolution is the adjoint of the convolution with the same kernel:
    /// ⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩ with biases at zero.
    @Test func theTransposeIsTheConvolutionsAdjoint() {
        let store = ParameterStore()
        let conv = Convolution2D(inChannels: 2, filters: 3, kernel: (3, 3), stride: (2, 2), padding: (1, 1), store: store, name: "c")
        let transpose = TransposedConvolution2D(inChannels: 3, filters: 2, kernel: (3, 3), stride: (2, 2), padding: (1, 1), store: store, name: "t")
        let kernel = randomTensor([conv.weight.count], seed: 21).data
        for i in 0..<conv.weight.count {
            store.values(conv.weight)[i] = kernel[i]
            store.values(transpose.weight)[i] = kernel[i]
        }
        let x = randomTensor([1, 2, 7, 7], seed: 22), y = randomTensor([1, 3, 4, 4], seed: 23)
        let context = ForwardContext(training: false)
        let left = zip(conv.forward(x, context: context).data, y.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let right = zip(x.data, transpose.forward(y, context: context).data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(left - right) < 1e-4 * max(1, abs(left)))
    }

    @Test func activations() {
        checkGradients(layer: LeakyReLU(slope: 0.2), store: nil, input: randomTensor([2, 3, 4], seed: 24, gap: 0.05))
        checkGradients(layer: Sigmoid(), store: nil, input: randomTensor([2, 3, 4], seed: 25, scale: 3))
        checkGradients(layer: Tanh(), store: nil, input: randomTensor([2, 3, 4], seed: 26, scale: 2))
    }

    @Test func upsamplingAndAveragePooling() {
        checkGradients(layer: Upsample(factor: (2, 3)), store: nil, input: randomTensor([2, 2, 3, 2], seed: 27))
        checkGradients(layer: AveragePool2D(size: (2, 2), stride: (1, 2)), store: nil, input: randomTensor([2, 2, 5, 4], seed: 28))
    }

    @Test func batchNormTrainingAndInference() {
        let store = ParameterStore()
        let norm = BatchNorm(channels: 3, store: store, name: "bn")
        #expect(Array(UnsafeBufferPointer(start: store.values(norm.scale), count: 3)) == [1, 1, 1])
        randomizeParameters(store, seed: 29)
        checkGradients(layer: norm, store: store, input: randomTensor([4, 3, 2, 3], seed: 30, scale: 2), tolerance: 5e-3)
        // The running statistics moved toward the batch's; inference uses them.
        #expect(norm.runningMean != [0, 0, 0])
        checkGradients(layer: norm, store: store, input: randomTensor([4, 3, 2, 3], seed: 31), context: ForwardContext(training: false))
    }

    @Test func layerNormAndDenseOverTheLastAxis() {
        let store = ParameterStore()
        let norm = LayerNorm(features: 5, store: store, name: "ln")
        let dense = DenseOverLastAxis(inputs: 5, outputs: 3, store: store, name: "d")
        randomizeParameters(store, seed: 32)
        checkGradients(layer: norm, store: store, input: randomTensor([2, 4, 5], seed: 33, scale: 2), tolerance: 5e-3)
        checkGradients(layer: dense, store: store, input: randomTensor([2, 4, 5], seed: 34))
        #expect(dense.outputShape(for: [4, 5]) == [4, 3])
    }

    /// A shared encoder and two U-Net decoders ("vocals", "drums") with a concatenated skip,
    /// a strided convolution and batch norm: every parameter and the input against finite differences
    /// of loss = Σ_d ⟨projection_d, output_d⟩.
    @Test func twoDecoderUNet() {
        let store = ParameterStore()
        let graph = Graph(inputs: [("mixture", [1, 8, 8])])
        let encoder = Scope("encoder")
        graph.add("e1", Convolution2D(inChannels: 1, filters: 3, kernel: (3, 3), padding: (1, 1), store: store, name: encoder("block1/conv")), input: "mixture")
        // Tanh where the leaky ReLUs would sit: a kernel weight moves every pixel of its
        // channel, and a finite-difference step would cross some ReLU's kink (LeakyReLU is
        // checked on its own above).
        graph.add("e1a", Tanh(), input: "e1")
        graph.add("e2", Convolution2D(inChannels: 3, filters: 4, kernel: (3, 3), stride: (2, 2), padding: (1, 1), store: store, name: encoder("block2/conv")), input: "e1a")
        graph.add("e2n", BatchNorm(channels: 4, store: store, name: encoder("block2/norm")), input: "e2")
        graph.add("e2a", Tanh(), input: "e2n")
        for source in ["vocals", "drums"] {
            let decoder = Scope("decoder").child(source)
            graph.add("\(source)/up", Upsample(factor: (2, 2)), input: "e2a")
            graph.add("\(source)/conv", Convolution2D(inChannels: 4, filters: 3, kernel: (3, 3), padding: (1, 1), store: store, name: decoder("up/conv")), input: "\(source)/up")
            graph.add("\(source)/skip", Concat(), inputs: ["\(source)/conv", "e1a"])
            graph.add("\(source)/mask", Convolution2D(inChannels: 6, filters: 1, kernel: (1, 1), store: store, name: decoder("mask/conv")), input: "\(source)/skip")
            graph.add(source, Sigmoid(), input: "\(source)/mask")
        }
        graph.setOutputs(["vocals", "drums"])
        #expect(store.slices.map(\.name).contains("decoder/drums/up/conv/kernel"))
        var generator = SeededGenerator(seed: 3)
        graph.initializeParameters(using: &generator)
        randomizeParameters(store, seed: 35)

        let context = ForwardContext(training: true)
        let input = randomTensor([2, 1, 8, 8], seed: 36)
        let projections = ["vocals": randomTensor([2, 1, 8, 8], seed: 37), "drums": randomTensor([2, 1, 8, 8], seed: 38)]
        func loss(_ x: Tensor) -> Double {
            let outputs = graph.forward(["mixture": x], context: context)
            return projections.reduce(0.0) { sum, entry in
                sum + zip(outputs[entry.key]!.data, entry.value.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
        }
        _ = graph.forward(["mixture": input], context: context)
        store.zeroGradients()
        let inputGradient = graph.backward(projections)["mixture"]!
        // A small step, so no leaky ReLU's kink is crossed.
        let step: Float = 1e-3
        for i in stride(from: 0, to: input.count, by: 7) {
            var plus = input, minus = input
            plus.data[i] += step
            minus.data[i] -= step
            let numeric = (loss(plus) - loss(minus)) / Double(2 * step)
            #expect(abs(numeric - Double(inputGradient.data[i])) <= 5e-3 * max(1, abs(numeric)), "input \(i)")
        }
        let analytic = Array(store.gradients)
        for i in stride(from: 0, to: store.count, by: 3) {
            let original = store.values[i]
            store.values[i] = original + step
            let up = loss(input)
            store.values[i] = original - step
            let down = loss(input)
            store.values[i] = original
            let numeric = (up - down) / Double(2 * step)
            #expect(abs(numeric - Double(analytic[i])) <= 5e-3 * max(1, abs(numeric)), "parameter \(i) of \(store.slices.last { $0.offset <= i }!.name): numeric \(numeric), analytic \(analytic[i])")
        }
    }

    /// A one-in, one-out graph nests as a layer of another graph.
    @Test func graphsNest() {
        let store = ParameterStore()
        let inner = Graph(inputs: [("x", [2, 4, 4])])
        inner.add("a", Convolution2D(inChannels: 2, filters: 2, kernel: (3, 3), padding: (1, 1), store: store, name: "inner/conv"), input: "x")
        inner.add("sum", Add(), inputs: ["a", "x"])
        inner.setOutputs(["sum"])
        let outer = Graph(inputs: [("in", [2, 4, 4])])
        outer.add("residual", inner.asLayer, input: "in")
        outer.add("out", Tanh(), input: "residual")
        outer.setOutputs(["out"])
        randomizeParameters(store, seed: 39)
        checkGradients(layer: outer.asLayer, store: store, input: randomTensor([2, 2, 4, 4], seed: 40))
    }
}

@Suite struct AttentionGradientTests {
    @Test func multiHeadAttention() {
        let store = ParameterStore()
        let attention = MultiHeadAttention(features: 6, heads: 2, store: store, name: "attention")
        var generator = SeededGenerator(seed: 4)
        attention.initializeParameters(using: &generator)
        #expect(store.slices.map(\.name).contains("attention/query/kernel"))
        checkGradients(layer: attention, store: store, input: randomTensor([2, 5, 6], seed: 41))
    }

    @Test func samsNetSlicedAttention() {
        let store = ParameterStore()
        let sliced = SlicedAttention(frequencies: 4, heads: 2, chunk: 3, store: store, name: "sliced")
        var generator = SeededGenerator(seed: 5)
        sliced.initializeParameters(using: &generator)
        checkGradients(layer: sliced, store: store, input: randomTensor([2, 2, 4, 6], seed: 42))
    }

    /// Frames in different chunks never see each other: changing the second chunk leaves
    /// the first chunk's output as it was.
    @Test func chunksAreIndependent() {
        let store = ParameterStore()
        let sliced = SlicedAttention(frequencies: 4, heads: 1, chunk: 3, store: store, name: "sliced")
        var generator = SeededGenerator(seed: 6)
        sliced.initializeParameters(using: &generator)
        var input = randomTensor([1, 1, 4, 6], seed: 43)
        let context = ForwardContext(training: false)
        let before = sliced.forward(input, context: context)
        for bin in 0..<4 { input.data[bin * 6 + 4] += 1 }
        let after = sliced.forward(input, context: context)
        for bin in 0..<4 {
            for frame in 0..<3 { #expect(before.data[bin * 6 + frame] == after.data[bin * 6 + frame]) }
            #expect(before.data[bin * 6 + 4] != after.data[bin * 6 + 4])
        }
    }
}
