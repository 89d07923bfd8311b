import TimbreCore
import Testing
@testable import TimbreNN

/// Three classes of 24 × 25 "spectrograms": a harmonic band low, a band high, or
/// vertical onsets; each with noise, a random level and a random shift.
func syntheticSpectrograms(count: Int, seed: UInt64) -> (Tensor, [Int]) {
    var generator = SeededGenerator(seed: seed)
    let (h, w) = (24, 25)
    var data = [Float](repeating: 0, count: count * h * w)
    var labels: [Int] = []
    for item in 0..<count {
        let label = item % 3
        labels.append(label)
        let shift = Int(generator.next() % 3)
        let level = 0.5 + generator.nextUnit()
        for y in 0..<h {
            for x in 0..<w {
                var value = generator.nextUnit() * 0.6
                switch label {
                case 0: if y == 3 + shift || y == 7 + shift { value += level }
                case 1: if y == 15 + shift || y == 18 + shift { value += level }
                default: if (x + shift) % 6 == 0 { value += level }
                }
                data[item * h * w + y * w + x] = value
            }
        }
    }
    return (Tensor(shape: [count, 1, h, w], data: data), labels)
}

@Suite struct LearningTests {
    @Test func aSmallCNNLearnsThreeSyntheticClasses() {
        let architecture = Architecture.instrumentCNN(classes: 3, inputShape: [1, 24, 25], filters: 8, hidden: 32, dropout: 0.25)
        let model = Sequential(architecture)
        model.initialize(seed: 1)
        let optimizer = Adam(parameterCount: model.parameters.count, learningRate: 3e-3)
        let (train, trainLabels) = syntheticSpectrograms(count: 96, seed: 10)
        let (test, testLabels) = syntheticSpectrograms(count: 45, seed: 20)
        let size = train.itemSize
        var step: UInt64 = 0
        var firstLoss = 0.0
        for epoch in 0..<40 {
            for start in stride(from: 0, to: 96, by: 16) {
                let batch = Tensor(shape: [16, 1, 24, 25], data: Array(train.data[start * size..<(start + 16) * size]))
                let result = model.trainStep(batch, targets: Array(trainLabels[start..<start + 16]), optimizer: optimizer, seed: 5, step: step)
                if epoch == 0 && start == 0 { firstLoss = result.loss }
                step += 1
            }
        }
        let probabilities = model.predict(test)
        var errors = 0
        for item in 0..<45 {
            let row = probabilities.data[item * 3..<(item + 1) * 3]
            if row.firstIndex(of: row.max()!)! - item * 3 != testLabels[item] { errors += 1 }
        }
        #expect(firstLoss > 0.9, "starts near chance (ln 3 ≈ 1.1): \(firstLoss)")
        // Loss on the whole training set with dropout off.
        let trainingLoss = SoftmaxCrossEntropy.evaluate(logits: model.forward(train, context: ForwardContext(training: false)), targets: trainLabels).loss
        #expect(trainingLoss < 0.1, "training loss \(trainingLoss)")
        #expect(errors <= 1, "\(errors) of 45 held-out spectrograms misclassified")
    }

    @Test func theInstrumentCNNHasTheDesignedShape() {
        let model = Sequential(.instrumentCNN(classes: 13))
        #expect(model.shapes[1] == [64, 128, 130])
        // Pools: 128×130 → 64×65 → 32×32 → 16×16 → 8×8.
        #expect(model.shapes.contains([64, 8, 8]))
        #expect(model.outputShape == [13])
        // 4 convolutions (1→64, then 64→64) + dense 4096→256 + dense 256→13.
        let expected = (64 * 9 + 64) + 3 * (64 * 64 * 9 + 64) + (4096 * 256 + 256) + (256 * 13 + 13)
        #expect(model.parameters.count == expected)
    }

    @Test func trainingIsReproducibleForASeed() {
        func run() -> [Float] {
            let model = Sequential(.instrumentCNN(classes: 3, inputShape: [1, 24, 25], filters: 4, hidden: 8))
            model.initialize(seed: 3)
            let optimizer = Adam(parameterCount: model.parameters.count)
            let (train, labels) = syntheticSpectrograms(count: 12, seed: 4)
            for step in 0..<3 { _ = model.trainStep(train, targets: labels, optimizer: optimizer, seed: 9, step: UInt64(step)) }
            return model.parameters.valueArray
        }
        #expect(run() == run())
    }
}
