import Foundation

/// One SFZ region's opcodes as numbers: when it plays (keys, velocities, round robin,
/// random range, key switch, controller ranges, trigger) and how (sample, pitch, level,
/// loop, envelope). Opcodes not listed here are ignored; every default is the SFZ 1
/// specification's.
public struct SfzRegion: Equatable, Sendable {
    public enum Trigger: String, Sendable { case attack, release, first, legato }
    public enum LoopMode: String, Sendable { case noLoop = "no_loop", oneShot = "one_shot", continuous = "loop_continuous", sustain = "loop_sustain" }

    public var sample: String
    public var keys: ClosedRange<Int> = 0...127
    public var velocities: ClosedRange<Int> = 1...127
    /// The key at which the sample sounds at its recorded pitch.
    public var pitchKeycenter = 60
    /// Cents per key of pitch change (100: chromatic; 0: every key plays the same pitch).
    public var pitchKeytrack = 100.0
    public var transpose = 0
    /// Fine tuning, cents.
    public var tune = 0.0
    /// Gain in dB, plus `amplitude` in percent.
    public var volume = 0.0
    public var amplitude = 100.0
    /// Stereo position −100 (left) … 100 (right).
    public var pan = 0.0
    /// How much velocity lowers the level, percent.
    public var velocityTrack = 100.0
    /// Explicit velocity → gain points (`amp_velcurve_N`), sorted by velocity.
    public var velocityCurve: [CurvePoint] = []
    public var sequenceLength = 1
    public var sequencePosition = 1
    public var randomRange: Range<Double> = 0..<1
    public var trigger = Trigger.attack
    /// The key switch that must be the last one pressed, if any.
    public var keySwitchLast: Int?
    /// Keys that act as key switches for this region's instrument.
    public var keySwitchRange: ClosedRange<Int>?
    public var keySwitchDefault: Int?
    /// Controller number → the values at which the region plays.
    public var controllerRanges: [Int: ClosedRange<Double>] = [:]
    /// First and last sample frame to play (`offset`, `end`).
    public var offset = 0
    public var end: Int?
    public var loopMode: LoopMode?
    public var loopStart: Int?
    public var loopEnd: Int?
    /// Amplitude envelope, seconds (sustain in percent).
    public var envelope = Envelope()
    /// Decay of release-trigger regions, dB per second the key was held.
    public var releaseDecay = 0.0
    public var group = 0
    public var offBy = 0

    public struct CurvePoint: Equatable, Sendable {
        public var velocity: Int
        public var gain: Double
    }

    public struct Envelope: Equatable, Sendable {
        public var delay = 0.0, attack = 0.0, hold = 0.0, decay = 0.0, sustain = 100.0, release = 0.0
        public init() {}
    }

    /// Reads a region from its merged opcodes; nil when it names no sample.
    /// - Parameter noteOffset: semitones added to every key (`octave_offset` × 12 + `note_offset`).
    public init?(_ opcodes: SfzFile.Opcodes, noteOffset: Int = 0) {
        // "*silence", "*sine" and the other built-in generators are not recordings.
        guard let sample = opcodes["sample"], !sample.isEmpty, !sample.hasPrefix("*") else { return nil }
        self.sample = sample.replacingOccurrences(of: "\\", with: "/")
        func key(_ name: String) -> Int? { opcodes[name].flatMap(SfzRegion.midiKey).map { $0 + noteOffset } }
        // Values from untrusted files: finite, and clamped to what a sampler can use.
        func number(_ name: String) -> Double? {
            opcodes[name].flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0.isFinite ? $0 : nil }
        }
        func integer(_ name: String) -> Int? { number(name).map { Int(max(-1e9, min(1e9, $0))) } }
        func seconds(_ name: String) -> Double { max(0, min(60, number(name) ?? 0)) }
        if let k = key("key") {
            keys = k...k
            pitchKeycenter = k
        }
        let low = key("lokey") ?? keys.lowerBound, high = key("hikey") ?? keys.upperBound
        keys = min(low, high)...max(low, high)
        if let center = opcodes["pitch_keycenter"] {
            pitchKeycenter = center == "sample" ? pitchKeycenter : (SfzRegion.midiKey(center).map { $0 + noteOffset } ?? pitchKeycenter)
        }
        let lowVelocity = max(0, integer("lovel") ?? 1), highVelocity = min(127, integer("hivel") ?? 127)
        velocities = min(lowVelocity, highVelocity)...max(lowVelocity, highVelocity)
        pitchKeytrack = max(-1_200, min(1_200, number("pitch_keytrack") ?? 100))
        transpose = max(-127, min(127, integer("transpose") ?? 0))
        tune = max(-9_600, min(9_600, number("tune") ?? number("pitch") ?? 0))
        volume = max(-144, min(24, number("volume") ?? 0))
        amplitude = max(0, min(100, number("amplitude") ?? 100))
        pan = max(-100, min(100, number("pan") ?? 0))
        velocityTrack = number("amp_veltrack") ?? 100
        velocityCurve = opcodes.compactMap { name, value -> CurvePoint? in
            guard name.hasPrefix("amp_velcurve_"), let v = Int(name.dropFirst("amp_velcurve_".count)), (0...127).contains(v),
                  let g = Double(value), g.isFinite else { return nil }
            return CurvePoint(velocity: v, gain: max(0, min(1, g)))
        }.sorted { ($0.velocity, $0.gain) < ($1.velocity, $1.gain) }
        sequenceLength = max(1, integer("seq_length") ?? 1)
        sequencePosition = max(1, integer("seq_position") ?? 1)
        let lowRandom = max(0, min(1, number("lorand") ?? 0))
        randomRange = lowRandom..<max(lowRandom, min(1, number("hirand") ?? 1))
        trigger = opcodes["trigger"].flatMap(Trigger.init(rawValue:)) ?? .attack
        keySwitchLast = key("sw_last")
        if let low = key("sw_lokey"), let high = key("sw_hikey") { keySwitchRange = min(low, high)...max(low, high) }
        keySwitchDefault = key("sw_default")
        // In name order, so a region naming both forms of a controller reads the same way
        // in every run; the high-resolution form (hdcc) comes last and wins.
        for name in opcodes.keys.sorted() {
            for (prefix, scale) in [("locc", 1.0), ("lohdcc", 127.0)] where name.hasPrefix(prefix) {
                guard let cc = Int(name.dropFirst(prefix.count)), let low = number(name) else { continue }
                let highName = (prefix == "locc" ? "hicc" : "hihdcc") + String(cc)
                let high = (number(highName) ?? (prefix == "locc" ? 127 : 1)) * scale
                controllerRanges[cc] = min(low * scale, high)...max(low * scale, high)
            }
            if name.hasPrefix("hicc"), let cc = Int(name.dropFirst(4)), controllerRanges[cc] == nil, opcodes["locc\(cc)"] == nil, let high = number(name) {
                controllerRanges[cc] = 0...max(0, high)
            }
        }
        offset = max(0, integer("offset") ?? 0)
        end = integer("end").map { max(0, $0) }
        loopMode = (opcodes["loop_mode"] ?? opcodes["loopmode"]).flatMap(LoopMode.init(rawValue:))
        loopStart = integer("loop_start") ?? integer("loopstart")
        loopEnd = integer("loop_end") ?? integer("loopend")
        envelope.delay = seconds("ampeg_delay")
        envelope.attack = seconds("ampeg_attack")
        envelope.hold = seconds("ampeg_hold")
        envelope.decay = seconds("ampeg_decay")
        envelope.sustain = min(100, max(0, number("ampeg_sustain") ?? 100))
        envelope.release = seconds("ampeg_release")
        releaseDecay = max(0, min(200, number("rt_decay") ?? 0))
        group = integer("group") ?? 0
        offBy = integer("off_by") ?? 0
    }

    /// A MIDI key from a number ("60") or a note name ("c4", "C#4", "db3"), where c4 is 60
    /// as in the SFZ specification.
    public static func midiKey(_ text: String) -> Int? {
        let value = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let number = Int(value) { return (-1...127).contains(number) ? number : nil }
        let letters: [Character: Int] = ["c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11]
        guard let first = value.first, let base = letters[first] else { return nil }
        var rest = value.dropFirst()
        var semitone = base
        if rest.first == "#" { semitone += 1; rest = rest.dropFirst() } else if rest.first == "b" && rest.count > 1 { semitone -= 1; rest = rest.dropFirst() }
        guard let octave = Int(rest) else { return nil }
        let key = (octave + 1) * 12 + semitone
        return (0...127).contains(key) ? key : nil
    }

    /// Linear gain for `velocity`: the velocity curve's points when given, else the
    /// specification's default curve (velocity/127)², tempered by `amp_veltrack` (a
    /// negative tracking, which inverts the curve, is taken as none).
    public func velocityGain(_ velocity: Int) -> Double {
        if !velocityCurve.isEmpty {
            var points = velocityCurve
            if points.first!.velocity > 0 { points.insert(CurvePoint(velocity: 0, gain: 0), at: 0) }
            if points.last!.velocity < 127 { points.append(CurvePoint(velocity: 127, gain: 1)) }
            let v = max(0, min(127, velocity))
            for (a, b) in zip(points, points.dropFirst()) where v >= a.velocity && v <= b.velocity {
                let t = b.velocity == a.velocity ? 1 : Double(v - a.velocity) / Double(b.velocity - a.velocity)
                return a.gain + t * (b.gain - a.gain)
            }
            return points.last!.gain
        }
        let curve = pow(Double(max(1, min(127, velocity))) / 127, 2)
        let track = max(0, min(1, velocityTrack / 100))
        return 1 - track * (1 - curve)
    }
}
