import Foundation
import Testing
import TimbreAudio
import TimbreTestSupport

/// `timbre evaluate-separation` on two small tracks, as a user runs it.
@Suite struct EvaluateSeparationCommandTests {
    static let rate = 8_000, samples = 24_000

    /// Stereo noise from a 64-bit linear congruential sequence, low-passed for the second stem.
    static func stem(seed: UInt64, smooth: Bool) -> [[Float]] {
        (0..<2).map { channel in
            var state = seed &+ UInt64(channel) &* 977
            var previous = 0.0
            return (0..<samples).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let value = Double(state >> 11) / Double(UInt64(1) << 53) * 2 - 1
                previous = smooth ? 0.8 * previous + 0.2 * value : value
                return Float(0.3 * previous)
            }
        }
    }

    func write(_ channels: [[Float]], _ url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try MultichannelAudio(channels: channels, sampleRate: Self.rate).write(to: url, format: .wavFloat)
    }

    /// White noise for vocals and smoothed noise for other.
    static let a = stem(seed: 1, smooth: false), b = stem(seed: 2, smooth: true)

    /// A scratch folder with the references `references/<track>/{vocals,other}.wav` (`a` and
    /// `b`) of each track named; the estimates go under `estimates`.
    func referenceTracks(_ names: [String]) throws -> (root: URL, references: URL, estimates: URL) {
        let root = scratchPath("separation")
        let references = root.appendingPathComponent("references")
        for track in names {
            try write(Self.a, references.appendingPathComponent("\(track)/vocals.wav"))
            try write(Self.b, references.appendingPathComponent("\(track)/other.wav"))
        }
        return (root, references, root.appendingPathComponent("estimates"))
    }

    @Test func scoresHalfGainEstimatesAndReportsAMissingStem() throws {
        let (root, references, estimates) = try referenceTracks(["one", "two"])
        defer { try? FileManager.default.removeItem(at: root) }
        let (a, b) = (Self.a, Self.b)
        // A mixture file beside the stems is not a stem.
        for track in ["one", "two"] { try write(a, references.appendingPathComponent("\(track)/mixture.wav")) }
        // Track one: every estimate is its reference at half gain, SDR = 10·log10(4).
        try write(a.map { $0.map { $0 / 2 } }, estimates.appendingPathComponent("one/vocals.wav"))
        try write(b.map { $0.map { $0 / 2 } }, estimates.appendingPathComponent("one/other.wav"))
        // Track two has no vocals estimate.
        try write(b, estimates.appendingPathComponent("two/other.wav"))

        let report = root.appendingPathComponent("report")
        let result = try TimbreProcess.run(["evaluate-separation", estimates.path, references.path, "--report", report.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("two/vocals: no estimate for the reference stem 'vocals'"))
        #expect(result.stdout.contains("1 track,"))

        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("metrics.json"))) as! [String: Any]
        let tracks = metrics["tracks"] as! [String: [String: [String: Any]]]
        #expect(tracks.keys.sorted() == ["one"])
        #expect(tracks["one"]!.keys.sorted() == ["other", "vocals"])
        for stem in ["other", "vocals"] {
            let sdr = tracks["one"]![stem]!["SDR"] as! Double, isr = tracks["one"]![stem]!["ISR"] as! Double
            #expect(abs(sdr - 10 * log10(4.0)) < 1e-3)
            #expect(abs(isr - 10 * log10(4.0)) < 1e-3)
        }
        let baselines = metrics["baselines"] as! [String: [String: [String: [String: Any]]]]
        // The mixture as the estimate: SDR is the stem's power over the other's. The smoothed
        // stem's power is 0.2² / (1 − 0.8²) = 1/9 of the white one's: ±9.54 dB.
        let mixtureSDR = baselines["mixture"]!["median"]!["vocals"]!["SDR"] as! Double
        #expect(abs(mixtureSDR - 10 * log10(9.0)) < 0.3)
        let otherMixtureSDR = baselines["mixture"]!["median"]!["other"]!["SDR"] as! Double
        #expect(abs(otherMixtureSDR + 10 * log10(9.0)) < 0.3)
        let oracleSDR = baselines["oracle IRM"]!["median"]!["vocals"]!["SDR"] as! Double
        #expect(oracleSDR > mixtureSDR)
        let rows = try String(contentsOf: report.appendingPathComponent("windows.csv"), encoding: .utf8).split(separator: "\n")
        // 3 one-second windows × 2 stems × (estimate, mixture, oracle IRM), and the header.
        #expect(rows.count == 1 + 3 * 2 * 3)
        // Every row gives its reference's level: the white stem is uniform on ±0.3, a mean
        // power of 0.3² / 3 (−15.23 dB), in the estimate's rows and the baselines' alike.
        #expect(rows[0].hasSuffix(",reference_db"))
        let vocalsLevels = rows.dropFirst().map { $0.split(separator: ",") }.filter { $0[1] == "vocals" }.map { Double($0[9])! }
        #expect(vocalsLevels.count == 9)
        #expect(vocalsLevels.allSatisfy { abs($0 - 10 * log10(0.09 / 3)) < 0.1 }, "\(vocalsLevels)")
    }

    /// Every estimate of a track that cannot be scored is named, one line each, so that a
    /// user fixes them in one go; the track is skipped and a scorable one is still scored.
    @Test func everyUnscorableEstimateOfATrackIsNamed() throws {
        let (root, references, estimates) = try referenceTracks(["bad", "good"])
        defer { try? FileManager.default.removeItem(at: root) }
        let (a, b) = (Self.a, Self.b)
        try write([a[0]], estimates.appendingPathComponent("bad/vocals.wav"))
        try write(b.map { $0.map { _ in 0 } }, estimates.appendingPathComponent("bad/other.wav"))
        try write(a, estimates.appendingPathComponent("good/vocals.wav"))
        try write(b, estimates.appendingPathComponent("good/other.wav"))
        let result = try TimbreProcess.run(["evaluate-separation", estimates.path, references.path, "--no-baselines"])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("timbre: ") }
        #expect(lines == ["timbre: \(estimates.path)/bad/other.wav: silent throughout the reference's length; BSSEval cannot score it",
                          "timbre: \(estimates.path)/bad/vocals.wav: 1 channel, the reference 2"], "\(result.stderr)")
        #expect(result.stdout.contains("1 track,"))
    }

    @Test func aSilentEstimateAndAnImpossibleHopAreOneLineErrors() throws {
        let (root, references, estimates) = try referenceTracks(["t"])
        defer { try? FileManager.default.removeItem(at: root) }
        let (a, b) = (Self.a, Self.b)
        try write(a, estimates.appendingPathComponent("t/vocals.wav"))
        try write(b.map { $0.map { _ in 0 } }, estimates.appendingPathComponent("t/other.wav"))
        let silent = try TimbreProcess.run(["evaluate-separation", estimates.path, references.path])
        #expect(silent.status == 1)
        #expect(silent.stderr.contains("t/other.wav: silent throughout"), "\(silent.stderr)")

        try write(b, estimates.appendingPathComponent("t/other.wav"))
        let hop = try TimbreProcess.run(["evaluate-separation", estimates.path, references.path, "--hop-seconds", "0.00001"])
        #expect(hop.status == 1)
        #expect(hop.stderr.contains("shorter than one sample at 8000 Hz"), "\(hop.stderr)")
        #expect(hop.stderr.split(separator: "\n").count == 1)
    }
}
