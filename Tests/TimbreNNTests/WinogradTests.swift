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
