import Testing
@testable import TimbreNN

@Suite struct LossFunctionTests {
    let target = randomTensor([2, 3, 4], seed: 51)

    func checkGradient(_ evaluate: (Tensor) -> (loss: Double, gradient: Tensor), at output: Tensor) {
        let analytic = evaluate(output).gradient
        let step: Float = 1e-3
        for i in 0..<output.count {
            var plus = output, minus = output
            plus.data[i] += step
            minus.data[i] -= step
            let numeric = (evaluate(plus).loss - evaluate(minus).loss) / Double(2 * step)
            #expect(abs(numeric - Double(analytic.data[i])) <= 1e-3, "value \(i): numeric \(numeric), analytic \(analytic.data[i])")
        }
    }

    @Test func l1AndMSEHaveKnownValues() {
        let output = Tensor(shape: [1, 4], data: [1, -1, 0.5, 2]), target = Tensor(shape: [1, 4], data: [0, 0, 0.5, 0])
        #expect(abs(MeanAbsoluteError().evaluate(output, target: target).loss - 1) < 1e-9)
        #expect(abs(MeanSquaredError().evaluate(output, target: target).loss - 1.5) < 1e-9)
        #expect(MeanAbsoluteError().evaluate(output, target: target).gradient.data == [0.25, -0.25, 0, 0.25])
    }

    @Test func gradientsMatchFiniteDifferences() {
        // Kept away from the targets, so no step crosses L1's kink.
        var output = target
        let offsets = randomTensor(target.shape, seed: 52, gap: 0.05)
        for i in output.data.indices { output.data[i] += offsets.data[i] }
        checkGradient({ MeanAbsoluteError().evaluate($0, target: target) }, at: output)
        checkGradient({ MeanSquaredError().evaluate($0, target: target) }, at: output)
    }

    /// Chandna's discriminative form: squared error to the source minus a small multiple of
    /// the squared error to another source.
    @Test func aWeightedSumIsTheSumOfItsTermsAndGradients() {
        let other = randomTensor([2, 3, 4], seed: 53), output = randomTensor([2, 3, 4], seed: 54)
        let sum = WeightedLossSum([(1, MeanSquaredError()), (-0.01, MeanSquaredError()), (0.5, MeanAbsoluteError())])
        let (loss, _) = sum.evaluate(output, targets: [target, other, target])
        let expected = MeanSquaredError().evaluate(output, target: target).loss - 0.01 * MeanSquaredError().evaluate(output, target: other).loss
            + 0.5 * MeanAbsoluteError().evaluate(output, target: target).loss
        #expect(abs(loss - expected) < 1e-9)
        checkGradient({ sum.evaluate($0, targets: [target, other, target]) }, at: output)
    }

    @Test func theClassifierLossesShareTheInterface() {
        let logits = randomTensor([3, 4], seed: 55, scale: 2)
        let distributions = Tensor(shape: [3, 4], data: [1, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 1])
        let losses: [any LossFunction] = [SoftmaxCrossEntropyLoss(), BinaryCrossEntropyLoss()]
        for loss in losses { checkGradient({ loss.evaluate($0, target: distributions) }, at: logits) }
    }
}
