import Foundation
import Testing
@testable import TimbreSeparation

/// The gain that brings a recording to its separator's training level.
@Suite struct InputLevelTests {
    let floor = Double(SpectralFrames.floor)

    func level(_ magnitudes: [Float]) -> InputLevel {
        var level = InputLevel()
        magnitudes.withUnsafeBufferPointer { level.add($0) }
        return level
    }

    /// One magnitude m everywhere: log(ε + g·m) = target gives g = (e^target − ε) / m.
    @Test func aSteadyMagnitudeGetsTheGainThatSolvesTheLogarithm() {
        let m: Float = 0.002, target = -3.0
        let gain = level([Float](repeating: m, count: 1000)).gain(matching: target, floor: floor)
        let expected = (exp(target) - floor) / Double(m)
        #expect(abs(gain / expected - 1) < 0.01, "gain \(gain), expected \(expected)")
    }

    /// Ten times louder needs a tenth of the gain: the network then hears both alike. Zeros
    /// (digital silence) stay at the floor whatever the gain.
    @Test func aLouderRecordingGetsAProportionallySmallerGain() {
        var magnitudes = (0..<4000).map { Float(1e-4 * exp(Double($0 % 97) / 12)) }
        magnitudes += [Float](repeating: 0, count: 500)
        let quiet = level(magnitudes).gain(matching: -4, floor: floor)
        let loud = level(magnitudes.map { $0 * 10 }).gain(matching: -4, floor: floor)
        #expect(abs(quiet / loud / 10 - 1) < 0.01, "gains \(quiet) and \(loud)")
        #expect(abs(level(magnitudes).meanLog(gain: quiet, floor: floor) + 4) < 1e-6)
    }

    @Test func silenceKeepsItsLevelAndTheGainIsBounded() {
        #expect(level([Float](repeating: 0, count: 100)).gain(matching: -3, floor: floor) == 1)
        #expect(InputLevel().gain(matching: -3, floor: floor) == 1)
        // A whisper cannot be lifted by more than the limit, nor a roar cut.
        let whisper = level([Float](repeating: 1e-9, count: 100)).gain(matching: -3, floor: floor, limitDecibels: 40)
        #expect(abs(whisper - 100) < 1e-6)
        let roar = level([Float](repeating: 1e3, count: 100)).gain(matching: -3, floor: floor, limitDecibels: 40)
        #expect(abs(roar - 0.01) < 1e-8)
    }
}
