import Foundation
import TimbreCore

/// Subsets of an ensemble's sources, as bit masks: the powerset augmentation mixes every
/// subset of 2 to 5 instruments of one multitrack, so a few songs give many mixtures.
public enum Powerset {
    /// Every subset of `count` items whose size lies in `sizes`, smallest first.
    public static func subsets(of count: Int, sizes: ClosedRange<Int>) -> [[Int]] {
        precondition(count >= 0 && count < 31, "at most 30 items")
        var result: [[Int]] = []
        for mask in 1..<(1 << count) where sizes.contains(mask.nonzeroBitCount) {
            result.append((0..<count).filter { mask & (1 << $0) != 0 })
        }
        return result.sorted { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) }
    }

    /// One subset: a size drawn uniformly from those possible, then a subset of that size,
    /// so small and large ensembles are equally common whatever their number.
    public static func draw(from count: Int, sizes: ClosedRange<Int>, using generator: inout SeededGenerator) -> [Int] {
        let possible = sizes.clamped(to: 1...max(1, count))
        let size = generator.integer(possible)
        var chosen = Array(0..<count)
        for i in 0..<size {
            let j = i + Int(generator.next() % UInt64(count - i))
            chosen.swapAt(i, j)
        }
        return chosen[0..<size].sorted()
    }
}

/// One training example: the mixture's and each target's scaled STFT magnitudes over a
/// chunk of frames, time-major (`frame * bins + bin`, the settings' bins; targets stem by stem).
public struct SeparationExample: Sendable {
    public var mixture: [Float]
    public var targets: [[Float]]
}

/// Forms training mixtures on the fly from multitracks, never storing them: a random
/// chunk, a random gain of 0.25–1.25 per source, a random subset of a song's sources
/// (the powerset), and sometimes each target from a different song. The same seed and
/// index always give the same example.
public final class MixtureSampler: @unchecked Sendable {
    public struct Policy: Codable, Equatable, Sendable {
        public var gains: ClosedRange<Double> = 0.25...1.25
        /// Chance that each target comes from another song, at its own offset.
        public var crossSongChance = 0.3
        /// Chance that a random subset of the song's sources plays rather than all of them.
        public var powersetChance = 0.5
        public var subsetSizes: ClosedRange<Int> = 2...5
        /// Largest boost or cut in dB of a random equaliser on each source (0: none), so
        /// that the network meets each instrument through more than one recording chain.
        public var equalisation = 0.0
        /// Largest change in semitones of each source's pitch and speed, by resampling its
        /// chunk (0: none): a differently sized instrument or a different player's tuning.
        public var repitch = 0.0
        public init() {}
    }

    public let songs: [Multitrack]
    public let settings: SeparatorSettings
    public let policy: Policy
    /// Songs holding a source of each stem, for cross-song mixing.
    private let songsWithStem: [SeparationStem: [Int]]
    private let chunkSamples: Int

    public init(songs: [Multitrack], settings: SeparatorSettings, policy: Policy = Policy()) {
        self.songs = songs
        self.settings = settings
        self.policy = policy
        chunkSamples = (settings.frames - 1) * settings.hopLength + settings.fftSize
        var byStem: [SeparationStem: [Int]] = [:]
        for (index, song) in songs.enumerated() where song.length >= chunkSamples {
            for stem in song.stems { byStem[stem, default: []].append(index) }
        }
        songsWithStem = byStem
    }

    /// Songs long enough to give a chunk.
    public var usableSongs: [Int] { songs.indices.filter { songs[$0].length >= chunkSamples } }

    /// The chosen sources of one example: (song, source index, offset, gain).
    struct Draw: Equatable {
        var song: Int, source: Int, offset: Int, gain: Float
        var equaliser = RandomEqualiser.flat
        /// Source samples per chunk sample; above 1 raises the pitch.
        var rate = 1.0
    }

    func draws(seed: UInt64, index: Int, only stem: SeparationStem? = nil) -> [Draw] {
        var generator = SeededGenerator(seed: seed, stream: UInt64(index))
        let usable = stem.map { songsWithStem[$0] ?? [] } ?? usableSongs
        guard !usable.isEmpty else { return [] }
        let songIndex = generator.pick(usable)
        let song = songs[songIndex]
        let offset = generator.integer(0...(song.length - chunkSamples))
        var chosen = Array(song.sources.indices)
        if song.sources.count >= 2, generator.chance(policy.powersetChance) {
            chosen = Powerset.draw(from: song.sources.count, sizes: policy.subsetSizes, using: &generator)
        }
        var draws = chosen.map { Draw(song: songIndex, source: $0, offset: offset, gain: 1) }
        if generator.chance(policy.crossSongChance) {
            // Replace each target's sources with the same target from another song.
            for target in settings.stems {
                guard let others = songsWithStem[target]?.filter({ $0 != songIndex }), !others.isEmpty, generator.chance(0.5) else { continue }
                let other = generator.pick(others)
                let otherOffset = generator.integer(0...(songs[other].length - chunkSamples))
                draws.removeAll { songs[$0.song].sources[$0.source].stem == target }
                draws += songs[other].sources.indices.filter { songs[other].sources[$0].stem == target }
                    .map { Draw(song: other, source: $0, offset: otherOffset, gain: 1) }
            }
        }
        if let stem, !draws.contains(where: { songs[$0.song].sources[$0.source].stem == stem }) {
            draws += song.sources.indices.filter { song.sources[$0].stem == stem }.map { Draw(song: songIndex, source: $0, offset: offset, gain: 1) }
        }
        for i in draws.indices { draws[i].gain = Float(generator.uniform(policy.gains.lowerBound, policy.gains.upperBound)) }
        if policy.equalisation > 0 {
            for i in draws.indices { draws[i].equaliser = RandomEqualiser(range: policy.equalisation, using: &generator) }
        }
        if policy.repitch > 0 {
            for i in draws.indices { draws[i].rate = pow(2, generator.uniform(-policy.repitch, policy.repitch) / 12) }
        }
        return draws
    }

    /// Example `index` of the stream `seed`. With `stem`, only songs that have that
    /// target are drawn (a per-source dataset, for interleaved training).
    /// sumReal += gain · real and sumImaginary += gain · imaginary over `count` values.
    private static func add(_ real: [Float], _ imaginary: [Float], times gain: Float, into sumReal: inout [Float], _ sumImaginary: inout [Float], count: Int) {
        real.withUnsafeBufferPointer { re in
            imaginary.withUnsafeBufferPointer { im in
                sumReal.withUnsafeMutableBufferPointer { sr in
                    sumImaginary.withUnsafeMutableBufferPointer { si in
                        for i in 0..<count {
                            sr[i] += re[i] * gain
                            si[i] += im[i] * gain
                        }
                    }
                }
            }
        }
    }

    /// `count` samples read from `start` every `rate` samples, linearly interpolated.
    static func resample(_ samples: UnsafeBufferPointer<Float>, from start: Int, rate: Double, count: Int, into output: inout [Float]) {
        output.removeAll(keepingCapacity: true)
        for i in 0..<count {
            let position = Double(start) + Double(i) * rate
            let index = Int(position), fraction = Float(position - Double(index))
            let next = min(index + 1, samples.count - 1)
            output.append(samples[index] + (samples[next] - samples[index]) * fraction)
        }
    }

    /// Multiplies every frame's bins (frame-major, `gains.count` per frame) by `gains`.
    private static func scale(_ real: inout [Float], _ imaginary: inout [Float], by gains: [Float]) {
        let bins = gains.count
        for start in stride(from: 0, to: real.count, by: bins) {
            for k in 0..<bins {
                real[start + k] *= gains[k]
                imaginary[start + k] *= gains[k]
            }
        }
    }

    public func example(seed: UInt64, index: Int, only stem: SeparationStem? = nil, frames analyser: SpectralFrames) -> SeparationExample {
        let bins = analyser.bins, frames = settings.frames, count = frames * bins
        var mixReal = [Float](repeating: 0, count: count), mixImaginary = mixReal
        var targetReal = [[Float]](repeating: mixReal, count: settings.stems.count), targetImaginary = targetReal
        var real: [Float] = [], imaginary: [Float] = []
        // Frame `lead + k` of the chunk starts at its sample k·hop: the chunk holds whole frames.
        let lead = settings.fftSize / 2 / settings.hopLength
        var resampled: [Float] = []
        for draw in draws(seed: seed, index: index, only: stem) {
            let source = songs[draw.song].sources[draw.source]
            source.samples.withUnsafeBufferPointer { samples in
                let span = Int((Double(chunkSamples - 1) * draw.rate).rounded(.up)) + 1
                if draw.rate == 1 || span > samples.count {
                    let chunk = UnsafeBufferPointer(rebasing: samples[draw.offset..<(draw.offset + chunkSamples)])
                    analyser.analyse(chunk, origin: 0, length: chunkSamples, frames: lead..<(lead + frames), real: &real, imaginary: &imaginary)
                } else {
                    Self.resample(samples, from: min(draw.offset, samples.count - span), rate: draw.rate, count: chunkSamples, into: &resampled)
                    resampled.withUnsafeBufferPointer { chunk in
                        analyser.analyse(chunk, origin: 0, length: chunkSamples, frames: lead..<(lead + frames), real: &real, imaginary: &imaginary)
                    }
                }
            }
            if draw.equaliser != .flat {
                Self.scale(&real, &imaginary, by: draw.equaliser.gains(bins: bins, sampleRate: settings.sampleRate, fftSize: settings.fftSize))
            }
            let gain = draw.gain
            Self.add(real, imaginary, times: gain, into: &mixReal, &mixImaginary, count: count)
            if let target = settings.stems.firstIndex(of: source.stem) {
                Self.add(real, imaginary, times: gain, into: &targetReal[target], &targetImaginary[target], count: count)
            }
        }
        // The network sees the lowest `settings.bins` bins.
        let kept = settings.bins
        func cropped(_ values: [Float]) -> [Float] {
            guard kept < bins else { return values }
            return (0..<frames).flatMap { values[($0 * bins)..<($0 * bins + kept)] }
        }
        return SeparationExample(mixture: cropped(analyser.magnitudes(real: mixReal, imaginary: mixImaginary)),
                                 targets: settings.stems.indices.map { cropped(analyser.magnitudes(real: targetReal[$0], imaginary: targetImaginary[$0])) })
    }
}
