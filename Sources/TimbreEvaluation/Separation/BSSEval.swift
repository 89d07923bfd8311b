import Foundation
import TimbreDSP

/// BSSEval version 4 (Vincent et al. 2006; Liutkus et al. 2018), computed as museval 0.4
/// does in its default `v4` mode: the image-based decomposition of each estimate into the
/// reference image, spatial distortion, interference and artefacts, with 512-tap distortion
/// filters estimated once on the whole track and applied window by window.
///
/// For estimate j over a window, with s the reference image (followed by length − 1
/// zeros), P_j the projection on source j's delayed reference channels and P the
/// projection on every source's:
/// SDR = ‖s‖² / ‖ŝ − s‖², ISR = ‖s‖² / ‖P_j − s‖², SIR = ‖P_j‖² / ‖P − P_j‖²,
/// SAR = ‖P‖² / ‖ŝ − P‖², in dB. A window in which any reference or estimate is silent
/// (its channel sum zero throughout) scores NaN, as in museval.
public enum BSSEval {
    /// The four ratios of one source over the windows of a track, in dB.
    public struct Scores: Equatable, Sendable {
        public var sdr: [Double] = [], isr: [Double] = [], sir: [Double] = [], sar: [Double] = []
    }

    /// Window starts for `length` samples, museval's framing: whole windows every `hop`
    /// samples, or one window over everything when the track is not longer than a window.
    public static func windows(length: Int, window: Int, hop: Int) -> [Range<Int>] {
        guard window < length else { return [0..<length] }
        let count = (length - window + hop) / hop
        return (0..<count).map { ($0 * hop)..<($0 * hop + window) }
    }

    /// Scores every estimate against its reference.
    /// - Parameters:
    ///   - references: [source][channel][sample], every source non-silent; estimates: the same shape.
    ///   - window, hop: in samples (museval: one second each).
    public static func evaluate(references: [[[Double]]], estimates: [[[Double]]], window: Int, hop: Int,
                                filterLength: Int = 512) throws -> [Scores] {
        try evaluate(references: references, estimateSets: [estimates], window: window, hop: hop, filterLength: filterLength)[0]
    }

    /// Scores several sets of estimates of the same references, each set as `evaluate`
    /// scores it alone: the references' share of the work (their Gram matrix, its
    /// factorisation, their windows' spectra) is done once for all of them.
    /// - Returns: [set][source].
    public static func evaluate(references: [[[Double]]], estimateSets: [[[[Double]]]], window: Int, hop: Int,
                                filterLength: Int = 512) throws -> [[Scores]] {
        let sources = references.count, channels = references[0].count, length = references[0][0].count
        let filterSets = try DistortionFilters.forEach(of: estimateSets, references: references, length: filterLength)
        let ranges = windows(length: length, window: window, hop: hop)
        let windowLength = ranges[0].count
        let projector = WindowProjector(windowLength: windowLength, filterLength: filterLength)
        let allSpectra = filterSets.map { $0.all.map { $0.map { taps in projector.filterSpectra(taps) } } }
        let ownSpectra = filterSets.map { $0.own.map { $0.map { taps in projector.filterSpectra(taps) } } }
        var scores = [[Scores]](repeating: [Scores](repeating: Scores(), count: sources), count: estimateSets.count)
        for range in ranges {
            let referenceSilent = references.contains { isSilent($0, over: range) }
            let silentSets = estimateSets.map { estimates in referenceSilent || estimates.contains { isSilent($0, over: range) } }
            for (set, silent) in silentSets.enumerated() where silent {
                for j in 0..<sources { scores[set][j].append(.nan, .nan, .nan, .nan) }
            }
            guard silentSets.contains(false) else { continue }
            let segmentSpectra = references.map { $0.map { projector.segmentSpectrum($0[range]) } }
            let everySegment = segmentSpectra.flatMap { $0 }
            for (set, estimates) in estimateSets.enumerated() where !silentSets[set] {
                for j in 0..<sources {
                    var energies = Energies()
                    for c in 0..<channels {
                        let everyone = projector.project(segments: everySegment, filters: allSpectra[set][j][c])
                        let own = projector.project(segments: segmentSpectra[j], filters: ownSpectra[set][j][c])
                        energies.add(reference: references[j][c][range], estimate: estimates[j][c][range], own: own, everyone: everyone)
                    }
                    scores[set][j].append(energies.sdr, energies.isr, energies.sir, energies.sar)
                }
            }
        }
        return scores
    }

    /// Squared norms of the decomposition's terms over one window, summed over channels.
    private struct Energies {
        var reference = 0.0, distortion = 0.0, spatial = 0.0, own = 0.0, interference = 0.0, everyone = 0.0, artefacts = 0.0

        mutating func add(reference s: ArraySlice<Double>, estimate e: ArraySlice<Double>, own p: [Double], everyone q: [Double]) {
            for t in 0..<p.count {
                let sValue = t < s.count ? s[s.startIndex + t] : 0, eValue = t < e.count ? e[e.startIndex + t] : 0
                reference += sValue * sValue
                distortion += (eValue - sValue) * (eValue - sValue)
                spatial += (p[t] - sValue) * (p[t] - sValue)
                own += p[t] * p[t]
                interference += (q[t] - p[t]) * (q[t] - p[t])
                everyone += q[t] * q[t]
                artefacts += (eValue - q[t]) * (eValue - q[t])
            }
        }

        var sdr: Double { decibels(reference, distortion) }
        var isr: Double { decibels(reference, spatial) }
        var sir: Double { decibels(own, interference) }
        var sar: Double { decibels(everyone, artefacts) }

        /// museval's safe ratio: a zero denominator is +∞ dB.
        private func decibels(_ numerator: Double, _ denominator: Double) -> Double {
            denominator == 0 ? .infinity : 10 * log10(numerator / denominator)
        }
    }
}

extension BSSEval {
    /// museval's test of silence: the channels' sum is zero at every sample of `range`.
    static func isSilent<T: BinaryFloatingPoint>(_ channels: [[T]], over range: Range<Int>) -> Bool {
        range.allSatisfy { t in channels.reduce(0.0) { $0 + Double($1[t]) } == 0 }
    }
}

extension BSSEval.Scores {
    mutating func append(_ sdr: Double, _ isr: Double, _ sir: Double, _ sar: Double) {
        self.sdr.append(sdr); self.isr.append(isr); self.sir.append(sir); self.sar.append(sar)
    }
}

/// FIR filtering of window segments by FFT: the full linear convolution (window + taps − 1
/// samples), summed over the filtered reference channels.
final class WindowProjector {
    let outputLength: Int, filterLength: Int
    private let fft: RealFFT
    var size: Int { fft.size }
    private var bins: Int { fft.bins }

    init(windowLength: Int, filterLength: Int) {
        self.filterLength = filterLength
        outputLength = windowLength + filterLength - 1
        var size = 1
        while size < outputLength { size <<= 1 }
        fft = RealFFT(size: size)
    }

    private func transform<C: Collection<Double>>(_ values: C) -> [Double] {
        let buffer = fft.samples
        var i = 0
        for value in values { buffer[i] = value; i += 1 }
        for k in i..<size { buffer[k] = 0 }
        fft.forward()
        return Array(UnsafeBufferPointer(start: fft.spectrum, count: 2 * bins))
    }

    func segmentSpectrum(_ segment: ArraySlice<Double>) -> [Double] { transform(segment) }

    /// The spectra of consecutive `filterLength`-tap filters laid end to end in `taps`.
    func filterSpectra(_ taps: [Double]) -> [[Double]] {
        stride(from: 0, to: taps.count, by: filterLength).map { transform(taps[$0..<($0 + filterLength)]) }
    }

    /// Σ_i segment_i ∗ filter_i, the first `outputLength` samples.
    func project(segments: [[Double]], filters: [[Double]]) -> [Double] {
        precondition(segments.count == filters.count, "one filter per segment")
        let values = fft.spectrum
        for k in 0..<(2 * bins) { values[k] = 0 }
        for (x, h) in zip(segments, filters) {
            x.withUnsafeBufferPointer { x in
                h.withUnsafeBufferPointer { h in
                    for k in 0..<bins {
                        values[2 * k] += x[2 * k] * h[2 * k] - x[2 * k + 1] * h[2 * k + 1]
                        values[2 * k + 1] += x[2 * k] * h[2 * k + 1] + x[2 * k + 1] * h[2 * k]
                    }
                }
            }
        }
        fft.inverse()
        let scale = 1 / Double(size), buffer = fft.samples
        return (0..<outputLength).map { buffer[$0] * scale }
    }
}
