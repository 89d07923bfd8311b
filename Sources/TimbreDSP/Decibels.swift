import Foundation

/// Power to decibels as librosa 0.11's `power_to_db`:
/// 10·log10(max(amin, S)) − 10·log10(max(amin, ref)), then clipped to `topDB` below the
/// maximum of the whole array (so it is per clip when called per clip).
public enum Decibels {
    public static func powerToDB(_ values: UnsafeMutableBufferPointer<Float>, reference: Double = 1, amin: Double = 1e-10, topDB: Double? = 80) {
        let floor = Float(amin)
        let offset = Float(10 * log10(max(amin, reference)))
        var peak = -Float.infinity
        for index in values.indices {
            let db = 10 * log10(max(floor, values[index])) - offset
            values[index] = db
            peak = max(peak, db)
        }
        if let topDB {
            let lowest = peak - Float(topDB)
            for index in values.indices where values[index] < lowest { values[index] = lowest }
        }
    }

    /// Root-mean-square level of `samples` in dB relative to full scale (1.0 = 0 dB);
    /// −inf for silence, NaN when a sample is NaN, +inf when one is infinite.
    public static func rmsLevel(_ samples: UnsafeBufferPointer<Float>) -> Double {
        guard !samples.isEmpty else { return -.infinity }
        var sum = 0.0
        for sample in samples { sum += Double(sample) * Double(sample) }
        let rms = (sum / Double(samples.count)).squareRoot()
        // NaN samples give NaN and infinite ones +∞, so callers can tell them from silence.
        if rms.isNaN { return .nan }
        return rms > 0 ? 20 * log10(rms) : -.infinity
    }
}
