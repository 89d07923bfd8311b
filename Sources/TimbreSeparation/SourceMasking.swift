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
        let denominators = UnsafeMutableBufferPointer<Float>.allocate(capacity: activations.count / stems)
        defer { denominators.deallocate() }
        return [Float](unsafeUninitializedCapacity: activations.count) { masks, count in
            writeMasks(activations, stems: stems, normalisation: normalisation, into: masks, denominators: denominators)
            count = activations.count
        }
    }

    /// `masks` written into a buffer of the activations' size; across stems, the plane's
    /// denominators Σⱼ(aⱼ + ε) are left in `denominators` (one plane), so the loss's
    /// gradient reuses them and its scratch.
    static func writeMasks(_ activations: UnsafeBufferPointer<Float>, stems: Int, normalisation: MaskNormalisation,
                           into masks: UnsafeMutableBufferPointer<Float>, denominators: UnsafeMutableBufferPointer<Float>) {
        guard normalisation == .acrossStems else {
            _ = masks.initialize(from: activations)
            return
        }
        let planeSize = activations.count / stems
        writeDenominators(activations, stems: stems, into: denominators)
        // Row by row, so each loop runs over contiguous values.
        for s in 0..<stems {
            let a = row(activations, s, planeSize), m = row(masks, s, planeSize)
            for p in 0..<planeSize { m[p] = (max(a[p], 0) + epsilon) / denominators[p] }
        }
    }

    /// Σⱼ(aⱼ + ε) at every point of the plane.
    private static func writeDenominators(_ activations: UnsafeBufferPointer<Float>, stems: Int, into denominators: UnsafeMutableBufferPointer<Float>) {
        let planeSize = denominators.count
        denominators.update(repeating: 0)
        for s in 0..<stems {
            let a = row(activations, s, planeSize)
            for p in 0..<planeSize { denominators[p] += max(a[p], 0) + epsilon }
        }
    }

    @inline(__always) private static func row(_ values: UnsafeBufferPointer<Float>, _ s: Int, _ planeSize: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(rebasing: values[(s * planeSize)..<((s + 1) * planeSize)])
    }

    @inline(__always) private static func row(_ values: UnsafeMutableBufferPointer<Float>, _ s: Int, _ planeSize: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: values[(s * planeSize)..<((s + 1) * planeSize)])
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
        // Every value is written below.
        var gradient = Tensor(uninitialized: activations.shape)
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
                        // Per worker: the masks, dL/dm, and rows of estimates, denominators and dot products.
                        let masks = UnsafeMutableBufferPointer<Float>.allocate(capacity: itemSize)
                        let dm = UnsafeMutableBufferPointer<Float>.allocate(capacity: itemSize)
                        let estimates = UnsafeMutableBufferPointer<Float>.allocate(capacity: planeSize)
                        let denominators = UnsafeMutableBufferPointer<Float>.allocate(capacity: planeSize)
                        let dots = UnsafeMutableBufferPointer<Float>.allocate(capacity: planeSize)
                        defer { [masks, dm, estimates, denominators, dots].forEach { $0.deallocate() } }
                        var total = 0.0
                        for item in (batch * worker / parts)..<(batch * (worker + 1) / parts) {
                            let a = UnsafeBufferPointer(rebasing: all[(item * itemSize)..<((item + 1) * itemSize)])
                            self.writeMasks(a, stems: s, normalisation: normalisation, into: masks, denominators: denominators)
                            let target = targets[item]
                            mixtures[item].withUnsafeBufferPointer { mixture in
                                // dL/dm for every stem and value, one pass per term so each loop is plain arithmetic.
                                for i in 0..<s {
                                    let row = self.row(dm, i, planeSize)
                                    guard isScored[i] else {
                                        row.update(repeating: 0)
                                        continue
                                    }
                                    let mask = UnsafeBufferPointer(self.row(masks, i, planeSize))
                                    target[i].withUnsafeBufferPointer { own in
                                        total += isL1 ? l1Row(mask, mixture, own, estimates: estimates, gradient: row)
                                                      : squaredRow(mask, mixture, own, estimates: estimates, gradient: row)
                                    }
                                    for (j, w) in partners[i] {
                                        target[j].withUnsafeBufferPointer { other in
                                            total -= Double(w) * subtractApart(estimates, other, weight: w, gradient: row)
                                        }
                                    }
                                    for p in 0..<planeSize { row[p] = row[p] * mixture[p] * scale }
                                }
                            }
                            let out = UnsafeMutableBufferPointer(rebasing: out[(item * itemSize)..<((item + 1) * itemSize)])
                            if normalisation == .perStem {
                                _ = out.update(fromContentsOf: dm)
                                continue
                            }
                            // mᵢ = (aᵢ + ε)/D: ∂mᵢ/∂aₖ = (δᵢₖ − mᵢ)/D, so gₖ = (g_mₖ − Σᵢ g_mᵢ mᵢ)/D where aₖ > 0
                            // (D as `writeMasks` left it in `denominators`).
                            dots.update(repeating: 0)
                            for i in 0..<s {
                                let g = self.row(dm, i, planeSize), m = self.row(masks, i, planeSize)
                                for p in 0..<planeSize { dots[p] += g[p] * m[p] }
                            }
                            for k in 0..<s {
                                let g = self.row(dm, k, planeSize), ak = self.row(a, k, planeSize), o = self.row(out, k, planeSize)
                                for p in 0..<planeSize { o[p] = ak[p] > 0 ? (g[p] - dots[p]) / denominators[p] : 0 }
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

    // MARK: Rows of the loss, eight values at a time

    private typealias Lanes = SIMD8<Float>
    /// Lane sums are moved into the Double total every this many values: each lane adds at
    /// most 64 values in Float, so the loss stays within a few Float roundings of a sum in
    /// Double value by value (it is not bit for bit that sum; the gradient is exact).
    private static let block = 512

    @inline(__always) private static func load(_ values: UnsafeBufferPointer<Float>, _ p: Int) -> Lanes {
        UnsafeRawPointer(values.baseAddress! + p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always) private static func load(_ values: UnsafeMutableBufferPointer<Float>, _ p: Int) -> Lanes {
        UnsafeRawPointer(values.baseAddress! + p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always) private static func store(_ lanes: Lanes, _ values: UnsafeMutableBufferPointer<Float>, _ p: Int) {
        UnsafeMutableRawPointer(values.baseAddress! + p).storeBytes(of: lanes, as: Lanes.self)
    }

    /// Σ (mx − y)² over a row; writes the estimates mx and the gradient 2(mx − y).
    private static func squaredRow(_ mask: UnsafeBufferPointer<Float>, _ mixture: UnsafeBufferPointer<Float>, _ target: UnsafeBufferPointer<Float>,
                                   estimates: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>) -> Double {
        let n = mask.count, whole = n - n % Lanes.scalarCount
        var total = 0.0, lanes = Lanes()
        for p in stride(from: 0, to: whole, by: Lanes.scalarCount) {
            let estimate = load(mask, p) * load(mixture, p), error = estimate - load(target, p)
            store(estimate, estimates, p)
            store(2 * error, gradient, p)
            lanes += error * error
            if (p + Lanes.scalarCount) % block == 0 { total += Double(lanes.sum()); lanes = Lanes() }
        }
        total += Double(lanes.sum())
        for p in whole..<n {
            let estimate = mask[p] * mixture[p], error = estimate - target[p]
            estimates[p] = estimate
            gradient[p] = 2 * error
            total += Double(error * error)
        }
        return total
    }

    /// Σ |mx − y| over a row; writes the estimates and the gradient sign(mx − y).
    private static func l1Row(_ mask: UnsafeBufferPointer<Float>, _ mixture: UnsafeBufferPointer<Float>, _ target: UnsafeBufferPointer<Float>,
                              estimates: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>) -> Double {
        let n = mask.count, whole = n - n % Lanes.scalarCount
        var total = 0.0, lanes = Lanes()
        let zero = Lanes(), one = Lanes(repeating: 1)
        for p in stride(from: 0, to: whole, by: Lanes.scalarCount) {
            let estimate = load(mask, p) * load(mixture, p), error = estimate - load(target, p)
            store(estimate, estimates, p)
            store(zero.replacing(with: one, where: error .> 0).replacing(with: -one, where: error .< 0), gradient, p)
            lanes += error.replacing(with: -error, where: error .< 0)
            if (p + Lanes.scalarCount) % block == 0 { total += Double(lanes.sum()); lanes = Lanes() }
        }
        total += Double(lanes.sum())
        for p in whole..<n {
            let estimate = mask[p] * mixture[p], error = estimate - target[p]
            estimates[p] = estimate
            gradient[p] = error > 0 ? 1 : error < 0 ? -1 : 0
            total += Double(abs(error))
        }
        return total
    }

    /// Σ (ŷ − y′)² against another stem's target y′; subtracts 2w(ŷ − y′) from the gradient.
    private static func subtractApart(_ estimates: UnsafeMutableBufferPointer<Float>, _ other: UnsafeBufferPointer<Float>, weight: Float,
                                      gradient: UnsafeMutableBufferPointer<Float>) -> Double {
        let n = other.count, whole = n - n % Lanes.scalarCount
        var total = 0.0, lanes = Lanes()
        for p in stride(from: 0, to: whole, by: Lanes.scalarCount) {
            let apart = load(estimates, p) - load(other, p)
            store(load(gradient, p) - 2 * weight * apart, gradient, p)
            lanes += apart * apart
            if (p + Lanes.scalarCount) % block == 0 { total += Double(lanes.sum()); lanes = Lanes() }
        }
        total += Double(lanes.sum())
        for p in whole..<n {
            let apart = estimates[p] - other[p]
            gradient[p] -= 2 * weight * apart
            total += Double(apart * apart)
        }
        return total
    }
}
