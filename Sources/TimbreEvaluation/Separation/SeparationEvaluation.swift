import Foundation
import TimbreCore
import TimbreDSP

/// `timbre evaluate-separation`: BSSEval v4 over folders of tracks, aggregated as museval
/// does (the median over a track's windows, NaN windows skipped; then the median over
/// tracks), with two baselines on the same references: the mixture (the references'
/// sum) as every stem's estimate, and the oracle ideal ratio mask.
public struct SeparationEvaluation {
    public static let metricNames = ["SDR", "SIR", "SAR", "ISR"]

    /// Medians of the four metrics; nil where every window was NaN.
    public typealias Medians = [String: Double?]

    public struct TrackResult {
        public let track: String
        public let sampleRate: Int
        /// Hop between windows in samples.
        public let hop: Int
        /// Per stem, the scores of every window.
        public var windows: [String: BSSEval.Scores]
        public var baselines: [String: [String: BSSEval.Scores]]
        /// Per stem, the reference's level in every window (see `referenceLevels`).
        public var referenceLevels: [String: [Double]] = [:]
    }

    public var tracks: [TrackResult] = []
    public let windowSeconds: Double
    public let hopSeconds: Double
    public static let baselineNames = ["mixture", "oracle IRM"]

    public init(windowSeconds: Double = 1, hopSeconds: Double = 1) {
        self.windowSeconds = windowSeconds
        self.hopSeconds = hopSeconds
    }

    /// Scores one track (and, with `baselines`, the mixture and the oracle mask on it).
    public mutating func add(_ track: SeparationTrack, baselines: Bool) throws {
        let window = Int((windowSeconds * Double(track.sampleRate)).rounded(.down))
        let hop = Int((hopSeconds * Double(track.sampleRate)).rounded(.down))
        guard window >= 1, hop >= 1 else {
            throw FileError(path: track.name, reason: "the window or hop is shorter than one sample at \(track.sampleRate) Hz")
        }
        var estimateSets = [track.estimates]
        if baselines {
            let mixture = Self.mixture(of: track.references)
            estimateSets += [track.references.map { _ in mixture }, OracleRatioMask.estimates(references: track.references)]
        }
        let scores = try BSSEval.evaluate(references: track.references, estimateSets: estimateSets, window: window, hop: hop)
            .map { Dictionary(uniqueKeysWithValues: zip(track.stems, $0)) }
        var result = TrackResult(track: track.name, sampleRate: track.sampleRate, hop: hop, windows: scores[0], baselines: [:])
        let levels = Self.referenceLevels(track.references, window: window, hop: hop)
        result.referenceLevels = Dictionary(uniqueKeysWithValues: zip(track.stems, levels))
        if baselines {
            for (name, baseline) in zip(Self.baselineNames, scores.dropFirst()) { result.baselines[name] = baseline }
        }
        tracks.append(result)
    }

    /// Each reference's level in every scoring window: its mean power over the window's
    /// samples and channels in dB (full scale 1), −inf where it is silent. A stem's score
    /// depends on it: a real recording's noise between phrases is a reference too, and its
    /// windows score far below the sung or played ones.
    /// - Returns: [source][window], windows as `BSSEval.windows` frames them.
    static func referenceLevels(_ references: [[[Double]]], window: Int, hop: Int) -> [[Double]] {
        references.map { channels in
            BSSEval.windows(length: channels[0].count, window: window, hop: hop).map { range in
                let energy = channels.reduce(0.0) { sum, channel in channel[range].reduce(sum) { $0 + $1 * $1 } }
                return 10 * log10(energy / Double(range.count * channels.count))
            }
        }
    }

    static func mixture(of references: [[[Double]]]) -> [[Double]] {
        (0..<references[0].count).map { c in
            (0..<references[0][c].count).map { t in references.reduce(0) { $0 + $1[c][t] } }
        }
    }

    /// The median of the finite and infinite values, NaN skipped (numpy's nanmedian).
    static func median(_ values: [Double]) -> Double? {
        let kept = values.filter { !$0.isNaN }.sorted()
        guard !kept.isEmpty else { return nil }
        let middle = kept.count / 2
        return kept.count % 2 == 1 ? kept[middle] : (kept[middle - 1] + kept[middle]) / 2
    }

    static func medians(_ scores: BSSEval.Scores) -> Medians {
        ["SDR": median(scores.sdr), "SIR": median(scores.sir), "SAR": median(scores.sar), "ISR": median(scores.isr)]
    }

    /// Every stem that some track scored, in order of first appearance after sorting.
    public var stems: [String] { Array(Set(tracks.flatMap { $0.windows.keys })).sorted() }

    /// Per stem, the median over tracks of each track's median (tracks without the stem skipped).
    public func overall(_ pick: (TrackResult) -> [String: BSSEval.Scores]?) -> [String: Medians] {
        var result: [String: Medians] = [:]
        for stem in stems {
            var row: Medians = [:]
            for metric in Self.metricNames {
                let perTrack = tracks.compactMap { pick($0)?[stem] }.compactMap { Self.medians($0)[metric] ?? nil }
                row[metric] = Self.median(perTrack)
            }
            result[stem] = row
        }
        return result
    }

    /// The table printed after scoring: the estimates' medians, then the baselines' SDR.
    public func table() -> String {
        let estimates = overall { $0.windows }
        let hasBaselines = tracks.contains { !$0.baselines.isEmpty }
        let mixture = overall { $0.baselines["mixture"] }, oracle = overall { $0.baselines["oracle IRM"] }
        func cell(_ value: Double??) -> String {
            guard let value = value ?? nil else { return String(repeating: " ", count: 6) + "-" }
            return String(format: "%7.2f", value)
        }
        let width = max(12, (stems.map(\.count).max() ?? 0) + 2)
        var lines = ["\(tracks.count) track\(tracks.count == 1 ? "" : "s"), median over \(String(format: "%g", windowSeconds)) s windows then over tracks (dB)"]
        var header = "STEM".padding(toLength: width, withPad: " ", startingAt: 0) + "TRACKS" + "    SDR    SIR    SAR    ISR"
        if hasBaselines { header += "   mixture SDR   oracle IRM SDR" }
        lines.append(header)
        for stem in stems {
            let count = tracks.filter { $0.windows[stem] != nil }.count
            var line = stem.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: "%6d", count)
            for metric in Self.metricNames { line += cell(estimates[stem]?[metric]) }
            if hasBaselines {
                line += String(repeating: " ", count: 7) + cell(mixture[stem]?["SDR"]) + String(repeating: " ", count: 10) + cell(oracle[stem]?["SDR"])
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// metrics.json ({"tracks": {TRACK: {STEM: {SDR, SIR, SAR, ISR}}}, "median": {STEM: {...}},
    /// "baselines": {NAME: {"median": ...}}; a metric with no scored window is null, an
    /// infinite ratio, such as SIR with nothing to interfere, the string "inf") and
    /// windows.csv (track, stem, estimate or baseline, window, start, the four metrics, the
    /// reference's level in dB).
    public func write(to folder: URL) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw FileError(path: folder.path, reason: "cannot create the report folder")
        }
        func json(_ medians: Medians) -> [String: Any] {
            medians.mapValues { value -> Any in
                guard let value = value ?? nil, !value.isNaN else { return NSNull() }
                if value.isFinite { return value }
                return value > 0 ? "inf" : "-inf"
            }
        }
        var perTrack: [String: Any] = [:]
        for track in tracks { perTrack[track.track] = track.windows.mapValues { json(Self.medians($0)) } }
        var object: [String: Any] = [
            "tracks": perTrack, "median": overall { $0.windows }.mapValues(json),
            "window_seconds": windowSeconds, "hop_seconds": hopSeconds, "method": "BSSEval v4 (museval 0.4 v4 mode), 512-tap filters",
        ]
        if tracks.contains(where: { !$0.baselines.isEmpty }) {
            var baselines: [String: Any] = [:]
            for name in Self.baselineNames { baselines[name] = ["median": overall { $0.baselines[name] }.mapValues(json)] }
            object["baselines"] = baselines
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try write(data, to: folder.appendingPathComponent("metrics.json"))
        var csv = "track,stem,estimate,window,start_s,SDR,SIR,SAR,ISR,reference_db\n"
        func field(_ text: String) -> String {
            text.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        func format(_ value: Double) -> String { value.isNaN ? "nan" : value.isInfinite ? (value > 0 ? "inf" : "-inf") : String(format: "%.5f", value) }
        for track in tracks {
            let sets = [("estimate", track.windows)] + Self.baselineNames.compactMap { name in track.baselines[name].map { (name, $0) } }
            for (estimate, scores) in sets {
                for stem in scores.keys.sorted() {
                    let s = scores[stem]!, levels = track.referenceLevels[stem] ?? []
                    for w in 0..<s.sdr.count {
                        csv += [field(track.track), field(stem), estimate, String(w), String(format: "%.3f", Double(w * track.hop) / Double(track.sampleRate)),
                                format(s.sdr[w]), format(s.sir[w]), format(s.sar[w]), format(s.isr[w]),
                                w < levels.count ? format(levels[w]) : "nan"].joined(separator: ",") + "\n"
                    }
                }
            }
        }
        try write(Data(csv.utf8), to: folder.appendingPathComponent("windows.csv"))
    }

    private func write(_ data: Data, to url: URL) throws {
        do { try data.write(to: url, options: .atomic) } catch { throw FileError(path: url.path, reason: "cannot write") }
    }
}

/// The oracle ideal ratio mask: each stem's power share of the sum of the stems' powers in
/// every time-frequency bin, applied to the mixture's STFT (2048/512, Hann) channel by
/// channel. The upper bound of what a real-valued mask on this STFT can reach.
public enum OracleRatioMask {
    public static let nFFT = 2048, hop = 512

    public static func estimates(references: [[[Double]]]) -> [[[Double]]] {
        let transform = ComplexShortTimeFourierTransform(nFFT: nFFT, hopLength: hop)
        let channels = references[0].count, length = references[0][0].count
        var result = references.map { _ in [[Double]](repeating: [], count: channels) }
        for c in 0..<channels {
            let spectra = references.map { transform.forward($0[c].map(Float.init)) }
            var mixture = spectra[0]
            for s in spectra.dropFirst() {
                for i in 0..<mixture.real.count { mixture.real[i] += s.real[i]; mixture.imaginary[i] += s.imaginary[i] }
            }
            let powers: [[Double]] = spectra.map { s in
                (0..<s.real.count).map { i -> Double in
                    let re = Double(s.real[i]), im = Double(s.imaginary[i])
                    return re * re + im * im
                }
            }
            var total = [Double](repeating: 0, count: mixture.real.count)
            for p in powers { for i in 0..<total.count { total[i] += p[i] } }
            for (j, p) in powers.enumerated() {
                let mask = (0..<total.count).map { total[$0] > 0 ? Float(p[$0] / total[$0]) : 0 }
                result[j][c] = transform.inverse(mixture.masked(by: mask), length: length).map(Double.init)
            }
        }
        return result
    }
}
