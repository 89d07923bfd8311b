import Foundation
import TimbreCore

/// One training or validation example: a clip alone, or several clips heard together.
public struct Example: Equatable, Sendable {
    public struct Component: Equatable, Sendable {
        public var clip: Int
        /// Gain applied to the clip before mixing, dB.
        public var gainDB: Float
        /// Another source's clip whose per-band statistics this one takes in part
        /// (`SourceStyleMixing`), or nil.
        public var style: StyleDonor? = nil
    }
    public var components: [Component]

    public static func solo(_ clip: Int) -> Example { Example(components: [Component(clip: clip, gainDB: 0)]) }
    public var isMix: Bool { components.count > 1 }
}

/// How often and how densely training examples are mixtures of solo clips.
public struct MixRecipe: Codable, Equatable, Sendable {
    /// Share of examples that are mixtures (0: solo clips only, the design's recipe).
    public var fraction = 0.0
    /// Most clips in one mixture (at least 2).
    public var maxComponents = 4
    /// The components' levels are drawn uniformly within this many dB of each other.
    public var levelSpreadDB = 12.0

    public init() {}

    /// The same recipe, mixing every example.
    var always: MixRecipe {
        var recipe = self
        recipe.fraction = 1
        return recipe
    }
}

/// Draws mixtures of clips of different classes, the polyphonic examples a band
/// recording gives, from a pool of single-label clips.
///
/// A mixture is made in the power domain of the clips' log-mel spectrograms (see
/// `PowerMelMixer`), so any clip of any source can be heard over any other without
/// rendering audio. Each component's level is set from the RMS the feature file records:
/// levels are drawn within `levelSpreadDB` of each other, so every component is a
/// clearly audible player and is labelled present.
public struct MixPlanner: Sendable {
    public let recipe: MixRecipe
    /// Single-label clips of the pool, by class.
    public let clipsByClass: [[Int]]
    /// RMS level of every clip of the collection, dBFS.
    public let rmsDB: [Float]

    public init(recipe: MixRecipe, pool: [(index: Int, label: Int)], classCount: Int, rmsDB: [Float]) {
        var byClass = [[Int]](repeating: [], count: classCount)
        for clip in pool { byClass[clip.label].append(clip.index) }
        self.init(recipe: recipe, clipsByClass: byClass, rmsDB: rmsDB)
    }

    private init(recipe: MixRecipe, clipsByClass: [[Int]], rmsDB: [Float]) {
        self.recipe = recipe
        self.clipsByClass = clipsByClass
        self.rmsDB = rmsDB
    }

    /// The example built around `clip` (of class `label`): alone, or with 1 to
    /// `maxComponents − 1` clips of other classes, as `rng` decides.
    public func example(around clip: Int, label: Int, rng: inout SeededGenerator) -> Example {
        let others = clipsByClass.indices.filter { $0 != label && !clipsByClass[$0].isEmpty }
        guard recipe.fraction > 0, !others.isEmpty, rng.chance(recipe.fraction) else { return .solo(clip) }
        let extra = rng.integer(1...max(1, min(others.count, recipe.maxComponents - 1)))
        var classes = others
        classes.shuffle(using: &rng)
        let members = [clip] + classes.prefix(extra).map { rng.pick(clipsByClass[$0]) }
        let components = members.map { member in
            let level = Float(rng.uniform(-recipe.levelSpreadDB, 0))
            return Example.Component(clip: member, gainDB: level - rmsDB[member])
        }
        return Example(components: components)
    }

    /// `count` mixtures drawn once from the pool with a fixed seed: the same validation
    /// mixtures every epoch, so validation losses stay comparable. None when fewer than two
    /// classes have clips: a pool of one instrument has no mixtures, and copies of its solo
    /// clips would count twice in the validation's top-1.
    public func fixedMixtures(count: Int, seed: UInt64) -> [Example] {
        guard clipsByClass.filter({ !$0.isEmpty }).count >= 2 else { return [] }
        let pool = clipsByClass.enumerated().flatMap { label, clips in clips.map { (clip: $0, label: label) } }
        let always = MixPlanner(recipe: recipe.always, clipsByClass: clipsByClass, rmsDB: rmsDB)
        var rng = SeededGenerator(seed: seed, stream: 0x4D49_58)
        return (0..<count).map { _ in
            let drawn = rng.pick(pool)
            return always.example(around: drawn.clip, label: drawn.label, rng: &rng)
        }
    }
}

/// Sums log-mel spectrograms as the sounds they describe would add.
///
/// Independent sources add in power: E|X + Y|² = |X|² + |Y|², and a mel band sums many
/// such bins, so the mel power of a mixture is close to the sum of its components'. Each
/// component (dB) is shifted by its gain, converted to power, summed, converted back,
/// and floored `topDB` below the result's peak as `power_to_db` does.
public enum PowerMelMixer {
    /// - Parameters:
    ///   - components: log-mel values in dB, all of the same size.
    ///   - gainsDB: gain of each component.
    ///   - out: where the mixture goes (the components' size).
    public static func mix(_ components: [UnsafeBufferPointer<Float>], gainsDB: [Float], topDB: Float, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(components.count == gainsDB.count && !components.isEmpty)
        let ln10over10: Float = logf(10) / 10
        for i in 0..<out.count { out[i] = 0 }
        for (values, gain) in zip(components, gainsDB) {
            precondition(values.count == out.count, "components of one size")
            for i in 0..<out.count { out[i] += expf((values[i] + gain) * ln10over10) }
        }
        var peak = -Float.infinity
        for i in 0..<out.count {
            out[i] = 10 * log10f(max(out[i], 1e-30))
            peak = max(peak, out[i])
        }
        let floor = peak - topDB
        for i in 0..<out.count where out[i] < floor { out[i] = floor }
    }
}

/// SpecAugment's masks (Park et al., 2019) for log-mel clips: a few bands of mel
/// channels and a few spans of frames are replaced by the clip's mean, so the network
/// cannot lean on any one region of the spectrogram.
public struct SpectrogramMasking: Codable, Equatable, Sendable {
    public var frequencyMasks = 2
    /// Widest frequency mask, in mel bands.
    public var maxBands = 12
    public var timeMasks = 2
    /// Longest time mask, in frames.
    public var maxFrames = 13

    public init() {}

    /// Masks a [bands × frames] clip in place.
    public func apply(to clip: UnsafeMutableBufferPointer<Float>, bands: Int, frames: Int, rng: inout SeededGenerator) {
        precondition(clip.count == bands * frames)
        var sum = 0.0
        for value in clip { sum += Double(value) }
        let mean = Float(sum / Double(max(1, clip.count)))
        for _ in 0..<frequencyMasks {
            let width = rng.integer(0...min(maxBands, bands))
            let first = rng.integer(0...(bands - width))
            for band in first..<(first + width) {
                for frame in 0..<frames { clip[band * frames + frame] = mean }
            }
        }
        for _ in 0..<timeMasks {
            let width = rng.integer(0...min(maxFrames, frames))
            let first = rng.integer(0...(frames - width))
            for band in 0..<bands {
                for frame in first..<(first + width) { clip[band * frames + frame] = mean }
            }
        }
    }
}

/// Random equalisation of log-mel clips: a smooth gain curve over the mel bands (a tilt
/// plus a few broad bumps, up to ±`maxDB`), different for every training example. Sample
/// libraries differ most in their static colouring (microphones, rooms, processing);
/// changing it at random keeps the network from telling sources apart by it.
public struct RandomEqualisation: Codable, Equatable, Sendable {
    /// Largest gain of the curve at any band, dB.
    public var maxDB = 6.0
    /// Broad bumps added to the tilt (raised cosines over the band axis).
    public var bumps = 2

    public init(maxDB: Double = 6) { self.maxDB = maxDB }

    /// The gain (dB) of each of `bands` bands for one draw.
    public func curve(bands: Int, rng: inout SeededGenerator) -> [Float] {
        var curve = [Double](repeating: 0, count: bands)
        let tilt = rng.uniform(-1, 1)
        for band in 0..<bands { curve[band] = tilt * (Double(band) / Double(max(1, bands - 1)) * 2 - 1) }
        for _ in 0..<bumps {
            let centre = rng.uniform(0, Double(bands)), width = rng.uniform(Double(bands) / 16, Double(bands) / 3), height = rng.uniform(-1, 1)
            for band in 0..<bands where abs(Double(band) - centre) < width {
                curve[band] += height * 0.5 * (1 + cos(Double.pi * (Double(band) - centre) / width))
            }
        }
        let peak = max(1, curve.map(abs).max() ?? 1)
        let scale = rng.uniform(0, maxDB) / peak
        return curve.map { Float($0 * scale) }
    }

    /// Adds one draw's curve to a [bands × frames] clip in place.
    public func apply(to clip: UnsafeMutableBufferPointer<Float>, bands: Int, frames: Int, rng: inout SeededGenerator) {
        precondition(clip.count == bands * frames)
        let gains = curve(bands: bands, rng: &rng)
        for band in 0..<bands {
            for frame in 0..<frames { clip[band * frames + frame] += gains[band] }
        }
    }
}

/// Random shifts of log-mel clips along the mel axis by up to `maxBands` bands, the edge
/// band repeated into the space left behind. A shift of a few mel bands is close to a
/// transposition; libraries map an instrument's register differently and sample it at
/// different notes, and shifting keeps the network from learning one library's notes.
public struct RandomBandShift: Codable, Equatable, Sendable {
    public var maxBands = 4

    public init(maxBands: Int = 4) { self.maxBands = maxBands }

    /// Shifts a [bands × frames] clip in place by one draw from −maxBands...maxBands
    /// (positive moves content to higher bands).
    public func apply(to clip: UnsafeMutableBufferPointer<Float>, bands: Int, frames: Int, rng: inout SeededGenerator) {
        precondition(clip.count == bands * frames)
        let shift = rng.integer(-maxBands...maxBands)
        guard shift != 0, bands > 1 else { return }
        let source = Array(clip)
        for band in 0..<bands {
            let from = min(bands - 1, max(0, band - shift))
            for frame in 0..<frames { clip[band * frames + frame] = source[from * frames + frame] }
        }
    }
}
