import Foundation

/// The gain that brings a recording to the level its separator learned at.
///
/// A separator's network reads log magnitudes standardised with the training mixtures'
/// statistics (`SeparatorSettings.inputMean`), so a recording mastered much louder or
/// quieter than those mixtures reaches it far from zero mean, and its masks (and stems)
/// change with the level. The gain found here makes the recording's mean log magnitude, over
/// all its frames and the model's bins, equal to the training mixtures' mean; the masks are
/// then applied to the recording as it is, so the stems keep its level.
///
/// Magnitudes are counted in a histogram of their logarithms, so the whole file is measured
/// in fixed memory and the gain is solved for afterwards (log(ε + g·m) is not a shift of
/// log m near the floor ε).
public struct InputLevel: Sendable {
    /// Natural-log magnitudes are counted in steps of `step` from `lowest` (about −217 dB)
    /// to `lowest + step · stepCount` (+43 dB); smaller ones, zeros included, count as zeros,
    /// larger ones in the top step.
    static let lowest = -25.0, step = 0.01, stepCount = 3000
    private var counts = [Double](repeating: 0, count: stepCount + 1)
    /// Magnitudes counted, zeros included.
    private var total = 0.0

    public init() {}

    /// Counts `magnitudes` (linear, as the network input takes them).
    public mutating func add(_ magnitudes: UnsafeBufferPointer<Float>) {
        counts.withUnsafeMutableBufferPointer { counts in
            for magnitude in magnitudes {
                guard magnitude > 0, magnitude.isFinite else { counts[0] += 1; continue }
                let position = (Double(log(magnitude)) - Self.lowest) / Self.step
                counts[position < 0 ? 0 : min(Self.stepCount, 1 + Int(position))] += 1
            }
        }
        total += Double(magnitudes.count)
    }

    /// The magnitude step `index` stands for (its middle; zero for the first).
    static func magnitude(ofStep index: Int) -> Double {
        index == 0 ? 0 : exp(lowest + (Double(index) - 0.5) * step)
    }

    /// Mean of log(floor + gain · m) over the magnitudes counted.
    public func meanLog(gain: Double, floor: Double) -> Double {
        guard total > 0 else { return log(floor) }
        var sum = 0.0
        for (index, count) in counts.enumerated() where count > 0 { sum += count * log(floor + gain * Self.magnitude(ofStep: index)) }
        return sum / total
    }

    /// The gain whose `meanLog` is `target`, held within ±`limitDecibels`; 1 when nothing but
    /// zeros was counted (a silent file has no level to match).
    public func gain(matching target: Double, floor: Double, limitDecibels: Double = 40) -> Double {
        guard counts.dropFirst().contains(where: { $0 > 0 }) else { return 1 }
        // meanLog grows with the gain: bisect on its logarithm.
        var low = -limitDecibels * log(10) / 20, high = -low
        if meanLog(gain: exp(high), floor: floor) <= target { return exp(high) }
        if meanLog(gain: exp(low), floor: floor) >= target { return exp(low) }
        for _ in 0..<50 {
            let middle = (low + high) / 2
            if meanLog(gain: exp(middle), floor: floor) < target { low = middle } else { high = middle }
        }
        return exp((low + high) / 2)
    }
}
