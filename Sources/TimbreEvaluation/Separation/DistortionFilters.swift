import COpenBLAS

/// BSSEval's time-invariant distortion filters (version 4: one set per track, not per
/// window): the least-squares FIR filters, `length` taps from every reference channel to
/// every estimate channel, that best rebuild an estimate from the references.
///
/// The normal equations are G·C = D, with G the Gram matrix of the references delayed by
/// 0…length−1 samples and D their inner products with the estimate. They are solved as
/// museval solves them: LU with G loaded on its diagonal by machine epsilon. That load is
/// what keeps the solve defined when references are nearly collinear (rendered stems, or
/// stems band-limited by resampling, often are); should G still be singular to working
/// precision, the load grows to `fallbackLoad` times G's mean diagonal (museval falls back
/// to least squares there).
struct DistortionFilters {
    /// filters[estimate][output channel] = taps laid out as [(source · channels + channel) · length + lag]
    /// for the projection on every reference (`all`) and on the estimate's own reference (`own`,
    /// [channel · length + lag]).
    let all: [[[Double]]]
    let own: [[[Double]]]

    static let fallbackLoad = 1e-10

    /// The filters of several sets of estimates of the same references (a separator's and
    /// the baselines'). The references' correlations, their Gram matrix and its LU
    /// factorisation, the costly part, are made once and serve every set.
    /// - Parameters:
    ///   - estimateSets: [set][source][channel][sample], each set shaped as `references`
    ///     ([source][channel][sample]), estimate j for source j.
    static func forEach(of estimateSets: [[[[Double]]]], references: [[[Double]]], length: Int) throws -> [DistortionFilters] {
        let sources = references.count, channels = references[0].count
        let referenceCount = sources * channels, sets = estimateSets.count
        let signals = references.flatMap { $0 } + estimateSets.flatMap { $0.flatMap { $0 } }
        var pairs: [(Int, Int)] = []
        for p in 0..<referenceCount {
            for q in p..<referenceCount { pairs.append((p, q)) }
            for e in 0..<(sets * referenceCount) { pairs.append((p, referenceCount + e)) }
        }
        let correlations = LaggedCorrelations(signals: signals, pairs: pairs, maxLag: length)

        // Gram of delayed references: G[(p,a),(q,b)] = Σ x_p[n−a]·x_q[n−b] = R_pq[a−b].
        let n = referenceCount * length
        var gram = [Double](repeating: 0, count: n * n)
        for p in 0..<referenceCount {
            for q in p..<referenceCount {
                let r = correlations.series(p, q), zeroLag = length - 1
                for a in 0..<length {
                    for b in 0..<length {
                        let value = r[zeroLag + a - b]
                        gram[(p * length + a) * n + q * length + b] = value
                        gram[(q * length + b) * n + p * length + a] = value
                    }
                }
            }
        }
        // Right-hand sides, one column per estimate channel of every set:
        // D[(p,a), e] = Σ x_p[n−a]·e[n] = R_pe[a].
        let columns = sets * referenceCount
        var rhs = [Double](repeating: 0, count: n * columns)
        for e in 0..<columns {
            for p in 0..<referenceCount {
                let r = correlations.series(p, referenceCount + e)
                for a in 0..<length { rhs[e * n + p * length + a] = r[length - 1 + a] }
            }
        }
        let solvedAll = try solve(gram, size: n, rhs: rhs, columns: columns)
        // Each estimate on its own reference alone: the diagonal block of G and its rows of D.
        let m = channels * length
        let solvedOwn: [[Double]] = try (0..<sources).map { j in
            var block = [Double](repeating: 0, count: m * m)
            for r in 0..<m {
                for c in 0..<m { block[r * m + c] = gram[(j * m + r) * n + j * m + c] }
            }
            var ownRHS = [Double](repeating: 0, count: m * sets * channels)
            for s in 0..<sets {
                for c in 0..<channels {
                    let column = (s * sources + j) * channels + c
                    for r in 0..<m { ownRHS[(s * channels + c) * m + r] = rhs[column * n + j * m + r] }
                }
            }
            return try solve(block, size: m, rhs: ownRHS, columns: sets * channels)
        }
        return (0..<sets).map { s in
            let all = (0..<sources).map { j in
                (0..<channels).map { c in
                    let column = (s * sources + j) * channels + c
                    return Array(solvedAll[(column * n)..<((column + 1) * n)])
                }
            }
            let own = (0..<sources).map { j in
                (0..<channels).map { c in Array(solvedOwn[j][((s * channels + c) * m)..<((s * channels + c + 1) * m)]) }
            }
            return DistortionFilters(all: all, own: own)
        }
    }

    struct SingularReferences: Error, CustomStringConvertible {
        var description: String { "the references are linearly dependent even with a diagonal load; BSSEval cannot score them" }
    }

    /// (A + εI)·X = B by LU (LAPACK dgesv), B column-major; A is symmetric, so its layout
    /// needs no transposition.
    private static func solve(_ matrix: [Double], size: Int, rhs: [Double], columns: Int) throws -> [Double] {
        var trace = 0.0
        for i in 0..<size { trace += matrix[i * size + i] }
        for load in [Double.ulpOfOne, fallbackLoad * trace / Double(size)] {
            var a = matrix, b = rhs
            for i in 0..<size { a[i * size + i] += load }
            var n = Int32(size), nrhs = Int32(columns), lda = Int32(size), ldb = Int32(size), info: Int32 = 0
            var pivots = [Int32](repeating: 0, count: size)
            a.withUnsafeMutableBufferPointer { a in
                b.withUnsafeMutableBufferPointer { b in dgesv_(&n, &nrhs, a.baseAddress, &lda, &pivots, b.baseAddress, &ldb, &info) }
            }
            if info == 0 { return b }
        }
        throw SingularReferences()
    }
}
