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
}
