import TimbreDSP

/// STFT frames on a global grid, one at a time: frame k is centred on sample k·hop of the
/// whole signal, and samples outside the signal count as zeros (librosa's centred framing
/// with zero padding). Because a frame depends only on its index and the signal, a file
/// processed block by block gives the same frames as the whole file at once.
///
/// Spectra are kept time-major (`frame * bins + bin`), as the separator's networks read them.
public final class SpectralFrames {
    public let fftSize: Int
    public let hopLength: Int
    public var bins: Int { fftSize / 2 + 1 }
    public let window: [Double]
    /// Magnitudes are divided by half the window's sum, so a full-scale sinusoid reads about 1
    /// whatever the FFT size.
    public let magnitudeScale: Float
    /// Added before the logarithm of network inputs (−80 dB).
    public static let floor: Float = 1e-4
    private let fft: RealFFT

    public init(fftSize: Int, hopLength: Int) {
        self.fftSize = fftSize
        self.hopLength = hopLength
        window = Window.hann(fftSize)
        magnitudeScale = Float(2 / window.reduce(0, +))
        fft = RealFFT(size: fftSize)
    }

    /// Spectra of frames `frames` of a whole signal of which `signal` holds a part: samples
    /// before 0 and from `length` on read as zeros; every other sample a frame needs must be
    /// in `signal`.
    /// - Parameters:
    ///   - signal: samples `origin ..< origin + signal.count` of the whole signal.
    ///   - length: samples in the whole signal; later ones are zeros.
    /// - Returns: real and imaginary parts, `frames.count × bins`, time-major.
    public func analyse(_ signal: UnsafeBufferPointer<Float>, origin: Int, length: Int, frames: Range<Int>,
                        real: inout [Float], imaginary: inout [Float]) {
        let bins = self.bins, n = fftSize, half = fftSize / 2
        // Sized once, then written through pointers: appending value by value cost more than the FFT.
        real.removeAll(keepingCapacity: true)
        imaginary.removeAll(keepingCapacity: true)
        real.append(contentsOf: repeatElement(0, count: frames.count * bins))
        imaginary.append(contentsOf: repeatElement(0, count: frames.count * bins))
        let samples = fft.samples, spectrum = fft.spectrum
        real.withUnsafeMutableBufferPointer { real in
            imaginary.withUnsafeMutableBufferPointer { imaginary in
                window.withUnsafeBufferPointer { window in
                    for (position, frame) in frames.enumerated() {
                        let start = frame * hopLength - half
                        // The frame's samples inside the signal; the rest are zeros.
                        let lower = max(0, start), inside = lower..<max(lower, min(length, start + n))
                        precondition(inside.isEmpty || (inside.lowerBound >= origin && inside.upperBound <= origin + signal.count),
                                     "frame \(frame) needs samples that were not given")
                        let first = inside.isEmpty ? n : inside.lowerBound - start, end = inside.isEmpty ? n : inside.upperBound - start
                        for i in 0..<first { samples[i] = 0 }
                        for i in first..<end { samples[i] = Double(signal[start + i - origin]) * window[i] }
                        for i in end..<n { samples[i] = 0 }
                        fft.forward()
                        let row = position * bins
                        for bin in 0..<bins {
                            real[row + bin] = Float(spectrum[2 * bin])
                            imaginary[row + bin] = Float(spectrum[2 * bin + 1])
                        }
                    }
                }
            }
        }
    }

    /// Scaled magnitudes of time-major spectra.
    public func magnitudes(real: [Float], imaginary: [Float]) -> [Float] {
        precondition(real.count == imaginary.count, "real and imaginary parts must match")
        let scale = magnitudeScale
        return [Float](unsafeUninitializedCapacity: real.count) { magnitudes, count in
            real.withUnsafeBufferPointer { real in
                imaginary.withUnsafeBufferPointer { imaginary in
                    for i in 0..<real.count { magnitudes[i] = (real[i] * real[i] + imaginary[i] * imaginary[i]).squareRoot() * scale }
                }
            }
            count = real.count
        }
    }

    /// Overlap-adds frames `frames` (time-major spectra) into samples `samples` of a signal
    /// whose STFT has `totalFrames` frames, dividing by the summed squared window of all
    /// those frames: what a whole-signal inverse STFT gives for these samples, provided
    /// `frames` holds every frame that touches them.
    public func synthesise(real: [Float], imaginary: [Float], frames: Range<Int>, samples: Range<Int>, totalFrames: Int) -> [Float] {
        let bins = self.bins, n = fftSize, half = fftSize / 2
        precondition(real.count == frames.count * bins && imaginary.count == real.count, "one spectrum per frame")
        var sum = [Double](repeating: 0, count: samples.count), weight = sum
        let spectrum = fft.spectrum, buffer = fft.samples, scale = 1 / Double(n)
        real.withUnsafeBufferPointer { real in
            imaginary.withUnsafeBufferPointer { imaginary in
                sum.withUnsafeMutableBufferPointer { sum in
                    window.withUnsafeBufferPointer { window in
                        for (position, frame) in frames.enumerated() {
                            let start = frame * hopLength - half
                            guard start < samples.upperBound, start + n > samples.lowerBound else { continue }
                            for bin in 0..<bins {
                                spectrum[2 * bin] = Double(real[position * bins + bin])
                                spectrum[2 * bin + 1] = Double(imaginary[position * bins + bin])
                            }
                            spectrum[1] = 0
                            spectrum[2 * (bins - 1) + 1] = 0
                            fft.inverse()
                            let offset = start - samples.lowerBound
                            for i in max(0, -offset)..<min(n, samples.count - offset) { sum[offset + i] += buffer[i] * scale * window[i] }
                        }
                    }
                }
            }
        }
        // The normalising sum counts every frame of the whole signal that covers a sample,
        // added frame by frame in order.
        weight.withUnsafeMutableBufferPointer { weight in
            window.withUnsafeBufferPointer { window in
                let first = max(0, BlockSeparator.floorDivide(samples.lowerBound + half - n, hopLength))
                let last = min(totalFrames - 1, BlockSeparator.floorDivide(samples.upperBound - 1 + half, hopLength))
                guard first <= last else { return }
                for frame in first...last {
                    let offset = frame * hopLength - half - samples.lowerBound
                    for i in max(0, -offset)..<max(max(0, -offset), min(n, samples.count - offset)) { weight[offset + i] += window[i] * window[i] }
                }
            }
        }
        let tiny = Double(Float.leastNormalMagnitude)
        return [Float](unsafeUninitializedCapacity: samples.count) { result, count in
            for i in 0..<samples.count { result[i] = Float(weight[i] > tiny ? sum[i] / weight[i] : sum[i]) }
            count = samples.count
        }
    }
}
