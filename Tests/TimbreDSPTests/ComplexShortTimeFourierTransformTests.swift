import Foundation
import Testing
@testable import TimbreDSP

@Suite struct ComplexShortTimeFourierTransformTests {
    /// Uniform noise in [-1, 1) from a fixed linear congruential sequence.
    func noise(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Double(state >> 11) / Double(1 << 53) * 2 - 1)
        }
    }

    func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) { difference += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
        return (difference / norm).squareRoot()
    }

    @Test(arguments: [(1024, 256), (2048, 512), (4096, 1024)])
    func theInverseGivesTheSignalBack(nFFT: Int, hop: Int) {
        let signal = noise(22_050 + 123, seed: UInt64(nFFT))
        let transform = ComplexShortTimeFourierTransform(nFFT: nFFT, hopLength: hop)
        let spectrogram = transform.forward(signal)
        #expect(spectrogram.bins == nFFT / 2 + 1 && spectrogram.frames == 1 + signal.count / hop)
        let back = transform.inverse(spectrogram, length: signal.count)
        #expect(back.count == signal.count)
        #expect(relativeError(back, signal) < 1e-6)
    }

    @Test func aShorterWindowIsCentredAndStillInverts() {
        let signal = noise(5_000, seed: 9)
        let hamming = (0..<600).map { 0.54 - 0.46 * cos(2 * Double.pi * Double($0) / 600) }
        let transform = ComplexShortTimeFourierTransform(nFFT: 1024, hopLength: 150, window: hamming)
        #expect(transform.window[211] == 0 && transform.window[212] == hamming[0] && transform.window[812] == 0)
        let back = transform.inverse(transform.forward(signal), length: signal.count)
        #expect(relativeError(back, signal) < 1e-6)
    }

    /// A cosine on bin k, seen through a periodic Hann window, has the value
    /// (N/4)·e^{iφ} at bin k with φ = 2πk(t·hop − N/2)/N, the phase of the frame's first sample.
    @Test func aCosineOnABinHasTheKnownValueAndPhase() {
        let n = 512, hop = 128, k = 37
        let signal = (0..<4096).map { Float(cos(2 * Double.pi * Double(k * $0) / Double(n))) }
        let spectrogram = ComplexShortTimeFourierTransform(nFFT: n, hopLength: hop).forward(signal)
        for frame in [4, 11, 20] {
            let phase = 2 * Double.pi * Double(k * (frame * hop - n / 2)) / Double(n)
            let re = Double(spectrogram.real[k * spectrogram.frames + frame])
            let im = Double(spectrogram.imaginary[k * spectrogram.frames + frame])
            #expect(abs(re - Double(n) / 4 * cos(phase)) < 1e-3)
            #expect(abs(im - Double(n) / 4 * sin(phase)) < 1e-3)
            let neighbour = k + 3
            #expect(abs(spectrogram.real[neighbour * spectrogram.frames + frame]) < 1e-3)
        }
    }

    @Test func itsPowerIsTheFeaturePathsPower() {
        let signal = noise(10_000, seed: 3)
        let complex = ComplexShortTimeFourierTransform(nFFT: 2048, hopLength: 512).forward(signal)
        let power = [Float](unsafeUninitializedCapacity: complex.bins * complex.frames) { buffer, count in
            signal.withUnsafeBufferPointer { ShortTimeFourierTransform(nFFT: 2048, hopLength: 512).power(of: $0, into: buffer) }
            count = complex.bins * complex.frames
        }
        let fromComplex = complex.magnitude.map { $0 * $0 }
        #expect(relativeError(fromComplex, power) < 1e-5)
    }

    @Test func aMaskOfOneHalfHalvesTheSignal() {
        let signal = noise(8_000, seed: 5)
        let transform = ComplexShortTimeFourierTransform(nFFT: 1024, hopLength: 256)
        let spectrogram = transform.forward(signal)
        let half = transform.inverse(spectrogram.masked(by: [Float](repeating: 0.5, count: spectrogram.real.count)), length: signal.count)
        #expect(relativeError(half, signal.map { $0 / 2 }) < 1e-6)
    }
}
