/// Triangular mel filters with Slaney area normalisation, equal to librosa 0.11's
/// `filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney")` in float32.
///
/// Each filter rises from mel point i to i+1 and falls to i+2, then is scaled by
/// 2 / (f[i+2] − f[i]) so every band has the same area. Stored sparsely: a band touches
/// only the few FFT bins between its edges.
public struct MelFilterbank: Sendable {
    /// One band's non-zero weights, starting at FFT bin `firstBin`.
    public struct Band: Sendable {
        public let firstBin: Int
        public let weights: [Float]
    }

    public let bands: [Band]
    public let fftBins: Int

    public init(sampleRate: Int, nFFT: Int, nMels: Int, fmin: Double = 0, fmax: Double? = nil) {
        let fmax = fmax ?? Double(sampleRate) / 2
        fftBins = nFFT / 2 + 1
        let binHz = (0..<fftBins).map { Double($0) * Double(sampleRate) / Double(nFFT) }
        let edges = MelScale.frequencies(count: nMels + 2, fmin: fmin, fmax: fmax)
        var bands: [Band] = []
        bands.reserveCapacity(nMels)
        for band in 0..<nMels {
            let lowWidth = edges[band + 1] - edges[band]
            let highWidth = edges[band + 2] - edges[band + 1]
            let areaNorm = 2 / (edges[band + 2] - edges[band])
            var firstBin = -1
            var weights: [Float] = []
            for bin in 0..<fftBins {
                let rising = (binHz[bin] - edges[band]) / lowWidth
                let falling = (edges[band + 2] - binHz[bin]) / highWidth
                // librosa stores the triangle in float32, then scales it in float64 and
                // rounds again; doing the same keeps the weights bit-equal.
                let triangle = Float(max(0, min(rising, falling)))
                let weight = Float(Double(triangle) * areaNorm)
                if weight != 0 {
                    if firstBin < 0 { firstBin = bin }
                    weights.append(weight)
                } else if firstBin >= 0 {
                    break
                }
            }
            bands.append(Band(firstBin: max(firstBin, 0), weights: weights))
        }
        self.bands = bands
    }

    public var count: Int { bands.count }

    /// The dense matrix [nMels × fftBins], row-major, as librosa returns it.
    public func dense() -> [Float] {
        var matrix = [Float](repeating: 0, count: count * fftBins)
        for (row, band) in bands.enumerated() {
            for (offset, weight) in band.weights.enumerated() {
                matrix[row * fftBins + band.firstBin + offset] = weight
            }
        }
        return matrix
    }

    /// Projects a bin-major power spectrogram (`power[bin * frames + frame]`) onto the
    /// bands, writing band-major output: `mel[band * frames + frame]`. The inner loop runs
    /// over frames, contiguous in both arrays, so it vectorises.
    public func apply(power: UnsafeBufferPointer<Float>, frames: Int, into mel: UnsafeMutableBufferPointer<Float>) {
        precondition(power.count >= frames * fftBins && mel.count >= frames * count, "buffer sizes")
        guard let powerBase = power.baseAddress, let melBase = mel.baseAddress else { return }
        for (row, band) in bands.enumerated() {
            let out = melBase + row * frames
            out.update(repeating: 0, count: frames)
            for (offset, weight) in band.weights.enumerated() {
                let source = powerBase + (band.firstBin + offset) * frames
                for frame in 0..<frames { out[frame] += weight * source[frame] }
            }
        }
    }
}
