import Foundation
import Testing
import TimbreCore
@testable import TimbreSeparation

@Suite struct MixtureSamplerTests {
    let songs = syntheticSongs(count: 3, seconds: 2)
    let settings = SeparatorArchitecture.chandna.defaultSettings(stems: SeparationStem.allCases)

    @Test func examplesAreReproducibleAndTheMixIsTheTargetsSum() {
        let sampler = MixtureSampler(songs: songs, settings: settings)
        let frames = SpectralFrames(fftSize: settings.fftSize, hopLength: settings.hopLength)
        let a = sampler.example(seed: 4, index: 7, frames: frames), b = sampler.example(seed: 4, index: 7, frames: frames)
        let c = sampler.example(seed: 4, index: 8, frames: frames)
        #expect(a.mixture == b.mixture && a.targets == b.targets)
        #expect(a.mixture != c.mixture)
        #expect(a.mixture.count == settings.frames * settings.bins && a.targets.count == 4)
        // The mixture's spectrum is the sum of the targets' (every source belongs to a
        // target), so its magnitude is at most the sum of theirs, bin by bin.
        for example in (0..<20).map({ sampler.example(seed: 1, index: $0, frames: frames) }) {
            for i in stride(from: 0, to: example.mixture.count, by: 37) {
                #expect(example.mixture[i] <= example.targets.reduce(0) { $0 + $1[i] } * 1.0001 + 1e-7)
            }
        }
    }

    @Test func powersetAndGainsChangeWhoPlays() {
        var policy = MixtureSampler.Policy()
        policy.powersetChance = 1
        policy.crossSongChance = 0
        let sampler = MixtureSampler(songs: songs, settings: settings, policy: policy)
        var sizes = Set<Int>()
        for index in 0..<200 {
            let draws = sampler.draws(seed: 2, index: index)
            sizes.insert(draws.count)
            #expect(Set(draws.map(\.song)).count == 1, "without cross-song mixing one song plays")
            #expect(draws.allSatisfy { (0.25...1.25).contains(Double($0.gain)) })
        }
        // Four sources per song: subsets of 2, 3 and 4.
        #expect(sizes == [2, 3, 4])
        // Per-stem datasets always hold their stem.
        for index in 0..<50 {
            #expect(sampler.draws(seed: 3, index: index, only: .bass).contains { songs[$0.song].sources[$0.source].stem == .bass })
        }
    }

    @Test func randomEqualiserHasTheGainsItsParametersGive() {
        let equaliser = RandomEqualiser(tilt: 2, bell: 6, centre: 1000, width: 1, limit: 12)
        #expect(abs(equaliser.decibels(at: 1000) - 6) < 1e-12)
        #expect(abs(equaliser.decibels(at: 2000) - (2 + 6 * exp(-0.5))) < 1e-12)
        #expect(abs(equaliser.decibels(at: 250) - (-4 + 6 * exp(-2))) < 1e-12)
        // Ten octaves up the tilt alone would give +20 dB; it stops at the limit.
        #expect(abs(equaliser.decibels(at: 1_024_000) - 12) < 1e-6)
        // Bin 93 of a 1024-point STFT at 22,050 Hz is 2002.6 Hz; the DC bin takes bin 1's gain.
        let gains = equaliser.gains(bins: 513, sampleRate: 22_050, fftSize: 1024)
        #expect(abs(Double(gains[93]) - pow(10, equaliser.decibels(at: 93 * 22_050 / 1024) / 20)) < 1e-5)
        #expect(gains[0] == gains[1])
        #expect(RandomEqualiser.flat.gains(bins: 513, sampleRate: 22_050, fftSize: 1024).allSatisfy { $0 == 1 })
    }

    @Test func equalisationChangesOnlyTheSourcesSpectra() {
        var policy = MixtureSampler.Policy()
        policy.equalisation = 12
        let equalised = MixtureSampler(songs: songs, settings: settings, policy: policy)
        let plain = MixtureSampler(songs: songs, settings: settings)
        let frames = SpectralFrames(fftSize: settings.fftSize, hopLength: settings.hopLength)
        for index in 0..<20 {
            let draws = equalised.draws(seed: 5, index: index), plainDraws = plain.draws(seed: 5, index: index)
            // The same sources, chunks and gains; only the equalisers differ.
            #expect(draws.map { [$0.song, $0.source, $0.offset] } == plainDraws.map { [$0.song, $0.source, $0.offset] })
            #expect(draws.map(\.gain) == plainDraws.map(\.gain))
            #expect(plainDraws.allSatisfy { $0.equaliser == .flat } && draws.allSatisfy { $0.equaliser != .flat })
            for draw in draws {
                let db = (1...512).map { draw.equaliser.decibels(at: Double($0) * 22_050 / 1024) }
                #expect(db.allSatisfy { abs($0) <= 24 })
            }
            // Still every source belongs to a target: the mixture is the targets' sum.
            let example = equalised.example(seed: 5, index: index, frames: frames)
            let changed = example.mixture != plain.example(seed: 5, index: index, frames: frames).mixture
            #expect(changed, "example \(index) is as without the augmentation")
            for i in stride(from: 0, to: example.mixture.count, by: 37) {
                #expect(example.mixture[i] <= example.targets.reduce(0) { $0 + $1[i] } * 1.0001 + 1e-7)
            }
        }
    }

    @Test func repitchingResamplesEachSourceWithinItsRange() {
        // A ramp read every 1.5 samples from sample 2 is the ramp of those positions.
        let ramp = (0..<100).map(Float.init)
        var output: [Float] = []
        ramp.withUnsafeBufferPointer { MixtureSampler.resample($0, from: 2, rate: 1.5, count: 10, into: &output) }
        #expect(output == (0..<10).map { 2 + 1.5 * Float($0) })

        var policy = MixtureSampler.Policy()
        policy.repitch = 2
        let repitched = MixtureSampler(songs: songs, settings: settings, policy: policy)
        let plain = MixtureSampler(songs: songs, settings: settings)
        let frames = SpectralFrames(fftSize: settings.fftSize, hopLength: settings.hopLength)
        var rates: [Double] = []
        for index in 0..<20 {
            let draws = repitched.draws(seed: 6, index: index), plainDraws = plain.draws(seed: 6, index: index)
            #expect(draws.map { [$0.song, $0.source, $0.offset] } == plainDraws.map { [$0.song, $0.source, $0.offset] })
            #expect(plainDraws.allSatisfy { $0.rate == 1 })
            rates += draws.map(\.rate)
            let example = repitched.example(seed: 6, index: index, frames: frames)
            let changed = example.mixture != plain.example(seed: 6, index: index, frames: frames).mixture
            #expect(changed, "example \(index) is as without the augmentation")
            for i in stride(from: 0, to: example.mixture.count, by: 37) {
                #expect(example.mixture[i] <= example.targets.reduce(0) { $0 + $1[i] } * 1.0001 + 1e-7)
            }
        }
        // Two semitones either way, both ways drawn.
        #expect(rates.allSatisfy { abs(log2($0) * 12) <= 2 + 1e-9 })
        #expect(rates.contains { $0 < 0.95 } && rates.contains { $0 > 1.05 })
    }
}
