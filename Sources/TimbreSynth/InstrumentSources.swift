/// How an instrument is played: decides the kind of phrase the composer writes.
public enum Idiom: String, Sendable, CaseIterable {
    /// Single-line melodies (winds, bowed strings, trumpet).
    case melody
    /// Sung lines: long legato notes with vibrato.
    case voice
    /// Two hands: chords, arpeggios, melody over bass.
    case keyboard
    /// Sustained chords with a pedal bass.
    case organ
    /// Strummed and finger-picked chord shapes.
    case acousticGuitar
    /// Power chords, riffs, clean arpeggios and lead lines.
    case electricGuitar
    /// Root-fifth, walking and octave bass lines.
    case bassLine
    /// Grooves with fills, in General MIDI drum keys.
    case drums
}

/// Where one class's sounds come from and how they are played.
public struct InstrumentSource: Sendable {
    public let code: String
    public let idiom: Idiom
    /// MIDI key range the parts are written in.
    public let range: ClosedRange<Int>
    /// SoundFont presets used for the training split.
    public let presets: [Preset]
    /// Presets that only the held-out split plays (other programs of the same class);
    /// empty where General MIDI has no second program for the class.
    public let heldOutPresets: [Preset]

    /// The presets a split may use: the held-out split adds the held-out presets to the
    /// training ones.
    public func presets(for split: SynthSplit) -> [Preset] {
        switch split {
        case .train: return presets
        case .heldOut: return heldOutPresets.isEmpty ? presets : heldOutPresets + presets
        }
    }
}

/// Training data or honest validation data: the held-out split uses other seeds and
/// take numbers, and adds SoundFont programs and drum kits the training split never plays
/// where a class has them (cello, clarinet, flute, trumpet and voice have none).
public enum SynthSplit: String, Sendable, CaseIterable {
    case train
    case heldOut = "held-out"
}

/// The 13 classes' sources in the FluidR3 General MIDI SoundFont (fluid-soundfont-gm).
/// Bank 8 holds FluidR3's variation programs (12-string guitar, slow violin, church organ
/// 2...), which serve as held-out programs.
public enum InstrumentSources {
    public static let all: [InstrumentSource] = [
        .init(code: "cel", idiom: .melody, range: 36...76, presets: [p(42)], heldOutPresets: []),
        .init(code: "cla", idiom: .melody, range: 50...91, presets: [p(71)], heldOutPresets: []),
        .init(code: "flu", idiom: .melody, range: 60...96, presets: [p(73), p(72)], heldOutPresets: []),
        .init(code: "gac", idiom: .acousticGuitar, range: 40...81, presets: [p(24), p(25)], heldOutPresets: [p(25, bank: 8)]),
        .init(code: "gel", idiom: .electricGuitar, range: 40...86, presets: [p(26), p(27), p(29), p(30), p(28)], heldOutPresets: [p(28, bank: 8)]),
        .init(code: "org", idiom: .organ, range: 36...84, presets: [p(16), p(17), p(18), p(20), p(19)], heldOutPresets: [p(16, bank: 8), p(19, bank: 8)]),
        .init(code: "pia", idiom: .keyboard, range: 33...96, presets: [p(0), p(2), p(3), p(4), p(5)], heldOutPresets: [p(1), p(4, bank: 8)]),
        .init(code: "sax", idiom: .melody, range: 44...80, presets: [p(64), p(65), p(67)], heldOutPresets: [p(66)]),
        .init(code: "tru", idiom: .melody, range: 54...84, presets: [p(56), p(59)], heldOutPresets: []),
        .init(code: "vio", idiom: .melody, range: 55...100, presets: [p(40)], heldOutPresets: [p(40, bank: 8)]),
        .init(code: "voi", idiom: .voice, range: 48...79, presets: [p(52), p(53)], heldOutPresets: []),
        .init(code: "dru", idiom: .drums, range: 35...81, presets: [p(0, bank: 128), p(8, bank: 128), p(16, bank: 128), p(32, bank: 128), p(40, bank: 128)], heldOutPresets: [p(1, bank: 128), p(25, bank: 128)]),
        .init(code: "bas", idiom: .bassLine, range: 28...55, presets: [p(33), p(35), p(36), p(37)], heldOutPresets: [p(34)]),
    ]

    public static func source(for code: String) -> InstrumentSource? { all.first { $0.code == code } }

    private static func p(_ program: Int, bank: Int = 0) -> Preset { Preset(bank: bank, program: program) }
}
