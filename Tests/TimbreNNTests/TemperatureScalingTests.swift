import Foundation
import Testing
import TimbreCore
@testable import TimbreNN

@Suite struct TemperatureScalingTests {
    /// Labels drawn from softmax(z) make z calibrated; a model that says 4·z is
    /// over-confident. Fitting finds T ≈ 4 and the ECE drops to about that of z itself.
    @Test(arguments: [OutputActivation.softmax, .sigmoid])
    func fittingUndoesOverConfidence(output: OutputActivation) {
        let items = 4_000, classes = 5
        var rng = SeededGenerator(seed: 31)
        var logits = Tensor(shape: [items, classes], data: (0..<(items * classes)).map { _ in Float(rng.uniform(-2, 2)) })
        let calibrated = output.probabilities(logits)
        var targets = Tensor(shape: [items, classes], data: [Float](repeating: 0, count: items * classes))
        var truth: [Set<Int>] = []
        for item in 0..<items {
            let row = Array(calibrated.data[(item * classes)..<((item + 1) * classes)])
            var present = Set<Int>()
            if output == .softmax {
                var u = Float(rng.uniform(0, 1)), chosen = classes - 1
                for c in 0..<classes { u -= row[c]; if u < 0 { chosen = c; break } }
                present.insert(chosen)
            } else {
                for c in 0..<classes where Float(rng.uniform(0, 1)) < row[c] { present.insert(c) }
            }
            for c in present { targets.data[item * classes + c] = 1 }
            truth.append(present)
        }
        let honest = TemperatureScaling.calibrationError(probabilities: calibrated.data, truth: truth, classes: classes, output: output)
        for i in logits.data.indices { logits.data[i] *= 4 }
        let before = TemperatureScaling.calibrationError(probabilities: output.probabilities(logits).data, truth: truth, classes: classes, output: output)
        let temperature = TemperatureScaling.fit(logits: logits, targets: targets, output: output)
        #expect(abs(temperature - 4) < 0.4, "T = \(temperature)")
        var architecture = Architecture(inputShape: [1, 2, 2], layers: [.flatten, .dense(units: classes)], output: output)
        architecture.temperature = temperature
        let after = TemperatureScaling.calibrationError(probabilities: architecture.probabilities(logits).data, truth: truth, classes: classes, output: output)
        #expect(before > 0.1, "over-confident: ECE \(before)")
        #expect(after < 0.04 && after < before / 3, "ECE \(before) → \(after) (labels' own: \(honest))")
        // The ranking, and so every top-1 decision, is unchanged.
        let scaled = architecture.probabilities(logits), raw = output.probabilities(logits)
        for item in 0..<items {
            let a = (0..<classes).max { scaled.data[item * classes + $0] < scaled.data[item * classes + $1] }
            let b = (0..<classes).max { raw.data[item * classes + $0] < raw.data[item * classes + $1] }
            #expect(a == b)
        }
    }

    /// A perfectly sure, always right model has no calibration error; one that says 0.9
    /// and is right half the time has an error of 0.4.
    @Test func knownCalibrationErrors() {
        let sure: [Float] = [1, 0, 0, 1]
        #expect(TemperatureScaling.expectedCalibrationError(probabilities: sure, truth: [[0], [1]], classes: 2) == 0)
        let boastful: [Float] = [0.9, 0.1, 0.9, 0.1]
        #expect(abs(TemperatureScaling.expectedCalibrationError(probabilities: boastful, truth: [[0], [1]], classes: 2) - 0.4) < 1e-6)
    }

    /// Every (clip, class) probability is a claim: 0.9 for a present class and 0.1 for an
    /// absent one are 0.1 off each; a model that says 0.5 for a class present half the
    /// time is calibrated.
    @Test func everyClassCalibrationErrorKnownAnswers() {
        let claims: [Float] = [0.9, 0.1, 0.9, 0.1]
        #expect(abs(TemperatureScaling.everyClassCalibrationError(probabilities: claims, truth: [[0], [0]], classes: 2) - 0.1) < 1e-6)
        let halves: [Float] = [0.5, 0.5]
        #expect(TemperatureScaling.everyClassCalibrationError(probabilities: halves, truth: [[0], []], classes: 1) == 0)
    }

    /// The temperature travels with the architecture's JSON; without one, files written
    /// before it existed read as T = 1.
    @Test func temperatureIsStoredAndOptional() throws {
        var architecture = Architecture.instrumentCNN(classes: 3)
        #expect(!String(decoding: try JSONEncoder().encode(architecture), as: UTF8.self).contains("temperature"))
        architecture.temperature = 2.5
        let decoded = try JSONDecoder().decode(Architecture.self, from: JSONEncoder().encode(architecture))
        #expect(decoded.temperature == 2.5)
        architecture.temperature = 0
        #expect(throws: Architecture.Invalid.self) { try architecture.validate() }
    }
}
