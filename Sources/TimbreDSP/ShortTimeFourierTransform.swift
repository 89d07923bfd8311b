import CFFTW
import Foundation

/// FFTW's planner is not thread-safe; only `fftw_execute` is.
private let plannerLock = NSLock()

/// Power spectrogram |STFT|² with librosa's framing: periodic Hann window, frames every
/// `hopLength` samples, `center=True` with zero padding of nFFT/2 on both sides.
///
/// The transform runs in double precision, as librosa's does (its float64 window promotes
/// each frame), and the power is rounded to `Float` at the end. One plan is made per
/// instance and reused for every frame; use one instance per thread.
public final class ShortTimeFourierTransform {
    public let nFFT: Int
    public let hopLength: Int
    public var bins: Int { nFFT / 2 + 1 }
    private let window: [Double]
    private let input: UnsafeMutablePointer<Double>
    private let output: UnsafeMutablePointer<fftw_complex>
    private let plan: fftw_plan

    public init(nFFT: Int, hopLength: Int) {
        precondition(nFFT > 0 && nFFT % 2 == 0 && hopLength > 0, "nFFT must be even and positive")
        self.nFFT = nFFT
        self.hopLength = hopLength
        window = Window.hann(nFFT)
        input = fftw_alloc_real(nFFT)
        output = fftw_alloc_complex(nFFT / 2 + 1)
        plannerLock.lock()
        plan = fftw_plan_dft_r2c_1d(Int32(nFFT), input, output, UInt32(FFTW_ESTIMATE))
        plannerLock.unlock()
    }

    deinit {
        plannerLock.lock()
        fftw_destroy_plan(plan)
        plannerLock.unlock()
        fftw_free(input)
        fftw_free(output)
    }

    /// Number of frames for `sampleCount` samples: 1 + sampleCount / hopLength.
    public func frameCount(for sampleCount: Int) -> Int { 1 + sampleCount / hopLength }

    /// Writes the power spectrogram of `signal` into `power`, laid out frame-major:
    /// `power[frame * bins + bin]`.
    public func power(of signal: UnsafeBufferPointer<Float>, into power: UnsafeMutableBufferPointer<Float>) {
        let frames = frameCount(for: signal.count)
        precondition(power.count >= frames * bins, "power buffer too small")
        let half = nFFT / 2
        let spectrum = UnsafeMutableRawPointer(output).assumingMemoryBound(to: Double.self)
        window.withUnsafeBufferPointer { window in
            for frame in 0..<frames {
                // Sample index of the frame's first point in the unpadded signal.
                let start = frame * hopLength - half
                for n in 0..<nFFT {
                    let index = start + n
                    input[n] = index >= 0 && index < signal.count ? Double(signal[index]) * window[n] : 0
                }
                fftw_execute(plan)
                let row = frame * bins
                for bin in 0..<bins {
                    let re = spectrum[2 * bin], im = spectrum[2 * bin + 1]
                    power[row + bin] = Float(re * re + im * im)
                }
            }
        }
    }
}
