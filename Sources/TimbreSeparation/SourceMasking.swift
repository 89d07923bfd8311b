import Foundation
import TimbreCore
import TimbreNN

/// Turns a network's non-negative outputs into soft masks and scores the masked mixture
/// against the targets.
///
/// Across stems (the default): mᵢ = (aᵢ + ε) / Σⱼ(aⱼ + ε), so the masks sum to one and the
/// stems add up to the mixture. Per stem (a decoder trained on its own source, as the
/// interleaved multitask modes do): mᵢ = aᵢ, a sigmoid's output.
public enum MaskNormalisation: String, Codable, Sendable {
    case acrossStems, perStem
}

/// The training objective on magnitudes: estimates ŷᵢ = mᵢ ⊙ |X| against targets yᵢ.
public enum SeparationLoss: Codable, Equatable, Sendable {
    /// Mean absolute error (the multitask U-Net).
    case l1
    /// Squared error minus discriminative terms that push each estimate away from the other
    /// targets (Chandna et al.): α between vocals, drums and bass; β from each of those to
    /// other's target; β_vocals from other's estimate to the vocals target.
    case discriminative(alpha: Double, beta: Double, betaVocals: Double)

    public static let chandna = SeparationLoss.discriminative(alpha: 0.001, beta: 0.01, betaVocals: 0.03)

    /// w[i][j]: the weight of ‖ŷᵢ − yⱼ‖² subtracted from the loss.
    func discriminativeWeights(_ stems: [SeparationStem]) -> [[Float]] {
        guard case .discriminative(let alpha, let beta, let betaVocals) = self else { return [] }
        return stems.map { estimate in
            stems.map { target in
                if estimate == target { return 0 }
                switch (estimate, target) {
                case (.other, .vocals): return Float(betaVocals)
                case (.other, _): return 0
                case (_, .other): return Float(beta)
                default: return Float(alpha)
                }
            }
        }
    }
}

public enum SourceMasking {
    static let epsilon: Float = 1e-6
    private static let workers = EngineThreads.count

    /// Masks for one item: `activations` holds S planes of `planeSize` values.
    public static func masks(_ activations: UnsafeBufferPointer<Float>, stems: Int, normalisation: MaskNormalisation) -> [Float] {
        let planeSize = activations.count / stems
        guard normalisation == .acrossStems else { return Array(activations) }
        var masks = [Float](repeating: 0, count: activations.count)
        for p in 0..<planeSize {
            var total: Float = 0
            for s in 0..<stems { total += max(activations[s * planeSize + p], 0) + epsilon }
            for s in 0..<stems { masks[s * planeSize + p] = (max(activations[s * planeSize + p], 0) + epsilon) / total }
        }
        return masks
    }

    /// The loss of a batch and its gradient with respect to the activations.
    /// - Parameters:
    ///   - activations: [B, S, …] network outputs (non-negative).
    ///   - mixtures: per item, the mixture's magnitudes in the planes' layout.
    ///   - targets: per item, S planes of target magnitudes.
    ///   - scored: the stems whose error counts (all of them, or one task's).
    /// - Returns: the loss averaged over items and plane values, and its gradient.
    public static func loss(_ activations: Tensor, mixtures: [[Float]], targets: [[[Float]]], stems: [SeparationStem], loss: SeparationLoss,
                            normalisation: MaskNormalisation, scored: Set<Int>? = nil) -> (value: Double, gradient: Tensor) {
        let batch = activations.batch, s = stems.count, itemSize = activations.itemSize, planeSize = itemSize / s
        precondition(mixtures.count == batch && targets.count == batch && mixtures.allSatisfy { $0.count == planeSize }, "mixtures and targets must match the batch")
        let weights = loss.discriminativeWeights(stems)
        let isScored = (0..<s).map { scored?.contains($0) ?? true }
        // The discriminative partners of each stem, looked up once rather than per value.
        let partners = (0..<s).map { i in weights.isEmpty ? [] : (0..<s).compactMap { j in weights[i][j] != 0 ? (j, weights[i][j]) : nil } }
        let isL1: Bool
        if case .l1 = loss { isL1 = true } else { isL1 = false }
        let scale = 1 / Float(batch * planeSize)
        var gradient = Tensor(zeros: activations.shape)
        // Items on every core, each worker with its own scratch; the partial sums are
        // added in worker order, so the loss does not depend on scheduling.
        let parts = max(1, min(workers, batch))
        var partials = [Double](repeating: 0, count: parts)
        activations.data.withUnsafeBufferPointer { all in
            gradient.data.withUnsafeMutableBufferPointer { out in
                partials.withUnsafeMutableBufferPointer { partials in
                    let shared = UncheckedBox((all, out, partials))
                    DispatchQueue.concurrentPerform(iterations: parts) { worker in
                        let (all, out, partials) = shared.value
                        var maskGradient = [Float](repeating: 0, count: itemSize)
                        var total = 0.0
                        maskGradient.withUnsafeMutableBufferPointer { dm in
                            for item in (batch * worker / parts)..<(batch * (worker + 1) / parts) {
                                let a = UnsafeBufferPointer(rebasing: all[(item * itemSize)..<((item + 1) * itemSize)])
                                let masks = self.masks(a, stems: s, normalisation: normalisation)
                                let target = targets[item]
                                mixtures[item].withUnsafeBufferPointer { mixture in
                                    // dL/dm for every stem and value.
                                    for i in 0..<s {
                                        let row = i * planeSize
                                        guard isScored[i] else {
                                            for p in 0..<planeSize { dm[row + p] = 0 }
                                            continue
                                        }
                                        target[i].withUnsafeBufferPointer { own in
                                            for p in 0..<planeSize {
                                                let estimate = masks[row + p] * mixture[p]
                                                let error = estimate - own[p]
                                                var g: Float
                                                if isL1 {
                                                    total += Double(abs(error))
                                                    g = error > 0 ? 1 : error < 0 ? -1 : 0
                                                } else {
                                                    total += Double(error * error)
                                                    g = 2 * error
                                                    for (j, w) in partners[i] {
                                                        let apart = estimate - target[j][p]
                                                        total -= Double(w * apart * apart)
                                                        g -= 2 * w * apart
                                                    }
                                                }
                                                dm[row + p] = g * mixture[p] * scale
                                            }
                                        }
                                    }
                                }
                                let base = item * itemSize
                                if normalisation == .perStem {
                                    for k in 0..<itemSize { out[base + k] = dm[k] }
                                    continue
                                }
                                // mᵢ = (aᵢ + ε)/D: ∂mᵢ/∂aₖ = (δᵢₖ − mᵢ)/D, so gₖ = (g_mₖ − Σᵢ g_mᵢ mᵢ)/D where aₖ > 0.
                                for p in 0..<planeSize {
                                    var denominator: Float = 0, dot: Float = 0
                                    for i in 0..<s {
                                        denominator += max(a[i * planeSize + p], 0) + epsilon
                                        dot += dm[i * planeSize + p] * masks[i * planeSize + p]
                                    }
                                    for k in 0..<s where a[k * planeSize + p] > 0 {
                                        out[base + k * planeSize + p] = (dm[k * planeSize + p] - dot) / denominator
                                    }
                                }
                            }
                        }
                        partials[worker] = total
                    }
                }
            }
        }
        let total = partials.reduce(0, +)
        return (total * Double(scale), gradient)
    }
}
