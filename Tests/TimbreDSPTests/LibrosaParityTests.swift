import Foundation
import Testing
@testable import TimbreDSP

/// Timbre's log-mel front end against values librosa 0.11 computed for the same signals.
@Suite struct LibrosaParityTests {
    let reference = LibrosaReference.shared
    let settings = FeatureSettings()

    @Test func fixtureCameFromLibrosa011() {
        #expect(reference.librosa_version.hasPrefix("0.11"))
    }

    @Test func melFrequenciesMatch() {
        let ours = MelScale.frequencies(count: 130, fmin: 0, fmax: 11_025)
        #expect(ours.count == reference.filterbank.mel_frequencies.count)
        for (a, b) in zip(ours, reference.filterbank.mel_frequencies) {
            #expect(isClose(a, b, rtol: 1e-12, atol: 1e-9), "\(a) vs \(b)")
        }
    }

    @Test func filterbankShapeSumsAndEdgesMatch() {
        let bank = MelFilterbank(sampleRate: 22_050, nFFT: 2048, nMels: 128)
        #expect([bank.count, bank.fftBins] == reference.filterbank.shape)
        #expect(bank.bands.map(\.firstBin) == reference.filterbank.first_bin)
        #expect(bank.bands.map { $0.firstBin + $0.weights.count - 1 } == reference.filterbank.last_bin)
        for (band, expected) in zip(bank.bands, reference.filterbank.row_sums) {
            let sum = band.weights.reduce(0.0) { $0 + Double($1) }
            #expect(isClose(sum, expected, rtol: 1e-6))
        }
    }

    @Test func filterbankWeightsAreBitEqual() {
        let bank = MelFilterbank(sampleRate: 22_050, nFFT: 2048, nMels: 128)
        for (row, expected) in reference.filterbank.rows {
            let band = bank.bands[Int(row)!]
            #expect(band.firstBin == expected.first_bin)
            #expect(band.weights.map(Double.init) == expected.weights, "band \(row)")
        }
    }

    @Test func threeSecondsGive130Frames() {
        let extractor = LogMelExtractor(settings: settings)
        #expect(settings.framesPerClip == 130)
        #expect(extractor.frameCount(for: settings.clipSamples) == 130)
        for values in reference.signals.values { #expect(values.frames == 130) }
    }

    @Test(arguments: ["impulse", "sine440", "chirp"])
    func melPowerMatchesWithin1e4(signal: String) {
        let expected = reference.signals[signal]!
        let extractor = LogMelExtractor(settings: settings)
        let power = extractor.melPower(TestSignals.named(signal))
        let frames = extractor.frameCount(for: TestSignals.count)
        #expect(frames == expected.frames)
        let peak = power.max().map(Double.init) ?? 0
        for frame in reference.frames_kept {
            for (band, value) in expected.power[String(frame)]!.enumerated() {
                let ours = Double(power[band * frames + frame])
                // Relative 1e-4, with an absolute floor far below the 80 dB the features keep.
                #expect(isClose(ours, value, rtol: 1e-4, atol: peak * 1e-12), "\(signal) band \(band) frame \(frame): \(ours) vs \(value)")
            }
        }
        let sum = power.reduce(0.0) { $0 + Double($1) }
        #expect(isClose(sum, expected.power_sum, rtol: 1e-5))
    }

    @Test(arguments: ["impulse", "sine440", "chirp"])
    func logMelMatchesWithinAThousandthOfADecibel(signal: String) {
        let expected = reference.signals[signal]!
        let extractor = LogMelExtractor(settings: settings)
        let db = extractor.logMel(TestSignals.named(signal))
        let frames = expected.frames
        for frame in reference.frames_kept {
            for (band, value) in expected.db[String(frame)]!.enumerated() {
                let ours = Double(db[band * frames + frame])
                #expect(abs(ours - value) <= 1e-3, "\(signal) band \(band) frame \(frame): \(ours) vs \(value)")
            }
        }
        #expect(abs(Double(db.max()!) - expected.db_max) <= 1e-3)
        #expect(abs(Double(db.min()!) - expected.db_min) <= 1e-3)
        let mean = db.reduce(0.0) { $0 + Double($1) } / Double(db.count)
        #expect(abs(mean - expected.db_mean) <= 1e-3)
    }
}
