import CFFTW

/// A real FFT of one size with its buffers and both FFTW plans, made once and reused for
/// every frame or block: fill `samples`, call `forward()`, read `spectrum` (size/2 + 1
/// complex values, interleaved re, im); or fill `spectrum`, call `inverse()`, read
/// `samples` (unnormalised: divide by `size`). One instance per thread.
public final class RealFFT {
    public let size: Int
    public var bins: Int { size / 2 + 1 }
    public let samples: UnsafeMutablePointer<Double>
    public let spectrum: UnsafeMutablePointer<Double>
    private let complex: UnsafeMutablePointer<fftw_complex>
    private let forwardPlan: fftw_plan
    private let inversePlan: fftw_plan

    public init(size: Int) {
        precondition(size > 1 && size <= Int(Int32.max), "an FFT needs 2 to 2^31 points")
        self.size = size
        samples = fftw_alloc_real(size)
        complex = fftw_alloc_complex(size / 2 + 1)
        spectrum = UnsafeMutableRawPointer(complex).assumingMemoryBound(to: Double.self)
        fftwPlannerLock.lock()
        forwardPlan = fftw_plan_dft_r2c_1d(Int32(size), samples, complex, UInt32(FFTW_ESTIMATE))
        inversePlan = fftw_plan_dft_c2r_1d(Int32(size), complex, samples, UInt32(FFTW_ESTIMATE))
        fftwPlannerLock.unlock()
    }

    deinit {
        fftwPlannerLock.lock()
        fftw_destroy_plan(forwardPlan)
        fftw_destroy_plan(inversePlan)
        fftwPlannerLock.unlock()
        fftw_free(samples)
        fftw_free(complex)
    }

    /// samples → spectrum.
    public func forward() { fftw_execute(forwardPlan) }

    /// spectrum → samples (times `size`); overwrites the spectrum.
    public func inverse() { fftw_execute(inversePlan) }
}
