import TimbreCore

/// What the players of one take (or one song) agree on: tempo, metre, key and chords.
public struct MusicalContext: Sendable {
    public var tempo: Double
    public var beatsPerBar: Int
    /// Pitch class of the tonic, 0 = C.
    public var tonic: Int
    /// Scale steps in semitones from the tonic.
    public var scale: [Int]
    /// One chord per bar, as a scale degree (0 = tonic).
    public var progression: [Int]
    /// Delay of off-beat eighths as a fraction of a beat (0 straight, ~0.16 swung).
    public var swing: Double

    public static let major = [0, 2, 4, 5, 7, 9, 11]
    public static let minor = [0, 2, 3, 5, 7, 8, 10]
    public static let dorian = [0, 2, 3, 5, 7, 9, 10]
    public static let mixolydian = [0, 2, 4, 5, 7, 9, 10]

    /// A plausible random context: common tempos, keys, modes and progressions.
    public static func random(using rng: inout SeededGenerator, tempo: ClosedRange<Double> = 66...150) -> MusicalContext {
        let scales = [major, major, minor, minor, dorian, mixolydian]
        let progressions = [[0, 4, 5, 3], [0, 3, 4, 0], [1, 4, 0, 0], [0, 5, 3, 4], [0, 0, 3, 4], [5, 3, 0, 4], [0, 6, 5, 4], [0, 3, 0, 4]]
        return MusicalContext(
            tempo: tempo.lowerBound + Double(rng.nextUnit()) * (tempo.upperBound - tempo.lowerBound),
            beatsPerBar: rng.nextUnit() < 0.15 ? 3 : 4,
            tonic: Int(rng.next() % 12),
            scale: scales[Int(rng.next() % UInt64(scales.count))],
            progression: progressions[Int(rng.next() % UInt64(progressions.count))],
            swing: rng.nextUnit() < 0.25 ? 0.16 : 0)
    }

    public var secondsPerBeat: Double { 60 / tempo }
    public var secondsPerBar: Double { secondsPerBeat * Double(beatsPerBar) }

    /// Time in seconds of a position in beats, with swing applied to off-beat eighths.
    public func time(ofBeat beat: Double) -> Double {
        let fraction = beat - beat.rounded(.down)
        let swung = abs(fraction - 0.5) < 1e-6 ? beat + swing : beat
        return swung * secondsPerBeat
    }

    /// Pitch classes of the chord in `bar`: a triad on the scale degree, sometimes a seventh.
    public func chord(atBar bar: Int, seventh: Bool = false) -> [Int] {
        let degree = progression[bar % progression.count]
        let steps = seventh ? [0, 2, 4, 6] : [0, 2, 4]
        return steps.map { (tonic + scale[(degree + $0) % scale.count] + 12 * ((degree + $0) / scale.count)) % 12 }
    }

    /// Root pitch class of the chord in `bar`.
    public func root(atBar bar: Int) -> Int { chord(atBar: bar)[0] }

    /// MIDI keys of the scale inside `range`, ascending.
    public func scaleKeys(in range: ClosedRange<Int>) -> [Int] {
        range.filter { scale.contains(((($0 - tonic) % 12) + 12) % 12) }
    }

    /// MIDI keys whose pitch class is in `pitchClasses`, inside `range`, ascending.
    public static func keys(of pitchClasses: [Int], in range: ClosedRange<Int>) -> [Int] {
        range.filter { pitchClasses.contains($0 % 12) }
    }
}
