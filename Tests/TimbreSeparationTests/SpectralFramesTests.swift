import Foundation
import Testing
import TimbreCore
@testable import TimbreSeparation

@Suite struct SpectralFramesTests {
    /// Frame k's spectrum from the definition: Σₙ x[k·hop − N/2 + n] · w[n] · e^(−2πi·bn/N),
    /// with zeros outside the signal.
    static func reference(_ signal: [Float], frame: Int, analyser: SpectralFrames) -> [(Double, Double)] {
        let n = analyser.fftSize, start = frame * analyser.hopLength - n / 2
        return (0..<analyser.bins).map { bin in
            var re = 0.0, im = 0.0
            for i in 0..<n where start + i >= 0 && start + i < signal.count {
                let value = Double(signal[start + i]) * analyser.window[i], angle = -2 * Double.pi * Double(bin * i) / Double(n)
                re += value * cos(angle)
                im += value * sin(angle)
            }
            return (re, im)
        }
    }

    /// The frames that hang over either end of the signal (and one past it) read zeros there,
    /// whether the whole signal is given or only the samples those frames need.
    @Test func framesAreTheZeroPaddedDefinitionAtBothEnds() {
        var rng = SeededGenerator(seed: 5)
        let signal = (0..<1000).map { _ in Float(rng.uniform(-1, 1)) }
        let analyser = SpectralFrames(fftSize: 64, hopLength: 16)
        let frames = [0, 1, 2, 30, 61, 62, 63, 64, 65, 70]
        var real: [Float] = [], imaginary: [Float] = []
        for frame in frames {
            let expected = Self.reference(signal, frame: frame, analyser: analyser)
            signal.withUnsafeBufferPointer { whole in
                analyser.analyse(whole, origin: 0, length: signal.count, frames: frame..<(frame + 1), real: &real, imaginary: &imaginary)
            }
            #expect(real.count == analyser.bins && imaginary.count == analyser.bins)
            for bin in 0..<analyser.bins {
                #expect(abs(Double(real[bin]) - expected[bin].0) < 1e-4 && abs(Double(imaginary[bin]) - expected[bin].1) < 1e-4, "frame \(frame) bin \(bin)")
            }
            // Only the samples the frame needs, given from where it starts inside the signal.
            let first = min(signal.count, max(0, frame * 16 - 32)), end = max(first, min(signal.count, frame * 16 + 32))
            let whole = (real, imaginary)
            Array(signal[first..<end]).withUnsafeBufferPointer { part in
                analyser.analyse(part, origin: first, length: signal.count, frames: frame..<(frame + 1), real: &real, imaginary: &imaginary)
            }
            #expect(real == whole.0 && imaginary == whole.1, "frame \(frame) from its own samples")
        }
        // Several frames at once are the frames one by one, time-major.
        signal.withUnsafeBufferPointer { whole in
            analyser.analyse(whole, origin: 0, length: signal.count, frames: 60..<64, real: &real, imaginary: &imaginary)
        }
        let expected = Self.reference(signal, frame: 62, analyser: analyser)
        #expect(real.count == 4 * analyser.bins)
        #expect(abs(Double(real[2 * analyser.bins + 3]) - expected[3].0) < 1e-4 && abs(Double(imaginary[2 * analyser.bins + 3]) - expected[3].1) < 1e-4)
    }
}
