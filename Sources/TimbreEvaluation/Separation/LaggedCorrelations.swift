import TimbreDSP

/// Cross-correlations of long signals at short lags, R_pq[k] = Σ_n x_p[n]·x_q[n+k] for
/// |k| < maxLag, computed block by block with FFTs so that memory stays bounded however
/// long the signals are. The values equal a linear (not circular) correlation: each
/// block of x_p meets the stretch of x_q that reaches maxLag − 1 samples past its edges.
struct LaggedCorrelations {
    let maxLag: Int
    /// Correlations per requested pair, 2·maxLag − 1 values from lag −(maxLag − 1) up.
    private var values: [Int: [Double]] = [:]
    private let signalCount: Int

    /// - Parameters:
    ///   - signals: signals of equal length, in double precision.
    ///   - pairs: the (p, q) pairs wanted.
    ///   - largestFFT: the FFT size that long signals are cut to fit (a power of two).
    init(signals: [[Double]], pairs: [(Int, Int)], maxLag: Int, largestFFT: Int = 65_536) {
        precondition(maxLag > 0 && !signals.isEmpty, "need signals and a positive lag")
        self.maxLag = maxLag
        signalCount = signals.count
        let length = signals[0].count
        let margin = maxLag - 1
        var size = 1
        while size < 4 * (2 * margin + 1) || size < largestFFT && size < length + 2 * margin { size <<= 1 }
        let block = size - 2 * margin
        let bins = size / 2 + 1
        let fft = RealFFT(size: size)
        let buffer = fft.samples, complexValues = fft.spectrum
        func transform(_ fill: (UnsafeMutablePointer<Double>) -> Void) -> [Double] {
            fill(buffer)
            fft.forward()
            return Array(UnsafeBufferPointer(start: complexValues, count: 2 * bins))
        }
        let blockSignals = Set(pairs.map(\.0)), reachSignals = Set(pairs.map(\.1))
        var sums = [Int: [Double]]()
        for pair in pairs { sums[Self.key(pair, signalCount)] = [Double](repeating: 0, count: 2 * bins) }
        var start = 0
        while start < length {
            // The block of x_p sits after `margin` zeros; x_q's stretch starts `margin` earlier.
            var blockSpectra = [Int: [Double]](), reachSpectra = [Int: [Double]]()
            for p in blockSignals {
                let signal = signals[p]
                blockSpectra[p] = transform { target in
                    for i in 0..<size {
                        let n = start + i - margin
                        target[i] = i >= margin && i < margin + block && n < length ? signal[n] : 0
                    }
                }
            }
            for p in reachSignals {
                let signal = signals[p]
                reachSpectra[p] = transform { target in
                    for i in 0..<size {
                        let n = start + i - margin
                        target[i] = i < block + 2 * margin && n >= 0 && n < length ? signal[n] : 0
                    }
                }
            }
            for pair in pairs {
                let a = blockSpectra[pair.0]!, b = reachSpectra[pair.1]!
                let key = Self.key(pair, signalCount)
                sums[key]!.withUnsafeMutableBufferPointer { sum in
                    for k in 0..<bins {
                        // conj(A)·B
                        sum[2 * k] += a[2 * k] * b[2 * k] + a[2 * k + 1] * b[2 * k + 1]
                        sum[2 * k + 1] += a[2 * k] * b[2 * k + 1] - a[2 * k + 1] * b[2 * k]
                    }
                }
            }
            start += block
        }
        for (key, sum) in sums {
            for i in 0..<(2 * bins) { complexValues[i] = sum[i] }
            fft.inverse()
            let scale = 1 / Double(size)
            values[key] = (-margin...margin).map { lag in buffer[(lag + size) % size] * scale }
        }
    }

    private static func key(_ pair: (Int, Int), _ count: Int) -> Int { pair.0 * count + pair.1 }

    /// R_pq[lag] for a requested pair and |lag| < maxLag.
    func value(_ p: Int, _ q: Int, lag: Int) -> Double {
        series(p, q)[lag + maxLag - 1]
    }

    /// R_pq at every lag of a requested pair, from −(maxLag − 1) up: one look-up for loops
    /// that read many lags.
    func series(_ p: Int, _ q: Int) -> [Double] {
        values[Self.key((p, q), signalCount)]!
    }
}
