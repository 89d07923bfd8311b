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

/// How one class is played: the idiom its parts are composed in and their key range.
/// Which recordings play it comes from the `SoundCatalogue`.
public struct InstrumentSource: Sendable {
    public let code: String
    public let idiom: Idiom
    /// MIDI key range the parts are written in.
    public let range: ClosedRange<Int>
}

/// Training data or honest validation data: the held-out split uses other seeds and
/// take numbers, and adds the catalogue's held-out patches (other programs and drum kits
/// of a source) where a class has them.
public enum SynthSplit: String, Sendable, CaseIterable {
    case train
    case heldOut = "held-out"
}

/// The 13 classes' idioms and ranges.
public enum InstrumentSources {
    public static let all: [InstrumentSource] = [
        .init(code: "cel", idiom: .melody, range: 36...76),
        .init(code: "cla", idiom: .melody, range: 50...91),
        .init(code: "flu", idiom: .melody, range: 60...96),
        .init(code: "gac", idiom: .acousticGuitar, range: 40...81),
        .init(code: "gel", idiom: .electricGuitar, range: 40...86),
        .init(code: "org", idiom: .organ, range: 36...84),
        .init(code: "pia", idiom: .keyboard, range: 33...96),
        .init(code: "sax", idiom: .melody, range: 44...80),
        .init(code: "tru", idiom: .melody, range: 54...84),
        .init(code: "vio", idiom: .melody, range: 55...100),
        .init(code: "voi", idiom: .voice, range: 48...79),
        .init(code: "dru", idiom: .drums, range: 35...81),
        .init(code: "bas", idiom: .bassLine, range: 28...55),
    ]

    public static func source(for code: String) -> InstrumentSource? { all.first { $0.code == code } }
}
