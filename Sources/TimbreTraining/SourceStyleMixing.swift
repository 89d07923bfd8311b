import Foundation
import TimbreCore

/// Frequency-wise style mixing across sound sources: MixStyle (Zhou et al., 2021) taken
/// per frequency band, as Schmid et al. (2022) did against unseen recording devices.
///
/// A clip's static colouring and its modulation depth per band are the mean and the
/// spread over time of each mel band. With probability `probability` a training clip takes
/// a blend of its own and a donor's per-band statistics: the donor is a clip of the same
/// instrument from another sound source (another feature file), and the blend weight λ is
/// drawn from Beta(`alpha`, `alpha`), mostly near 0 or 1. The clip keeps its notes, its
/// envelope in time and its overall level while wearing part of another library's
/// microphone, room and processing; unlike removing each band's mean, which cost accuracy
/// on held-out sources, the colouring stays a plausible one for the instrument. Classes
/// that only one source plays are never restyled.
public struct SourceStyleMixing: Codable, Equatable, Sendable {
    /// Chance that a clip (each component of a mixture on its own) is restyled, when
    /// another source plays its class.
    public var probability = 0.4
    /// Parameter of the symmetric Beta distribution of the clip's own share λ.
    public var alpha = 0.3

    public init(probability: Double = 0.4, alpha: Double = 0.3) {
        self.probability = probability
        self.alpha = alpha
    }
}

/// A donor of per-band statistics for one component of an example.
public struct StyleDonor: Equatable, Sendable {
    /// The clip whose statistics are blended in.
    public var clip: Int
    /// The restyled clip's own share λ of the blend (1 leaves it as it is).
    public var ownShare: Float
}

/// Chooses style donors: clips of the same class from another feature file.
public struct StyleDonorPicker: Sendable {
    public let recipe: SourceStyleMixing
    /// Single-label clips of the training pool, by class and then by file (in file order).
    let clipsByClassAndFile: [[(file: Int, clips: [Int])]]
    /// The class of every clip of the collection (−1 when not single-label).
    let labels: [Int32]
    /// The file (sound source) of every clip of the collection.
    let fileIndex: [Int]

    public init(recipe: SourceStyleMixing, pool: [(index: Int, label: Int)], classCount: Int, labels: [Int32], fileIndex: [Int]) {
        var byClass = [[Int: [Int]]](repeating: [:], count: classCount)
        for clip in pool { byClass[clip.label][fileIndex[clip.index], default: []].append(clip.index) }
        self.recipe = recipe
        clipsByClassAndFile = byClass.map { files in files.sorted { $0.key < $1.key }.map { (file: $0.key, clips: $0.value) } }
        self.labels = labels
        self.fileIndex = fileIndex
    }

    /// Whether any class of the pool is played by more than one file, so that some clip
    /// can be restyled at all.
    public var hasDonors: Bool { clipsByClassAndFile.contains { $0.count > 1 } }

    /// Gives each component of `example` a donor with the recipe's probability, drawing
    /// from `rng`: a clip of its class from one of the other files, chosen in proportion to
    /// their clips. A component whose class no other file plays is left alone.
    public func assignDonors(to example: inout Example, rng: inout SeededGenerator) {
        for k in example.components.indices {
            let clip = example.components[k].clip
            let label = Int(labels[clip])
            guard label >= 0 else { continue }
            let files = clipsByClassAndFile[label], own = fileIndex[clip]
            let candidates = files.reduce(0) { $0 + ($1.file == own ? 0 : $1.clips.count) }
            guard candidates > 0, rng.chance(recipe.probability) else { continue }
            let share = Float(rng.beta(recipe.alpha, recipe.alpha))
            var position = rng.integer(0...(candidates - 1))
            for entry in files where entry.file != own {
                if position < entry.clips.count {
                    example.components[k].style = StyleDonor(clip: entry.clips[position], ownShare: share)
                    break
                }
                position -= entry.clips.count
            }
        }
    }
}

/// Blends per-band statistics of log-mel clips.
public enum BandStatistics {
    /// Spreads below this many dB count as a band that does not vary: it takes the blended
    /// mean instead of having its near-constant values stretched to the donor's spread.
    static let flatBandDB = 0.1

    /// Replaces, in a [bands × frames] clip, each band's mean and standard deviation over
    /// time by `ownShare` of its own plus (1 − `ownShare`) of `donor`'s same band, the
    /// donor first moved to the clip's overall mean so that only the colouring changes,
    /// not the level: x' = (x − μ) / σ · σ_mix + μ_mix.
    public static func blend(_ clip: UnsafeMutableBufferPointer<Float>, donor: UnsafeBufferPointer<Float>, ownShare: Float,
                             bands: Int, frames: Int) {
        precondition(clip.count == bands * frames && donor.count == bands * frames)
        let own = Double(ownShare), other = 1 - Double(ownShare)
        let levelShift = meanAndDeviation(UnsafeBufferPointer(clip)).mean - meanAndDeviation(donor).mean
        for band in 0..<bands {
            let row = band * frames
            let (mean, deviation) = meanAndDeviation(UnsafeBufferPointer(rebasing: clip[row..<row + frames]))
            let (donorMean, donorDeviation) = meanAndDeviation(UnsafeBufferPointer(rebasing: donor[row..<row + frames]))
            let targetMean = own * mean + other * (donorMean + levelShift)
            let targetDeviation = own * deviation + other * donorDeviation
            let scale = deviation >= flatBandDB ? targetDeviation / deviation : 0
            for i in row..<row + frames { clip[i] = Float((Double(clip[i]) - mean) * scale + targetMean) }
        }
    }

    /// Mean and population standard deviation of `values`.
    static func meanAndDeviation(_ values: UnsafeBufferPointer<Float>) -> (mean: Double, deviation: Double) {
        var sum = 0.0
        for value in values { sum += Double(value) }
        let mean = sum / Double(max(1, values.count))
        var squares = 0.0
        for value in values { squares += (Double(value) - mean) * (Double(value) - mean) }
        return (mean, (squares / Double(max(1, values.count))).squareRoot())
    }
}
