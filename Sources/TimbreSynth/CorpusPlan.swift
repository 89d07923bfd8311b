import Foundation
import TimbreAudio
import TimbreCore

/// Everything decided about one part before any audio exists, from the corpus seed and the
/// part's number alone: what plays, how, and through which recording chain. Planning is
/// cheap and pure, so the manifest and resumption never need the audio.
public struct PartPlan: Sendable {
    public let code: String
    public let patch: Patch
    public let detuneCents: Double
    public let vibrato: Int
    /// For drums: one piece of the kit alone (a close-miked track), or nil for the kit.
    public let drumPiece: PhraseComposer.DrumPieces?
    public var chain: AugmentationChain
    /// Seed of the notes and noise (independent of the planning draws).
    public let renderSeed: UInt64
}

/// A solo take: one performance cut into `excerpts` consecutive 3-s files, the way IRMAS
/// cuts a song into excerpts.
public struct TakePlan: Sendable {
    public let number: Int
    public let context: MusicalContext
    public let lead: PartPlan
    /// A quieter second instrument playing along (IRMAS excerpts are rarely solo).
    public let accompaniment: PartPlan?
    /// Accompaniment level relative to the lead, in dB.
    public let accompanimentDB: Double
    public let excerpts: Int
    public let excerptSeconds: Double
    /// A lossy codec the finished take went through, and its compression level.
    public let codec: (codec: CodecRoundTrip.Codec, level: Double)?
}

/// A multitrack song: drums, bass, a harmony instrument and a lead.
public struct SongPlan: Sendable {
    public let number: Int
    public let context: MusicalContext
    public let parts: [PartPlan]
    /// Per part, the bars in which it is silent (arrangement: parts enter and drop out).
    public let restingBars: [[Int]]
    public let seconds: Double
    /// The part carrying the melody, if any.
    public let leadIndex: Int?
}

/// Draws plans for a split of the corpus.
public struct CorpusPlanner: Sendable {
    public let seed: UInt64
    public let split: SynthSplit
    public let augment: Bool
    /// Classes with at least one patch in the catalogue, in taxonomy order.
    public let classes: [String]
    /// The patches this split plays.
    public let catalogue: SoundCatalogue
    /// Share of songs whose lead is a singer; nil leaves voice one lead among the others.
    /// Decided on its own random stream, so the rest of each song stays as it was.
    public var songVoiceShare: Double?

    public init(seed: UInt64, split: SynthSplit, augment: Bool, classes: [String], catalogue: SoundCatalogue) {
        self.seed = seed
        self.split = split
        self.augment = augment
        self.catalogue = catalogue
        let playable = catalogue.codes
        self.classes = classes.filter(playable.contains)
    }

    /// Numbers of the held-out split start here, so groups of the two splits never
    /// coincide even when both are prepared into one file.
    public var firstNumber: Int { split == .train ? 1 : 50_001 }

    private func generator(_ kind: UInt64, _ index: Int) -> SeededGenerator {
        SeededGenerator(seed: seed ^ (split == .train ? 0 : 0x5EED_0F0D_D5), stream: kind << 32 | UInt64(index))
    }

    /// Most takes per class: numbers must stay below the held-out range.
    public static let maximumTakesPerClass = 3_800

    /// The `index`-th take of class `code`.
    public func take(code: String, index: Int, takesPerClass: Int, excerpts: Int, excerptSeconds: Double) -> TakePlan {
        let classIndex = InstrumentSources.all.firstIndex { $0.code == code } ?? 0
        let number = firstNumber + classIndex * takesPerClass + index
        var rng = generator(1, number)
        let context = MusicalContext.random(using: &rng)
        let lead = part(code: code, strength: 1, solo: true, rng: &rng)
        var accompaniment: PartPlan?
        var accompanimentDB = 0.0
        if augment && rng.chance(0.35) {
            let others = classes.filter { $0 != code }
            if !others.isEmpty {
                accompaniment = part(code: rng.pick(others), strength: 0.3, solo: false, rng: &rng)
                accompanimentDB = rng.uniform(-26, -14)
            }
        }
        var codec: (CodecRoundTrip.Codec, Double)?
        if augment && rng.chance(0.25) { codec = (rng.pick(CodecRoundTrip.Codec.allCases), rng.uniform(0.5, 1)) }
        return TakePlan(number: number, context: context, lead: lead, accompaniment: accompaniment, accompanimentDB: accompanimentDB,
                        excerpts: excerpts, excerptSeconds: excerptSeconds, codec: codec)
    }

    /// The `index`-th song.
    public func song(index: Int, seconds: Double) -> SongPlan {
        let number = firstNumber + index
        var rng = generator(2, number)
        var context = MusicalContext.random(using: &rng, tempo: 80...140)
        context.beatsPerBar = 4
        let harmonies = ["pia", "org", "gac", "gel"].filter(classes.contains)
        let harmony = harmonies.isEmpty ? nil : rng.pick(harmonies)
        let leads = ["voi", "sax", "tru", "flu", "cla", "vio", "gel", "pia", "cel"].filter { classes.contains($0) && $0 != harmony }
        var codes = ["dru", "bas"].filter(classes.contains) + (harmony.map { [$0] } ?? [])
        if !leads.isEmpty {
            var lead = rng.pick(leads)
            var voiceDraw = generator(3, number)
            if let share = songVoiceShare, leads.contains("voi"), voiceDraw.chance(share) { lead = "voi" }
            codes.append(lead)
        }
        let extras = leads.filter { !codes.contains($0) }
        if rng.chance(0.3), !extras.isEmpty { codes.append(rng.pick(extras)) }
        let levels: [String: Double] = ["dru": -19, "bas": -22, harmony ?? "": -24]
        var parts: [PartPlan] = []
        var resting: [[Int]] = []
        let bars = Int((seconds / context.secondsPerBar).rounded(.up))
        for code in codes {
            var plan = part(code: code, strength: 0.4, solo: false, rng: &rng)
            plan.chain.levelDB = (levels[code] ?? -21) + rng.uniform(-3, 3)
            parts.append(plan)
            // Drums and bass play throughout; others enter late or rest for a phrase.
            var rests: [Int] = []
            if !["dru", "bas"].contains(code) {
                if rng.chance(0.5) { rests += Array(0..<min(bars, rng.integer(1...2) * 2)) }
                for phrase in stride(from: 4, to: bars, by: 4) where rng.chance(0.25) { rests += Array(phrase..<min(bars, phrase + 4)) }
                // A part that would rest in every bar (a short, slow song) plays its last
                // phrase: a stem is never silence under an instrument's name.
                if Set(rests).count >= bars { rests.removeAll { $0 >= (bars - 1) / 4 * 4 } }
            }
            resting.append(rests)
        }
        return SongPlan(number: number, context: context, parts: parts, restingBars: resting, seconds: seconds,
                        leadIndex: codes.firstIndex { $0 != harmony && !["dru", "bas"].contains($0) })
    }

    /// A part of class `code`: a sound family drawn first (so a family with many presets
    /// does not crowd out one with few), then one of its patches; solo drum takes are
    /// sometimes one piece of the kit alone.
    private func part(code: String, strength: Double, solo: Bool, rng: inout SeededGenerator) -> PartPlan {
        let instrument = InstrumentSources.source(for: code)!
        let families = catalogue.byFamily(code: code)
        let patch = rng.pick(rng.pick(families))
        let vibrato: Int
        switch instrument.idiom {
        case .voice: vibrato = rng.integer(30...90)
        case .melody: vibrato = rng.integer(0...60)
        default: vibrato = 0
        }
        let piece: PhraseComposer.DrumPieces? = instrument.idiom == .drums && solo && augment && rng.chance(0.3)
            ? rng.pick(PhraseComposer.DrumPieces.allCases) : nil
        let chain = augment ? AugmentationChain.random(using: &rng, strength: strength, code: code) : .levelOnly(-20)
        return PartPlan(code: code, patch: patch, detuneCents: augment ? rng.uniform(-30, 30) : 0, vibrato: vibrato, drumPiece: piece,
                        chain: chain, renderSeed: rng.next())
    }
}
