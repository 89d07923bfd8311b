/// Complex short-time Fourier transform and its inverse, with librosa's conventions:
/// `center=True` with nFFT/2 zeros on both sides, frames every `hopLength` samples, the
/// window zero-padded to nFFT in the middle when it is shorter, and an inverse that
/// overlap-adds windowed frames and divides by the summed squared window, so that
/// `inverse(forward(x), length: x.count)` gives `x` back wherever the window sum is not
/// zero (everywhere, for a Hann window with hop ≤ nFFT/2).
///
/// The transforms run in double precision. One FFTW plan each way is made per instance and
/// reused for every frame; use one instance per thread.
public final class ComplexShortTimeFourierTransform {
    public let nFFT: Int
    public let hopLength: Int
    public var bins: Int { nFFT / 2 + 1 }
    /// The analysis and synthesis window, nFFT long.
    public let window: [Double]
    private let fft: RealFFT

    /// - Parameter window: the window's values (a periodic Hann window of nFFT when nil);
    ///   a shorter window is centred in nFFT samples of zeros, as librosa does.
    public init(nFFT: Int, hopLength: Int, window: [Double]? = nil) {
        precondition(nFFT > 1 && nFFT % 2 == 0 && hopLength > 0, "nFFT must be even and at least 2, the hop positive")
        let window = window ?? Window.hann(nFFT)
        precondition(!window.isEmpty && window.count <= nFFT, "the window must be 1 to nFFT samples long")
        self.nFFT = nFFT
        self.hopLength = hopLength
        let left = (nFFT - window.count) / 2
        self.window = [Double](repeating: 0, count: left) + window + [Double](repeating: 0, count: nFFT - left - window.count)
        fft = RealFFT(size: nFFT)
    }

    /// Frames for `sampleCount` samples: 1 + sampleCount / hopLength, as librosa's centred framing.
    public func frameCount(for sampleCount: Int) -> Int { 1 + sampleCount / hopLength }

    /// The STFT of `signal`: `bins` × `frameCount(for: signal.count)` complex values.
    public func forward(_ signal: [Float]) -> ComplexSpectrogram {
        let frames = frameCount(for: signal.count), bins = self.bins, n = nFFT, half = nFFT / 2
        var result = ComplexSpectrogram(bins: bins, frames: frames)
        let samples = fft.samples, values = fft.spectrum
        signal.withUnsafeBufferPointer { signal in
            for frame in 0..<frames {
                let start = frame * hopLength - half
                for i in 0..<n {
                    let index = start + i
                    samples[i] = index >= 0 && index < signal.count ? Double(signal[index]) * window[i] : 0
                }
                fft.forward()
                for bin in 0..<bins {
                    result.real[bin * frames + frame] = Float(values[2 * bin])
                    result.imaginary[bin * frames + frame] = Float(values[2 * bin + 1])
                }
            }
        }
        return result
    }

    /// The signal of `length` samples whose STFT is closest to `spectrogram` (Griffin and
    /// Lim's least-squares overlap-add): each frame's inverse FFT times the window, summed,
    /// divided by the summed squared window where that sum is not negligible.
    public func inverse(_ spectrogram: ComplexSpectrogram, length: Int) -> [Float] {
        precondition(spectrogram.bins == bins, "the spectrogram has \(spectrogram.bins) bins, the transform \(bins)")
        precondition(length >= 0, "length must not be negative")
        let frames = spectrogram.frames, n = nFFT, half = nFFT / 2
        var sum = [Double](repeating: 0, count: length), weight = [Double](repeating: 0, count: length)
        let samples = fft.samples, values = fft.spectrum
        let scale = 1 / Double(n)
        for frame in 0..<frames {
            let start = frame * hopLength - half
            // Frames that lie wholly in the padding add nothing to the kept samples.
            guard start < length, start + n > 0 else { continue }
            for bin in 0..<bins {
                values[2 * bin] = Double(spectrogram.real[bin * frames + frame])
                values[2 * bin + 1] = Double(spectrogram.imaginary[bin * frames + frame])
            }
            // The imaginary parts of DC and Nyquist do not exist in a real signal's spectrum.
            values[1] = 0
            values[2 * (bins - 1) + 1] = 0
            fft.inverse()
            for i in max(0, -start)..<min(n, length - start) {
                let w = window[i]
                sum[start + i] += samples[i] * scale * w
                weight[start + i] += w * w
            }
        }
        // librosa's test: the window sum is used where it exceeds the smallest normal float.
        let tiny = Double(Float.leastNormalMagnitude)
        return (0..<length).map { weight[$0] > tiny ? Float(sum[$0] / weight[$0]) : Float(sum[$0]) }
    }
}
