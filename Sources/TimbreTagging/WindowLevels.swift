import Foundation
import TimbreAudio

/// The level of a file's mono signal in given time spans, read block by block so a file of
/// any length needs memory for its spans only.
public enum WindowLevels {
    /// Energy is summed in grains of this many seconds (a whole number of samples at 22,050,
    /// 44,100 and 48,000 Hz); spans are rounded to whole grains.
    static let grainSeconds = 0.02

    /// 10·log10 of the mean square of `url`'s mono samples in each span (start, end in
    /// seconds), −∞ for a silent or empty span. NaN and infinite samples count as silence,
    /// as the tagger reads them, so that one of them cannot spoil every later span's sum.
    public static func decibels(of url: URL, spans: [(start: Double, end: Double)]) throws -> [Double] {
        let stream = try MonoAudioStream(url: url, silencingNonFiniteSamples: true)
        let grain = max(1, Int((grainSeconds * Double(stream.sampleRate)).rounded()))
        var energy: [Double] = [], filled = 0, current = 0.0
        while let block = try stream.next() {
            for sample in block {
                current += Double(sample * sample)
                filled += 1
                if filled == grain { energy.append(current); current = 0; filled = 0 }
            }
        }
        if filled > 0 { energy.append(current) }
        var total = [0.0]
        total.reserveCapacity(energy.count + 1)
        for value in energy { total.append(total[total.count - 1] + value) }
        let secondsPerGrain = Double(grain) / Double(stream.sampleRate)
        return spans.map { span in
            let first = min(energy.count, max(0, Int((span.start / secondsPerGrain).rounded())))
            let last = min(energy.count, max(first, Int((span.end / secondsPerGrain).rounded())))
            guard last > first else { return -.infinity }
            let mean = (total[last] - total[first]) / Double((last - first) * grain)
            return mean > 0 ? 10 * log10(mean) : -.infinity
        }
    }
}
