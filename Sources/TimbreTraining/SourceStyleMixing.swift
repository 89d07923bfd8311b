import Foundation
import TimbreCore

/// Frequency-wise style mixing across sound sources: MixStyle (Zhou et al., 2021) taken
/// per frequency band, as Schmid et al. (2022) did against unseen recording devices.
///
/// A clip's static colouring and its modulation depth per band are the mean and the
/// spread over time of each mel band. With probability `probability` a training clip takes
/// a blend of its own and a donor's per-band statistics: the donor is a clip of the same
/// instrument from another sound source (another feature file), and the blend weight λ is
/// drawn from Beta(`alpha`, `alpha`), mostly near 0 or 1. The clip keeps its notes and
/// its envelope in time while wearing part of another library's microphone, room and
/// processing; unlike removing each band's mean, which cost accuracy on held-out sources,
/// the colouring stays a plausible one for the instrument.
public struct SourceStyleMixing: Codable, Equatable, Sendable {
    /// Chance that a clip (each component of a mixture on its own) is restyled.
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
    /// Single-label clips of the training pool, by class.
    let clipsByClass: [[Int]]
    /// The class of every clip of the collection (−1 when not single-label).
    let labels: [Int32]
    /// The file (sound source) of every clip of the collection.
    let fileIndex: [Int]
    /// Tries at finding a clip of another source before the component is left alone.
    static let tries = 8

    public init(recipe: SourceStyleMixing, pool: [(index: Int, label: Int)], classCount: Int, labels: [Int32], fileIndex: [Int]) {
        var byClass = [[Int]](repeating: [], count: classCount)
        for clip in pool { byClass[clip.label].append(clip.index) }
        self.recipe = recipe
        clipsByClass = byClass
        self.labels = labels
        self.fileIndex = fileIndex
    }

    /// Gives each component of `example` a donor with the recipe's probability, drawing
    /// from `rng`; a class that only one source plays gets none.
    public func assignDonors(to example: inout Example, rng: inout SeededGenerator) {
        for k in example.components.indices {
            let clip = example.components[k].clip
            guard rng.chance(recipe.probability) else { continue }
            let share = Float(rng.beta(recipe.alpha, recipe.alpha))
            let label = Int(labels[clip])
            guard label >= 0, !clipsByClass[label].isEmpty else { continue }
            for _ in 0..<Self.tries {
                let candidate = rng.pick(clipsByClass[label])
                if fileIndex[candidate] != fileIndex[clip] {
                    example.components[k].style = StyleDonor(clip: candidate, ownShare: share)
                    break
                }
            }
        }
    }
}

/// Blends per-band statistics of log-mel clips.
public enum BandStatistics {
    /// Replaces, in a [bands × frames] clip, each band's mean and standard deviation over
    /// time by `ownShare` of its own plus (1 − `ownShare`) of `donor`'s same band:
    /// x' = (x − μ) / σ · σ_mix + μ_mix. A band that does not vary (σ = 0) takes the
    /// blended mean.
    public static func blend(_ clip: UnsafeMutableBufferPointer<Float>, donor: UnsafeBufferPointer<Float>, ownShare: Float,
                             bands: Int, frames: Int) {
        precondition(clip.count == bands * frames && donor.count == bands * frames)
        let own = Double(ownShare), other = 1 - Double(ownShare)
        for band in 0..<bands {
            let row = band * frames
            let (mean, deviation) = meanAndDeviation(UnsafeBufferPointer(rebasing: clip[row..<row + frames]))
            let (donorMean, donorDeviation) = meanAndDeviation(UnsafeBufferPointer(rebasing: donor[row..<row + frames]))
            let targetMean = own * mean + other * donorMean
            let targetDeviation = own * deviation + other * donorDeviation
            let scale = deviation > 0 ? targetDeviation / deviation : 0
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
