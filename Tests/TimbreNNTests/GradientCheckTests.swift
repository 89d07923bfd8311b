import TimbreCore
import Testing
@testable import TimbreNN

/// Random values in ±scale kept at least `gap` away from zero (so ReLU kinks are not
/// crossed by a finite-difference step smaller than `gap`).
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1, gap: Float = 0) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    let data = (0..<shape.reduce(1, *)).map { _ -> Float in
        let u = generator.nextUnit() * 2 - 1
        return u < 0 ? u * scale - gap : u * scale + gap
    }
    return Tensor(shape: shape, data: data)
}

/// Checks a layer's backward pass against central finite differences of
/// loss = Σ projection ⊙ layer(input), for the input and every parameter.
func checkGradients(layer: Layer, store: ParameterStore?, input: Tensor, step: Float = 1e-2, tolerance: Double = 2e-3,
                    context: ForwardContext = ForwardContext(training: true, seed: 7, step: 3), checkInput: Bool = true) {
    let output = layer.forward(input, context: context)
    let projection = randomTensor(output.shape, seed: 99)
    store?.zeroGradients()
    let inputGradient = layer.backward(projection)
    func loss(_ x: Tensor) -> Double {
        let y = layer.forward(x, context: context)
        return zip(y.data, projection.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    if checkInput {
        for i in stride(from: 0, to: input.count, by: max(1, input.count / 40)) {
            var plus = input, minus = input
            plus.data[i] += step
            minus.data[i] -= step
            let numeric = (loss(plus) - loss(minus)) / Double(2 * step)
            let analytic = Double(inputGradient.data[i])
            #expect(abs(numeric - analytic) <= tolerance * max(1, abs(numeric)), "input \(i): numeric \(numeric), analytic \(analytic)")
        }
    }
    if let store {
        let analytic = Array(store.gradients)
        for i in stride(from: 0, to: store.count, by: max(1, store.count / 40)) {
            let original = store.values[i]
            store.values[i] = original + step
            let up = loss(input)
            store.values[i] = original - step
            let down = loss(input)
            store.values[i] = original
            let numeric = (up - down) / Double(2 * step)
            #expect(abs(numeric - Double(analytic[i])) <= tolerance * max(1, abs(numeric)), "parameter \(i): numeric \(numeric), analytic \(analytic[i])")
        }
    }
}

@Suite struct GradientCheckTests {
    @Test func convolution() {
        let store = ParameterStore()
        let conv = Conv2D(inChannels: 2, filters: 3, kernel: 3, store: store, name: "c")
        for i in 0..<store.count { store.values[i] = randomTensor([store.count], seed: 5).data[i] }
        checkGradients(layer: conv, store: store, input: randomTensor([2, 2, 5, 6], seed: 1))
    }

    @Test func convolutionWithAFiveByFiveKernel() {
        let store = ParameterStore()
        let conv = Conv2D(inChannels: 1, filters: 2, kernel: 5, store: store, name: "c")
        for i in 0..<store.count { store.values[i] = randomTensor([store.count], seed: 6).data[i] }
        checkGradients(layer: conv, store: store, input: randomTensor([3, 1, 4, 7], seed: 2))
    }

    @Test func dense() {
        let store = ParameterStore()
        let dense = Dense(inputs: 7, outputs: 4, store: store, name: "d")
        for i in 0..<store.count { store.values[i] = randomTensor([store.count], seed: 8).data[i] }
        checkGradients(layer: dense, store: store, input: randomTensor([3, 7], seed: 3))
    }

    @Test func relu() {
        checkGradients(layer: ReLU(), store: nil, input: randomTensor([2, 3, 4], seed: 4, gap: 0.05))
    }

    @Test func maxPoolingWithOddSizes() {
        // Distinct values further apart than the step, so no window changes its winner.
        var input = randomTensor([2, 2, 5, 7], seed: 9)
        for i in input.data.indices { input.data[i] = Float((i * 37) % 140) * 0.1 + input.data[i] * 0.01 }
        checkGradients(layer: MaxPool2D(size: 2), store: nil, input: input)
    }

    @Test func dropoutInTrainingAndIdentityAtInference() {
        checkGradients(layer: Dropout(rate: 0.5, salt: 1), store: nil, input: randomTensor([4, 10], seed: 10))
        let input = randomTensor([4, 10], seed: 11)
        #expect(Dropout(rate: 0.5, salt: 1).forward(input, context: ForwardContext(training: false)) == input)
    }

    @Test func standardize() {
        checkGradients(layer: Standardize(), store: nil, input: randomTensor([3, 2, 3, 4], seed: 12, scale: 3), step: 1e-2, tolerance: 3e-3)
    }

    @Test func maxOverTime() {
        // Distinct values, so no row's winner changes under the finite-difference step.
        var input = randomTensor([2, 3, 4, 5], seed: 16)
        for i in input.data.indices { input.data[i] = Float((i * 53) % 120) * 0.1 + input.data[i] * 0.01 }
        checkGradients(layer: TimeMaxPool(), store: nil, input: input)
        let output = TimeMaxPool().forward(input, context: ForwardContext(training: false))
        #expect(output.shape == [2, 3, 4])
        for row in 0..<24 { #expect(output.data[row] == input.data[(row * 5)..<(row * 5 + 5)].max()) }
    }

    @Test func centreBands() {
        checkGradients(layer: CentreBands(), store: nil, input: randomTensor([3, 2, 3, 4], seed: 14, scale: 3))
        // A static gain per band (row) leaves the output unchanged, and every row sums to 0.
        let input = randomTensor([2, 1, 3, 5], seed: 15, scale: 3)
        var coloured = input
        for i in coloured.data.indices { coloured.data[i] += Float((i / 5) % 3) * 7 - 4 }
        let context = ForwardContext(training: false)
        let plain = CentreBands().forward(input, context: context), shifted = CentreBands().forward(coloured, context: context)
        for i in plain.data.indices { #expect(abs(plain.data[i] - shifted.data[i]) < 1e-5) }
        for row in 0..<6 { #expect(abs(plain.data[(row * 5)..<(row * 5 + 5)].reduce(0, +)) < 1e-4) }
    }

    @Test func softmaxCrossEntropy() {
        let logits = randomTensor([4, 5], seed: 13, scale: 3)
        let targets = [0, 4, 2, 2]
        let result = SoftmaxCrossEntropy.evaluate(logits: logits, targets: targets)
        for i in logits.data.indices {
            var plus = logits, minus = logits
            plus.data[i] += 1e-2
            minus.data[i] -= 1e-2
            let numeric = (SoftmaxCrossEntropy.evaluate(logits: plus, targets: targets).loss - SoftmaxCrossEntropy.evaluate(logits: minus, targets: targets).loss) / 2e-2
            #expect(abs(numeric - Double(result.gradient.data[i])) < 1e-4)
        }
        // Stable for huge logits.
        let huge = SoftmaxCrossEntropy.evaluate(logits: Tensor(shape: [1, 2], data: [1000, 0]), targets: [1])
        #expect(abs(huge.loss - 1000) < 1e-3)
    }

    /// The classifier end to end, plain and with a batch norm after each convolution.
    @Test(arguments: [false, true]) func wholeNetwork(normalisesBatches: Bool) {
        let norm: [Architecture.LayerSpec] = normalisesBatches ? [.batchNorm] : []
        let architecture = Architecture(inputShape: [1, 6, 7], layers: [.standardize, .conv2d(filters: 3, kernel: 3)] + norm + [
            .relu, .maxPool(size: 2), .dropout(rate: 0.5), .conv2d(filters: 2, kernel: 3)] + norm + [
            .relu, .flatten, .dense(units: 5), .relu, .dropout(rate: 0.5), .dense(units: 3),
        ])
        let model = Sequential(architecture)
        model.initialize(seed: 21)
        model.computesInputGradient = true
        let input = randomTensor([3, 1, 6, 7], seed: 22, scale: 2)
        let targets = [2, 0, 1]
        let context = ForwardContext(training: true, seed: 3, step: 1)
        func loss() -> Double { SoftmaxCrossEntropy.evaluate(logits: model.forward(input, context: context), targets: targets).loss }
        model.parameters.zeroGradients()
        let result = SoftmaxCrossEntropy.evaluate(logits: model.forward(input, context: context), targets: targets)
        let inputGradient = model.backward(result.gradient)
        let analytic = Array(model.parameters.gradients)
        var checked = 0, agreeing = 0
        var misses: [String] = []
        for i in 0..<model.parameters.count {
            let original = model.parameters.values[i]
            model.parameters.values[i] = original + 1e-3
            let up = loss()
            model.parameters.values[i] = original - 1e-3
            let down = loss()
            model.parameters.values[i] = original
            let numeric = (up - down) / 2e-3
            checked += 1
            if abs(numeric - Double(analytic[i])) <= 2e-3 + 0.02 * abs(numeric) {
                agreeing += 1
            } else {
                let name = model.parameters.slices.first { $0.offset <= i && i < $0.offset + $0.count }?.name ?? "?"
                misses.append("\(name)[\(i)]: numeric \(numeric), analytic \(analytic[i])")
            }
        }
        // A step of 1e-3 rarely straddles a ReLU or pooling kink, and is large enough that
        // single-precision rounding (Winograd's included) stays well inside the tolerance;
        // a wrong layer would miss on many.
        #expect(Double(agreeing) >= 0.99 * Double(checked), "\(agreeing) of \(checked) agree; misses: \(misses)")
        #expect(inputGradient.shape == input.shape)
        #expect(inputGradient.data.contains { $0 != 0 })
    }
}

@Suite struct AdamTests {
    @Test func oneAndTwoStepsMatchHandComputedValues() {
        let store = ParameterStore()
        _ = store.add("w", shape: [2])
        store.setValues([1.0, -2.0])
        let adam = Adam(parameterCount: 2, learningRate: 0.1)
        // Step 1 with g = (0.5, -1): m = 0.1 g, v = 0.001 g², α = 0.1·√0.001/0.1 = √0.001,
        // update = α·m/(√v + ε) = √0.001 · 0.1g / (√0.001·|g| + 1e-7) ≈ 0.1·sign(g).
        store.gradients[0] = 0.5
        store.gradients[1] = -1
        adam.update(store)
        let alpha1 = 0.1 * (1 - 0.999).squareRoot() / (1 - 0.9)
        let expected0 = 1.0 - alpha1 * 0.05 / ((0.001 * 0.25).squareRoot() + 1e-7)
        let expected1 = -2.0 + alpha1 * 0.1 / ((0.001 * 1.0).squareRoot() + 1e-7)
        #expect(abs(Double(store.values[0]) - expected0) < 1e-6)
        #expect(abs(Double(store.values[1]) - expected1) < 1e-6)
        // Step 2 with g = (0.5, 0).
        store.gradients[1] = 0
        adam.update(store)
        let m0 = 0.9 * 0.05 + 0.1 * 0.5, v0 = 0.999 * 0.00025 + 0.001 * 0.25
        let m1 = 0.9 * -0.1, v1 = 0.999 * 0.001
        let alpha2 = 0.1 * (1 - 0.999 * 0.999).squareRoot() / (1 - 0.81)
        #expect(abs(Double(store.values[0]) - (expected0 - alpha2 * m0 / (v0.squareRoot() + 1e-7))) < 1e-6)
        #expect(abs(Double(store.values[1]) - (expected1 - alpha2 * m1 / (v1.squareRoot() + 1e-7))) < 1e-6)
        #expect(adam.state.step == 2)
    }
}

@Suite struct FusionTests {
    @Test func convolutionWithFusedReLUEqualsConvolutionThenReLU() {
        let fusedStore = ParameterStore(), plainStore = ParameterStore()
        let fused = Conv2D(inChannels: 3, filters: 4, fusedReLU: true, store: fusedStore, name: "c")
        let plain = Conv2D(inChannels: 3, filters: 4, store: plainStore, name: "c")
        let relu = ReLU()
        let weights = randomTensor([fusedStore.count], seed: 31).data
        fusedStore.setValues(weights)
        plainStore.setValues(weights)
        let input = randomTensor([3, 3, 6, 5], seed: 32)
        let context = ForwardContext(training: true)
        let a = fused.forward(input, context: context)
        let b = relu.forward(plain.forward(input, context: context), context: context)
        #expect(a == b)
        let gradient = randomTensor(a.shape, seed: 33)
        let dxFused = fused.backward(gradient)
        let dxPlain = plain.backward(relu.backward(gradient))
        #expect(dxFused == dxPlain)
        #expect(Array(fusedStore.gradients) == Array(plainStore.gradients))
    }
}

@Suite struct BatchNormAdaptationTests {
    /// Each batch norm takes the exact mean and unbiased variance of what reaches it over
    /// every batch, after the batch norms before it are adapted and with dropout off: the
    /// second one, fed the first one's adapted output, sees mean 0 and variance 1.
    @Test func eachBatchNormTakesTheStatisticsOfItsInputInTurn() {
        let model = Sequential(Architecture(inputShape: [2, 3, 4], layers: [.batchNorm, .dropout(rate: 0.5), .batchNorm, .flatten, .dense(units: 2)]))
        model.initialize(seed: 1)
        let batches = (0..<3).map { b -> Tensor in
            var batch = randomTensor([5, 2, 3, 4], seed: UInt64(30 + b), scale: 2)
            for n in 0..<5 {
                for i in (n * 24)..<(n * 24 + 12) { batch.data[i] = batch.data[i] * 2 + 3 }
            }
            return batch
        }
        model.adaptBatchNorms(batchCount: batches.count) { batches[$0] }
        for c in 0..<2 {
            var values: [Double] = []
            for batch in batches {
                for n in 0..<5 {
                    let start = n * 24 + c * 12
                    values += batch.data[start..<(start + 12)].map { Double($0) }
                }
            }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
            #expect(abs(Double(model.batchNorms[0].runningMean[c]) - mean) < 1e-5)
            #expect(abs(Double(model.batchNorms[0].runningVariance[c]) - variance) < 1e-4 * variance)
            #expect(abs(model.batchNorms[1].runningMean[c]) < 1e-5)
            #expect(abs(model.batchNorms[1].runningVariance[c] - 1) < 1e-3)
        }
        #expect(abs(Double(model.batchNorms[0].runningMean[0]) - 3) < 1, "channel 0 was moved to mean 3")
    }
}
