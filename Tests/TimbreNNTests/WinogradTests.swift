import Testing
@testable import TimbreNN

/// Straightforward 3×3 "same" convolution in Double: the independent reference.
func naiveConvolution(_ input: [Float], channels: Int, height: Int, width: Int, kernels: [Float], filters: Int) -> [Double] {
    var output = [Double](repeating: 0, count: filters * height * width)
    for f in 0..<filters {
        for y in 0..<height {
            for x in 0..<width {
                var sum = 0.0
                for c in 0..<channels {
                    for dy in 0..<3 {
                        for dx in 0..<3 {
                            let sy = y + dy - 1, sx = x + dx - 1
                            guard sy >= 0, sy < height, sx >= 0, sx < width else { continue }
                            sum += Double(kernels[((f * channels + c) * 3 + dy) * 3 + dx]) * Double(input[(c * height + sy) * width + sx])
                        }
                    }
                }
                output[(f * height + y) * width + x] = sum
            }
        }
    }
    return output
}

@Suite struct WinogradTests {
    @Test(arguments: [(3, 4, 7, 9), (2, 5, 8, 8), (5, 3, 1, 6), (64, 8, 13, 11)])
    func forwardAndInputGradientMatchADirectConvolution(channels: Int, filters: Int, height: Int, width: Int) {
        let store = ParameterStore()
        let conv = Conv2D(inChannels: channels, filters: filters, store: store, name: "c")
        var values = randomTensor([store.count], seed: 41).data
        for f in 0..<filters { values[store.count - filters + f] = 0 }  // zero bias
        store.setValues(values)
        let kernels = Array(values[0..<(store.count - filters)])
        let input = randomTensor([1, channels, height, width], seed: 42)
        let expected = naiveConvolution(input.data, channels: channels, height: height, width: width, kernels: kernels, filters: filters)

        // The layer (which takes the Winograd path for these shapes).
        let output = conv.forward(input, context: ForwardContext(training: false))
        let scale = expected.map(abs).max()!
        let worst = zip(output.data, expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst <= 1e-5 * max(1, scale), "forward differs by \(worst)")

        // Input gradient: the adjoint of the convolution, dx[c] = Σ_f dy[f] ⋆ flip(k[f, c]).
        let gradient = randomTensor(output.shape, seed: 43)
        let inputGradient = conv.backward(gradient)
        var flippedKernels = [Float](repeating: 0, count: kernels.count)
        for f in 0..<filters {
            for c in 0..<channels {
                for k in 0..<9 { flippedKernels[((c * filters + f) * 3 + k / 3) * 3 + k % 3] = kernels[((f * channels + c) * 3 + (2 - k / 3)) * 3 + (2 - k % 3)] }
            }
        }
        let expectedGradient = naiveConvolution(gradient.data, channels: filters, height: height, width: width, kernels: flippedKernels, filters: channels)
        let gradientScale = expectedGradient.map(abs).max()!
        let worstGradient = zip(inputGradient.data, expectedGradient).map { abs(Double($0) - $1) }.max()!
        #expect(worstGradient <= 1e-5 * max(1, gradientScale), "input gradient differs by \(worstGradient)")
    }
}

/// Weight and bias gradients of a 3×3 "same" convolution in Double:
/// dW[f, c, dy, dx] = Σ_y,x dY[f, y, x] · X[c, y + dy − 1, x + dx − 1], db[f] = Σ dY[f].
func naiveWeightGradients(input: [Float], channels: Int, height: Int, width: Int, outputGradient: [Float], filters: Int) -> [Double] {
    var gradients = [Double](repeating: 0, count: filters * channels * 9 + filters)
    for f in 0..<filters {
        for y in 0..<height {
            for x in 0..<width {
                let g = Double(outputGradient[(f * height + y) * width + x])
                gradients[filters * channels * 9 + f] += g
                for c in 0..<channels {
                    for dy in 0..<3 {
                        for dx in 0..<3 {
                            let sy = y + dy - 1, sx = x + dx - 1
                            guard sy >= 0, sy < height, sx >= 0, sx < width else { continue }
                            gradients[((f * channels + c) * 3 + dy) * 3 + dx] += g * Double(input[(c * height + sy) * width + sx])
                        }
                    }
                }
            }
        }
    }
    return gradients
}

@Suite struct ConvolutionPathTests {
    /// Every lowering (direct single-channel, Winograd, im2col) against the Double
    /// reference: forward output, ReLU included, and weight and bias gradients.
    @Test(arguments: [(1, 4, 9, 37), (1, 3, 5, 16), (1, 64, 6, 130), (3, 4, 7, 9), (64, 8, 13, 11)])
    func forwardAndWeightGradientsMatchADirectComputation(channels: Int, filters: Int, height: Int, width: Int) {
        let store = ParameterStore()
        let conv = Conv2D(inChannels: channels, filters: filters, fusedReLU: true, store: store, name: "c")
        conv.computesInputGradient = false
        let values = randomTensor([store.count], seed: 51).data
        store.setValues(values)
        let kernels = Array(values[0..<(store.count - filters)]), biases = Array(values[(store.count - filters)...])
        let input = randomTensor([2, channels, height, width], seed: 52)
        let pixels = height * width
        let output = conv.forward(input, context: ForwardContext(training: true))
        let gradient = randomTensor(output.shape, seed: 53)
        store.zeroGradients()
        _ = conv.backward(gradient)
        var expectedGradients = [Double](repeating: 0, count: store.count)
        for item in 0..<2 {
            let image = Array(input.data[(item * channels * pixels)..<((item + 1) * channels * pixels)])
            let convolved = naiveConvolution(image, channels: channels, height: height, width: width, kernels: kernels, filters: filters)
            var masked = Array(gradient.data[(item * filters * pixels)..<((item + 1) * filters * pixels)])
            // Winograd's rounding is relative to the sums it forms, not to each output.
            let outputScale = convolved.map(abs).max()!
            for i in convolved.indices {
                let expected = max(0, convolved[i] + Double(biases[i / pixels]))
                let actual = Double(output.data[item * filters * pixels + i])
                #expect(abs(actual - expected) <= 1e-5 * max(1, outputScale), "output \(i) of item \(item): \(actual) vs \(expected)")
                if !(expected > 0) { masked[i] = 0 }
            }
            let itemGradients = naiveWeightGradients(input: image, channels: channels, height: height, width: width, outputGradient: masked, filters: filters)
            for k in expectedGradients.indices { expectedGradients[k] += itemGradients[k] }
        }
        let scale = expectedGradients.map(abs).max()!
        let worst = zip(store.gradients, expectedGradients).map { abs(Double($0) - $1) }.max()!
        #expect(worst <= 1e-5 * max(1, scale), "weight gradients differ by \(worst) (scale \(scale))")
    }

    /// Max-pooling's vector path (eight windows at a time) and tail agree with finite
    /// differences, and behind a ReLU it sends nothing through windows whose maximum is 0.
    @Test func wideMaxPoolingAndItsReLUMask() {
        var input = randomTensor([2, 3, 5, 37], seed: 54)
        for i in input.data.indices { input.data[i] = Float((i * 37) % 1110) * 0.01 + input.data[i] * 0.001 }
        checkGradients(layer: MaxPool2D(size: 2), store: nil, input: input)

        var rectified = randomTensor([1, 2, 4, 36], seed: 55)
        for i in rectified.data.indices { rectified.data[i] = max(0, rectified.data[i]) }
        let pool = MaxPool2D(size: 2)
        pool.masksNonPositive = true
        let output = pool.forward(rectified, context: ForwardContext(training: true))
        let gradient = pool.backward(Tensor(shape: output.shape, data: [Float](repeating: 1, count: output.count)))
        var expected = [Float](repeating: 0, count: rectified.count)
        for plane in 0..<2 {
            for oy in 0..<2 {
                for ox in 0..<18 {
                    let corners = [0, 1, 36, 37].map { plane * 144 + 2 * oy * 36 + 2 * ox + $0 }
                    let best = corners.map { rectified.data[$0] }.max()!
                    if best > 0 { expected[corners.first { rectified.data[$0] == best }!] = 1 }
                }
            }
        }
        #expect(gradient.data == expected)
    }
}

@Suite struct FusedInferenceTests {
    /// Largest difference between two tensors, and the largest magnitude in `reference`.
    func difference(_ a: Tensor, _ reference: Tensor) -> (worst: Float, scale: Float) {
        (zip(a.data, reference.data).map { abs($0 - $1) }.max() ?? 0, reference.data.map(abs).max() ?? 0)
    }

    /// Inference fuses conv → ReLU → max-pool and takes each image through a run of such
    /// blocks in channels-last layout (odd sizes whose last row or column the pooling
    /// drops, dropout between blocks); it must give the values of the layers run one by
    /// one: the single-channel block exactly, the Winograd blocks within rounding. With
    /// channel counts the fused path does not take (5), the layers run one by one.
    @Test(arguments: [(8, 16), (16, 8), (5, 5)])
    func fusedBlocksGiveTheValuesOfTheLayersRunOneByOne(first: Int, second: Int) {
        let architecture = Architecture(inputShape: [1, 11, 37], layers: [
            .standardize, .conv2d(filters: first, kernel: 3), .relu, .maxPool(size: 2), .dropout(rate: 0.5),
            .conv2d(filters: second, kernel: 3), .relu, .maxPool(size: 2), .dropout(rate: 0.5),
            .flatten, .dense(units: 3),
        ])
        let model = Sequential(architecture)
        // Random weights and biases (initialisation leaves biases at zero).
        model.parameters.setValues(randomTensor([model.parameters.count], seed: 31, scale: 0.5).data)
        let input = randomTensor([3, 1, 11, 37], seed: 32, scale: 4)
        let context = ForwardContext(training: false)
        let fused = model.forward(input, context: context)
        let layerByLayer = model.layers.reduce(input) { $1.forward($0, context: context) }
        #expect(fused.shape == layerByLayer.shape)
        let (worst, scale) = difference(fused, layerByLayer)
        #expect(worst <= 1e-5 * max(1, scale), "fused inference differs by \(worst)")
    }

    /// One block alone: single-channel layers are exact; Winograd layers match within
    /// rounding, among them images that span several bands of tiles (22 × 30); layers
    /// without a fused path say so. Channel and filter counts cover both vector widths
    /// (multiples of 16 take 16-lane vectors on AVX-512 builds), with filter counts that
    /// leave an odd last group.
    @Test func eachFusedBlockMatchesConvolutionReLUAndPooling() throws {
        let cases = [(1, 24, 13, 10, true), (1, 48, 13, 10, true), (16, 8, 13, 10, false), (64, 72, 22, 30, false), (32, 48, 22, 30, false)]
        for (channels, filters, height, width, exact) in cases {
            let store = ParameterStore()
            let conv = Conv2D(inChannels: channels, filters: filters, fusedReLU: true, store: store, name: "c")
            store.setValues(randomTensor([store.count], seed: 51, scale: 0.5).data)
            let input = randomTensor([2, channels, height, width], seed: 52, scale: 3)
            let context = ForwardContext(training: false)
            let pooled = try #require(conv.forwardPooled(input))
            let reference = MaxPool2D(size: 2).forward(conv.forward(input, context: context), context: context)
            #expect(pooled.shape == [2, filters, height / 2, width / 2])
            if exact {
                #expect(pooled == reference)
            } else {
                let (worst, scale) = difference(pooled, reference)
                #expect(worst <= 1e-5 * max(1, scale), "\(channels) channels: differs by \(worst)")
            }
        }
        let store = ParameterStore()
        #expect(Conv2D(inChannels: 3, filters: 8, fusedReLU: true, store: store, name: "odd").forwardPooled(randomTensor([1, 3, 4, 4], seed: 1)) == nil)
    }
}
