import CFFTW
import Foundation

/// Linear convolution by FFT: a signal through an impulse response (a room, a guitar
/// cabinet), in double precision.
public enum FastConvolution {
    /// `signal` convolved with `response`, the first `signal.count` values (the output
    /// is as long as the input; the tail past its end is dropped).
    public static func apply(_ signal: [Float], response: [Float]) -> [Float] {
        guard !signal.isEmpty, !response.isEmpty else { return [Float](repeating: 0, count: signal.count) }
        let needed = signal.count + response.count - 1
        var size = 1
        while size < needed { size <<= 1 }
        let bins = size / 2 + 1
        let a = fftw_alloc_real(size)!, b = fftw_alloc_real(size)!
        let fa = fftw_alloc_complex(bins)!, fb = fftw_alloc_complex(bins)!
        defer { fftw_free(a); fftw_free(b); fftw_free(fa); fftw_free(fb) }
        fftwPlannerLock.lock()
        let forwardA = fftw_plan_dft_r2c_1d(Int32(size), a, fa, UInt32(FFTW_ESTIMATE))
        let forwardB = fftw_plan_dft_r2c_1d(Int32(size), b, fb, UInt32(FFTW_ESTIMATE))
        let inverse = fftw_plan_dft_c2r_1d(Int32(size), fa, a, UInt32(FFTW_ESTIMATE))
        fftwPlannerLock.unlock()
        defer {
            fftwPlannerLock.lock()
            fftw_destroy_plan(forwardA); fftw_destroy_plan(forwardB); fftw_destroy_plan(inverse)
            fftwPlannerLock.unlock()
        }
        for i in 0..<size {
            a[i] = i < signal.count ? Double(signal[i]) : 0
            b[i] = i < response.count ? Double(response[i]) : 0
        }
        fftw_execute(forwardA)
        fftw_execute(forwardB)
        let x = UnsafeMutableRawPointer(fa).assumingMemoryBound(to: Double.self)
        let h = UnsafeMutableRawPointer(fb).assumingMemoryBound(to: Double.self)
        let scale = 1 / Double(size)
        for k in 0..<bins {
            let (re, im) = (x[2 * k] * h[2 * k] - x[2 * k + 1] * h[2 * k + 1], x[2 * k] * h[2 * k + 1] + x[2 * k + 1] * h[2 * k])
            x[2 * k] = re * scale
            x[2 * k + 1] = im * scale
        }
        fftw_execute(inverse)
        return (0..<signal.count).map { Float(a[$0]) }
    }
}
