import Foundation
import TimbreCore
import Testing
@testable import TimbreNN

/// Central finite differences of a loss with respect to each logit, against the gradient
/// the loss returns.
private func checkLossGradient(_ logits: Tensor, step: Float = 1e-2, _ loss: (Tensor) -> SoftmaxCrossEntropy.Result) {
    let analytic = loss(logits).gradient
    for i in 0..<logits.count {
        var plus = logits, minus = logits
        plus.data[i] += step
        minus.data[i] -= step
        let numeric = (loss(plus).loss - loss(minus).loss) / Double(2 * step)
        #expect(abs(numeric - Double(analytic.data[i])) <= 1e-4, "logit \(i): numeric \(numeric), analytic \(analytic.data[i])")
    }
}

@Suite struct LossTests {
    let targets = Tensor(shape: [3, 4], data: [1, 0, 1, 0, 0, 0, 0, 1, 0.5, 1, 0, 0])

    @Test func binaryCrossEntropyGradientMatchesFiniteDifferences() {
        let logits = randomTensor([3, 4], seed: 11, scale: 3)
        checkLossGradient(logits) { SigmoidCrossEntropy.evaluate(logits: $0, targets: targets) }
        checkLossGradient(logits) { SigmoidCrossEntropy.evaluate(logits: $0, targets: targets, weights: [0.5, 2, 1]) }
    }

    @Test func binaryCrossEntropyHasKnownValuesAndNeverOverflows() {
        // σ(0) = 1/2 whatever the target: the loss is ln 2.
        let zero = SigmoidCrossEntropy.evaluate(logits: Tensor(zeros: [1, 2]), targets: Tensor(shape: [1, 2], data: [1, 0]))
        #expect(abs(zero.loss - 0.693_147_18) < 1e-6)
        #expect(zero.probabilities.data == [0.5, 0.5])
        // Confidently right costs nothing, confidently wrong costs |z| (mean over 2 classes).
        let far = SigmoidCrossEntropy.evaluate(logits: Tensor(shape: [1, 2], data: [200, -200]), targets: Tensor(shape: [1, 2], data: [1, 1]))
        #expect(abs(far.loss - 100) < 1e-9)
        #expect(far.probabilities.data == [1, 0])
        #expect(far.gradient.data.allSatisfy { $0.isFinite })
    }

    @Test func softmaxAgainstDistributionsMatchesFiniteDifferencesAndTheIndexForm() {
        let logits = randomTensor([3, 4], seed: 12, scale: 3)
        checkLossGradient(logits) { OutputActivation.softmax.loss(logits: $0, targets: targets) }
        // One-hot rows give exactly the loss and gradient of the class-index form.
        let oneHot = Tensor(shape: [3, 4], data: [0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0])
        let rows = SoftmaxCrossEntropy.evaluate(logits: logits, distributions: oneHot, weights: [1, 2, 0.5])
        let indices = SoftmaxCrossEntropy.evaluate(logits: logits, targets: [1, 3, 0], weights: [1, 2, 0.5])
        #expect(abs(rows.loss - indices.loss) < 1e-9)
        for (a, b) in zip(rows.gradient.data, indices.gradient.data) { #expect(abs(a - b) <= 1e-7) }
    }

    @Test func theArchitectureChoosesTheOutputsMeaning() throws {
        let sigmoid = Architecture.instrumentCNN(classes: 3, inputShape: [1, 8, 8], filters: 2, hidden: 4, output: .sigmoid)
        let model = Sequential(sigmoid)
        model.initialize(seed: 3)
        let probabilities = model.predict(randomTensor([2, 1, 8, 8], seed: 4))
        let logits = model.forward(randomTensor([2, 1, 8, 8], seed: 4), context: ForwardContext(training: false))
        #expect(probabilities == SigmoidCrossEntropy.sigmoid(logits))
        // Files written before the field existed decode as softmax classifiers.
        let old = #"{"inputShape":[1,8,8],"layers":[{"flatten":{}},{"dense":{"units":3}}]}"#
        let decoded = try JSONDecoder().decode(Architecture.self, from: Data(old.utf8))
        #expect(decoded.output == .softmax)
        let roundTrip = try JSONDecoder().decode(Architecture.self, from: JSONEncoder().encode(sigmoid))
        #expect(roundTrip == sigmoid)
    }
}
