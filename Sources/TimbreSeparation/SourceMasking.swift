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
        let scored = scored ?? Set(0..<s)
        let scale = 1 / Float(batch * planeSize)
        var total = 0.0
        var gradient = Tensor(zeros: activations.shape)
        activations.data.withUnsafeBufferPointer { all in
            for item in 0..<batch {
                let a = UnsafeBufferPointer(rebasing: all[(item * itemSize)..<((item + 1) * itemSize)])
                let masks = self.masks(a, stems: s, normalisation: normalisation)
                let mixture = mixtures[item], target = targets[item]
                // dL/dm for every stem and value.
                var maskGradient = [Float](repeating: 0, count: itemSize)
                for i in 0..<s {
                    for p in 0..<planeSize {
                        let estimate = masks[i * planeSize + p] * mixture[p]
                        var g: Float = 0
                        if scored.contains(i) {
                            let error = estimate - target[i][p]
                            switch loss {
                            case .l1:
                                total += Double(abs(error))
                                g = error > 0 ? 1 : error < 0 ? -1 : 0
                            case .discriminative:
                                total += Double(error * error)
                                g = 2 * error
                                for j in 0..<s where weights[i][j] != 0 {
                                    let apart = estimate - target[j][p]
                                    total -= Double(weights[i][j] * apart * apart)
                                    g -= 2 * weights[i][j] * apart
                                }
                            }
                        }
                        maskGradient[i * planeSize + p] = g * mixture[p] * scale
                    }
                }
                let base = item * itemSize
                if normalisation == .perStem {
                    for k in 0..<itemSize { gradient.data[base + k] = maskGradient[k] }
                    continue
                }
                // mᵢ = (aᵢ + ε)/D: ∂mᵢ/∂aₖ = (δᵢₖ − mᵢ)/D, so gₖ = (g_mₖ − Σᵢ g_mᵢ mᵢ)/D where aₖ > 0.
                for p in 0..<planeSize {
                    var denominator: Float = 0, dot: Float = 0
                    for i in 0..<s {
                        denominator += max(a[i * planeSize + p], 0) + epsilon
                        dot += maskGradient[i * planeSize + p] * masks[i * planeSize + p]
                    }
                    for k in 0..<s where a[k * planeSize + p] > 0 {
                        gradient.data[base + k * planeSize + p] = (maskGradient[k * planeSize + p] - dot) / denominator
                    }
                }
            }
        }
        return (total * Double(scale), gradient)
    }
}
