import Foundation

/// Temperature scaling (Guo et al., 2017): one scalar T divides every logit before the
/// softmax or sigmoid, chosen to minimise the loss on held-out clips. The ranking of the
/// classes, and so the top-1 decision, never changes; only how sure the model says it is.
public enum TemperatureScaling {
    /// The T in [0.05, 20] that minimises the mean loss of `logits / T` against `targets`
    /// ([N, classes] multi-hot rows), by golden-section search on log T. The loss is
    /// smooth and has one minimum in that range for the cases that matter (over- and
    /// under-confident models).
    public static func fit(logits: Tensor, targets: Tensor, output: OutputActivation) -> Double {
        func loss(_ logT: Double) -> Double {
            output.loss(logits: scaled(logits, by: exp(logT)), targets: targets).loss
        }
        var low = log(0.05), high = log(20.0)
        let ratio = (5.0.squareRoot() - 1) / 2
        var a = high - ratio * (high - low), b = low + ratio * (high - low)
        var lossA = loss(a), lossB = loss(b)
        for _ in 0..<60 where high - low > 1e-5 {
            if lossA < lossB {
                high = b; b = a; lossB = lossA
                a = high - ratio * (high - low); lossA = loss(a)
            } else {
                low = a; a = b; lossA = lossB
                b = low + ratio * (high - low); lossB = loss(b)
            }
        }
        return exp((low + high) / 2)
    }

    /// The calibration error that matches an output: the top class's for softmax (one
    /// class per clip), every class's for sigmoid (each probability a claim of its own).
    public static func calibrationError(probabilities: [Float], truth: [Set<Int>], classes: Int, output: OutputActivation) -> Double {
        switch output {
        case .softmax: return expectedCalibrationError(probabilities: probabilities, truth: truth, classes: classes)
        case .sigmoid: return everyClassCalibrationError(probabilities: probabilities, truth: truth, classes: classes)
        }
    }

    /// Expected calibration error over every (clip, class) probability: each one is a
    /// claim that the class is present, binned by its value (`bins` equal-width bins) and
    /// compared with how often the class is present in its bin.
    public static func everyClassCalibrationError(probabilities: [Float], truth: [Set<Int>], classes: Int, bins: Int = 15) -> Double {
        precondition(probabilities.count == truth.count * classes)
        var confidence = [Double](repeating: 0, count: bins), present = [Double](repeating: 0, count: bins), count = [Int](repeating: 0, count: bins)
        for (item, classesPresent) in truth.enumerated() {
            for c in 0..<classes {
                let p = Double(probabilities[item * classes + c])
                let bin = min(bins - 1, max(0, Int(p * Double(bins))))
                confidence[bin] += p
                present[bin] += classesPresent.contains(c) ? 1 : 0
                count[bin] += 1
            }
        }
        let total = count.reduce(0, +)
        guard total > 0 else { return 0 }
        return (0..<bins).reduce(0) { sum, bin in count[bin] == 0 ? sum : sum + abs(confidence[bin] - present[bin]) / Double(total) }
    }

    /// `logits / temperature`.
    public static func scaled(_ logits: Tensor, by temperature: Double) -> Tensor {
        var out = logits
        let inverse = Float(1 / temperature)
        for i in out.data.indices { out.data[i] *= inverse }
        return out
    }

    /// Expected calibration error of the top class (Guo et al.): clips are binned by the
    /// probability of their most probable class (`bins` equal-width bins); ECE is the
    /// clip-weighted mean gap between each bin's mean confidence and the share of its clips
    /// whose top class is one of their true classes. 0 is perfectly calibrated.
    public static func expectedCalibrationError(probabilities: [Float], truth: [Set<Int>], classes: Int, bins: Int = 15) -> Double {
        precondition(probabilities.count == truth.count * classes)
        var confidence = [Double](repeating: 0, count: bins), correct = [Double](repeating: 0, count: bins), count = [Int](repeating: 0, count: bins)
        for (item, classesPresent) in truth.enumerated() {
            let row = probabilities[(item * classes)..<((item + 1) * classes)]
            guard let top = row.indices.max(by: { row[$0] < row[$1] }) else { continue }
            let p = Double(row[top])
            let bin = min(bins - 1, max(0, Int(p * Double(bins))))
            confidence[bin] += p
            correct[bin] += classesPresent.contains(top - item * classes) ? 1 : 0
            count[bin] += 1
        }
        let total = count.reduce(0, +)
        guard total > 0 else { return 0 }
        return (0..<bins).reduce(0) { sum, bin in
            count[bin] == 0 ? sum : sum + abs(confidence[bin] - correct[bin]) / Double(total)
        }
    }
}
