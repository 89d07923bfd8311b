import Foundation
import Testing
@testable import TimbreEvaluation

/// BSSEval v4 against museval 0.4.1 on the tracks of Fixtures/make_museval_fixtures.py,
/// rebuilt here from the same formulas.
@Suite struct BSSEvalTests {
    struct Reference: Decodable {
        let museval_version: String
        let samples: Int
        let window: Int
        let cases: [String: [String: [[Value]]]]
    }

    /// A score as the fixture stores it: a number, null (NaN) or "inf".
    enum Value: Decodable {
        case number(Double), nan, infinity
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .nan }
            else if let number = try? container.decode(Double.self) { self = .number(number) }
            else { self = .infinity }
        }
    }

    static let reference: Reference = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/museval_reference.json")
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()

    static let n = 28_000, rate = 8_000.0

    static func noise(_ count: Int, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(UInt64(1) << 53) * 2 - 1
        }
    }

    /// [source][channel][sample]: a modulated tone with a little noise, and low-passed noise.
    static func sources() -> [[[Double]]] {
        let tone = (0..<2).map { c -> [Double] in
            let hiss = noise(n, seed: UInt64(1 + c))
            return (0..<n).map { t in
                let time = Double(t)
                return 0.5 * sin(2 * Double.pi * 220 * time / rate + Double(c)) * (0.6 + 0.4 * sin(2 * Double.pi * 0.7 * time / rate))
                    + 0.05 * hiss[t]
            }
        }
        let rumble = (0..<2).map { c -> [Double] in
            let x = noise(n, seed: UInt64(11 + c))
            var previous = 0.0
            return x.map { previous = 0.9 * previous + 0.3 * $0; return previous }
        }
        return [tone, rumble]
    }

    static func plusNoise(_ sources: [[[Double]]], gain: Double, firstSeed: UInt64) -> [[[Double]]] {
        sources.enumerated().map { j, channels in
            channels.enumerated().map { c, x in
                let added = noise(n, seed: firstSeed + UInt64(2 * j + c))
                return zip(x, added).map { $0 + gain * $1 }
            }
        }
    }

    static func inputs(_ name: String) -> (references: [[[Double]]], estimates: [[[Double]]]) {
        let references = sources()
        switch name {
        case "three_mono_overlapping":
            let clipped: [Double] = (0..<n).map { t -> Double in
                let value = 0.8 * sin(2 * Double.pi * 97 * Double(t) / rate)
                return min(0.5, max(-0.5, value))
            }
            let three: [[[Double]]] = [[references[0][0]], [references[1][1]], [clipped]]
            let leaky: [[[Double]]] = (0..<3).map { j -> [[Double]] in
                let own = three[j][0], next = three[(j + 1) % 3][0]
                return [(0..<n).map { own[$0] + 0.2 * next[$0] }]
            }
            return (three, leaky)
        case "mixture":
            let mixture = (0..<2).map { c in (0..<n).map { references[0][c][$0] + references[1][c][$0] } }
            return (references, [mixture, mixture])
        case "half":
            return (references, references.map { $0.map { $0.map { 0.5 * $0 } } })
        case "delay":
            return (references, references.map { $0.map { x in [Double](repeating: 0, count: 10) + x.dropLast(10) } })
        case "noise":
            return (references, plusNoise(references, gain: 0.1, firstSeed: 21))
        case "silent_window":
            var silenced = references
            for c in 0..<2 { for t in 8_000..<16_000 { silenced[1][c][t] = 0 } }
            return (silenced, plusNoise(silenced, gain: 0.05, firstSeed: 31))
        default:
            fatalError("unknown case \(name)")
        }
    }

    func scores(_ name: String) throws -> [BSSEval.Scores] {
        let (references, estimates) = Self.inputs(name)
        let hop = name == "three_mono_overlapping" ? Self.reference.window / 2 : Self.reference.window
        return try BSSEval.evaluate(references: references, estimates: estimates, window: Self.reference.window, hop: hop)
    }

    @Test(arguments: ["mixture", "half", "delay", "noise", "silent_window", "three_mono_overlapping"])
    func matchesMuseval(_ name: String) throws {
        let expected = Self.reference.cases[name]!
        let ours = try scores(name)
        #expect(ours.count == expected["SDR"]!.count)
        for (metric, path) in [("SDR", \BSSEval.Scores.sdr), ("ISR", \.isr), ("SIR", \.sir), ("SAR", \.sar)] {
            for j in 0..<ours.count {
                let values = ours[j][keyPath: path]
                #expect(values.count == expected[metric]![j].count)
                for (window, value) in zip(values, expected[metric]![j]) {
                    switch value {
                    case .nan: #expect(window.isNaN, "\(name) \(metric) source \(j)")
                    case .infinity: #expect(window > 100, "\(name) \(metric) source \(j)")
                    case .number(let museval) where museval > 100:
                        // Numerical noise of a perfect decomposition: huge in both, not equal.
                        #expect(window > 100, "\(name) \(metric) source \(j): \(window), museval \(museval)")
                    case .number(let museval):
                        #expect(abs(window - museval) < 0.01, "\(name) \(metric) source \(j): \(window), museval \(museval)")
                    }
                }
            }
        }
    }

    /// The separator's estimates and the baselines are scored in one call that shares the
    /// references' filters; each set must score exactly as it does alone.
    @Test func setsScoredTogetherScoreAsEachAlone() throws {
        let references = Self.sources()
        var silenced = Self.inputs("noise").estimates
        for c in 0..<2 { for t in 8_000..<16_000 { silenced[0][c][t] = 0 } }
        let sets = ["mixture", "half", "delay"].map { Self.inputs($0).estimates } + [silenced]
        let together = try BSSEval.evaluate(references: references, estimateSets: sets, window: 8_000, hop: 4_000)
        #expect(together.count == sets.count)
        for (set, estimates) in sets.enumerated() {
            let alone = try BSSEval.evaluate(references: references, estimates: estimates, window: 8_000, hop: 4_000)
            #expect(together[set][0].sdr.contains(where: \.isNaN) == (set == 3))
            for j in 0..<references.count {
                for (path, metric) in [(\BSSEval.Scores.sdr, "SDR"), (\.isr, "ISR"), (\.sir, "SIR"), (\.sar, "SAR")] {
                    let a = together[set][j][keyPath: path], b = alone[j][keyPath: path]
                    // Equal up to rounding; NaN where a window is silent; both huge where
                    // the decomposition is perfect and only numerical noise is left.
                    let same = zip(a, b).allSatisfy { x, y in
                        x.isNaN ? y.isNaN : x > 100 ? y > 100 : abs(x - y) < 1e-9
                    }
                    #expect(a.count == b.count && same, "set \(set) source \(j) \(metric): \(a) against \(b)")
                }
            }
        }
    }

    @Test func anEstimateEqualToItsReferenceScoresVeryHigh() throws {
        let references = Self.sources()
        let scores = try BSSEval.evaluate(references: references, estimates: references, window: 8_000, hop: 8_000)
        for source in scores {
            #expect(source.sdr.allSatisfy { $0 > 100 })
            #expect(source.sir.allSatisfy { $0 > 100 })
        }
    }

    @Test func windowsFollowMusevalsFraming() {
        #expect(BSSEval.windows(length: 28_000, window: 8_000, hop: 8_000) == [0..<8_000, 8_000..<16_000, 16_000..<24_000])
        #expect(BSSEval.windows(length: 5_000, window: 8_000, hop: 8_000) == [0..<5_000])
        #expect(BSSEval.windows(length: 20_000, window: 8_000, hop: 4_000).count == 4)
    }

    /// Mean power over a window's samples and channels: 0.5 is −6.02 dB, a stereo window
    /// with one silent channel loses 3.01 dB, a silent window is −inf; the last, partial
    /// stretch of samples gets no window, as in the scores.
    @Test func referenceLevelsAreEachWindowsMeanPower() {
        let mono: [[Double]] = [[Double](repeating: 0.5, count: 4) + [Double](repeating: -0.05, count: 4) + [0, 0, 0, 0] + [1, 1]]
        let stereo: [[Double]] = [[Double](repeating: 1, count: 14), [Double](repeating: 0, count: 14)]
        let levels = SeparationEvaluation.referenceLevels([mono, stereo], window: 4, hop: 4)
        #expect(levels.map(\.count) == [3, 3])
        #expect(abs(levels[0][0] + 6.0206) < 1e-4)
        #expect(abs(levels[0][1] + 26.0206) < 1e-4)
        #expect(levels[0][2] == -.infinity)
        #expect(levels[1].allSatisfy { abs($0 + 3.0103) < 1e-4 })
    }

    @Test func mediansSkipNaNWindows() {
        #expect(SeparationEvaluation.median([3, .nan, 1, 2]) == 2)
        #expect(SeparationEvaluation.median([4, 1, .nan, 2, 3]) == 2.5)
        #expect(SeparationEvaluation.median([.nan, .nan]) == nil)
    }
}
