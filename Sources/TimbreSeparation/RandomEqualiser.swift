import Foundation
import TimbreCore

/// A random smooth equaliser for training mixtures: a spectral tilt around 1 kHz and one
/// bell boost or cut, both within ±`range` dB. It stands in for the microphones, rooms and
/// tone controls that make one instrument sound different from recording to recording.
/// It is drawn in Hz and octaves for linear STFT bins; the classifier's
/// `RandomEqualisation` draws its curve over mel-band indices of log features instead.
struct RandomEqualiser: Equatable, Sendable {
    /// dB per octave away from 1 kHz; the tilt's total is clamped to ±`limit`.
    var tilt: Double
    /// Peak gain of the bell in dB, its centre in Hz and its width (standard deviation) in octaves.
    var bell: Double, centre: Double, width: Double
    var limit: Double

    static let flat = RandomEqualiser(tilt: 0, bell: 0, centre: 1000, width: 1, limit: 0)

    init(tilt: Double, bell: Double, centre: Double, width: Double, limit: Double) {
        (self.tilt, self.bell, self.centre, self.width, self.limit) = (tilt, bell, centre, width, limit)
    }

    init(range: Double, using generator: inout SeededGenerator) {
        tilt = generator.uniform(-range / 4, range / 4)
        bell = generator.uniform(-range, range)
        centre = 60 * pow(2, generator.uniform(0, log2(10_000.0 / 60)))
        width = generator.uniform(0.5, 1.5)
        limit = range
    }

    /// Gain in dB at `frequency` Hz (the DC bin takes the first bin's frequency).
    func decibels(at frequency: Double) -> Double {
        let octavesFrom1k = log2(frequency / 1000)
        let tilted = min(max(tilt * octavesFrom1k, -limit), limit)
        let fromCentre = log2(frequency / centre) / width
        return tilted + bell * exp(-0.5 * fromCentre * fromCentre)
    }

    /// Linear gains of the STFT bins 0..<bins.
    func gains(bins: Int, sampleRate: Int, fftSize: Int) -> [Float] {
        let binHz = Double(sampleRate) / Double(fftSize)
        return (0..<bins).map { Float(pow(10, decibels(at: Double(max($0, 1)) * binHz) / 20)) }
    }
}
