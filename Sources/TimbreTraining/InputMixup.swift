import TimbreCore
import TimbreNN

/// Mixup (Zhang et al., 2018) on the network's inputs: an item becomes a convex blend of
/// its own log-mel and another item's, λ·x + (1 − λ)·x′, and its targets the same blend of
/// both items' targets, so the network learns soft evidence between classes rather than
/// one source's exact spectra. Unlike the mixtures of `MixPlanner`, which add clips in the
/// power domain as independent sources sound together, this blends in the log domain,
/// which no recording does; it is a regulariser, not a model of mixing.
public struct InputMixup: Codable, Equatable, Sendable {
    /// Chance that an item is blended.
    public var probability: Double
    /// λ is drawn from Beta(α, α) and folded to at least 0.5, so an item stays mostly itself.
    public var alpha = 0.4

    public init(probability: Double, alpha: Double = 0.4) {
        self.probability = probability
        self.alpha = alpha
    }

    /// Blends items of a [n, …] batch and their [n, classes] targets in place. Each item
    /// draws from its own stream of `seed` and `step` (at its slot `firstSlot + i` of the
    /// whole batch) whether to blend, λ, and its partner among the other items; partners
    /// are read as they were before any blending. A batch of one item is left alone.
    public func apply(input: inout Tensor, targets: inout Tensor, seed: UInt64, step: UInt64, firstSlot: Int) {
        let n = input.batch
        guard n > 1 else { return }
        let size = input.count / n, classes = targets.count / n
        let original = input.data, originalTargets = targets.data
        for item in 0..<n {
            var rng = SeededGenerator(seed: seed ^ 0x4D1C_5EED, stream: step << 16 | UInt64(firstSlot + item))
            guard rng.chance(probability) else { continue }
            let draw = rng.beta(alpha, alpha), share = max(draw, 1 - draw)
            var partner = rng.integer(0...(n - 2))
            if partner >= item { partner += 1 }
            let own = Float(share), other = Float(1 - share)
            for i in 0..<size { input.data[item * size + i] = own * original[item * size + i] + other * original[partner * size + i] }
            for c in 0..<classes {
                targets.data[item * classes + c] = own * originalTargets[item * classes + c] + other * originalTargets[partner * classes + c]
            }
        }
    }
}
