/// A complex spectrogram laid out bin-major, as librosa's `stft` returns it (`D[bin, frame]`):
/// the value of `bin` in `frame` is at `bin * frames + frame` of `real` and `imaginary`.
///
/// Masking separators work on it directly: scale both parts by a real mask, keep the phase.
public struct ComplexSpectrogram: Equatable, Sendable {
    public let bins: Int
    public let frames: Int
    public var real: [Float]
    public var imaginary: [Float]

    /// A spectrogram of zeros.
    public init(bins: Int, frames: Int) {
        precondition(bins > 0 && frames >= 0, "a spectrogram needs bins")
        self.bins = bins
        self.frames = frames
        real = [Float](repeating: 0, count: bins * frames)
        imaginary = real
    }

    public init(bins: Int, frames: Int, real: [Float], imaginary: [Float]) {
        precondition(real.count == bins * frames && imaginary.count == bins * frames, "parts must hold bins × frames values")
        self.bins = bins
        self.frames = frames
        self.real = real
        self.imaginary = imaginary
    }

    /// |X| of every value, in the same layout.
    public var magnitude: [Float] {
        zip(real, imaginary).map { ($0 * $0 + $1 * $1).squareRoot() }
    }

    /// The spectrogram with every value multiplied by the real `mask` (same layout): a
    /// soft mask changes magnitudes and keeps the mixture's phase.
    public func masked(by mask: [Float]) -> ComplexSpectrogram {
        precondition(mask.count == real.count, "mask must hold bins × frames values")
        var result = self
        for i in 0..<mask.count {
            result.real[i] *= mask[i]
            result.imaginary[i] *= mask[i]
        }
        return result
    }
}
