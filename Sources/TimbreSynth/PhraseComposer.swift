import TimbreCore

/// Writes the notes of one part in an instrument's idiom: melodies that move mostly by
/// step, voiced chords, strums, bass lines and drum grooves, varied in rhythm, register,
/// articulation and dynamics so that no two takes are alike.
public enum PhraseComposer {
    /// Notes covering `seconds` of music in `context`, for an instrument of `idiom`
    /// playing in `range`.
    public static func compose(_ idiom: Idiom, range: ClosedRange<Int>, context: MusicalContext, seconds: Double, rng: inout SeededGenerator) -> [Note] {
        let beats = seconds / context.secondsPerBeat + 1
        switch idiom {
        case .melody: return melody(range: range, context: context, beats: beats, longNotes: false, rng: &rng)
        case .voice: return melody(range: range, context: context, beats: beats, longNotes: true, rng: &rng)
        case .keyboard: return keyboard(range: range, context: context, beats: beats, rng: &rng)
        case .organ: return organ(range: range, context: context, beats: beats, rng: &rng)
        case .acousticGuitar: return acousticGuitar(context: context, beats: beats, rng: &rng)
        case .electricGuitar: return electricGuitar(range: range, context: context, beats: beats, rng: &rng)
        case .bassLine: return bassLine(range: range, context: context, beats: beats, rng: &rng)
        case .drums: return drumGroove(context: context, beats: beats, rng: &rng)
        }
    }

    // MARK: Lines

    /// A single line: mostly steps along the scale, some leaps, rests and breaths; a random
    /// part of the range (a register), articulation and dynamic level per phrase.
    static func melody(range: ClosedRange<Int>, context: MusicalContext, beats: Double, longNotes: Bool, rng: inout SeededGenerator) -> [Note] {
        let span = range.count
        let width = max(12, min(span, rng.integer(12...22)))
        let low = range.lowerBound + rng.integer(0...max(0, span - width))
        let keys = context.scaleKeys(in: low...(low + width - 1))
        guard !keys.isEmpty else { return [] }
        let lengths: [Double] = [0.25, 0.5, 0.75, 1, 1.5, 2, 3]
        let weights: [Double] = longNotes ? [0, 1, 0.5, 4, 2, 3, 1.5] : [rng.uniform(0, 2), 4, 1, 4, 1.5, 1.5, 0.5]
        let articulation = longNotes ? rng.uniform(0.85, 1.0) : rng.pick([0.45, 0.7, 0.9, 0.97])
        var level = rng.uniform(50, 112)
        var index = rng.integer(0...(keys.count - 1))
        var beat = rng.chance(0.3) ? rng.uniform(0, 1) : 0
        var notes: [Note] = []
        var sinceBreath = 0.0
        while beat < beats {
            let length = lengths[rng.weighted(weights)]
            if rng.chance(0.08) || sinceBreath > rng.uniform(6, 12) {
                beat += rng.pick([0.5, 1])
                sinceBreath = 0
                level = (level + rng.uniform(-15, 15)).clamped(40, 120)
                continue
            }
            let step = [-4, -3, -2, -1, 1, 2, 3, 4, 0][rng.weighted([0.3, 0.5, 2, 4, 4, 2, 0.5, 0.3, 0.6])]
            index += step
            if index < 0 { index = -index }
            if index >= keys.count { index = max(0, 2 * (keys.count - 1) - index) }
            let velocity = Int((level + rng.uniform(-8, 8)).clamped(20, 127))
            let start = context.time(ofBeat: beat)
            notes.append(Note(start: start, duration: length * context.secondsPerBeat * articulation, key: keys[index], velocity: velocity))
            beat += length
            sinceBreath += length
        }
        return notes
    }

    /// Bass: the chord root on strong beats, with fifths, octaves and approach notes.
    static func bassLine(range: ClosedRange<Int>, context: MusicalContext, beats: Double, rng: inout SeededGenerator) -> [Note] {
        let pattern = rng.integer(0...3)
        let level = rng.uniform(70, 115)
        let articulation = rng.pick([0.5, 0.8, 0.95])
        var notes: [Note] = []
        let bars = Int((beats / Double(context.beatsPerBar)).rounded(.up))
        for bar in 0..<bars {
            let rootKeys = MusicalContext.keys(of: [context.root(atBar: bar)], in: range.lowerBound...(range.lowerBound + 16))
            let root = rootKeys.first ?? range.lowerBound
            let nextRoot = MusicalContext.keys(of: [context.root(atBar: bar + 1)], in: range.lowerBound...(range.lowerBound + 16)).first ?? root
            var steps: [(beat: Double, key: Int, length: Double)] = []
            let barBeats = Double(context.beatsPerBar)
            switch pattern {
            case 0: // eighth-note root pulse
                steps = stride(from: 0.0, to: barBeats, by: 0.5).map { ($0, root, 0.5) }
            case 1: // root and fifth
                steps = stride(from: 0.0, to: barBeats, by: 1).map { ($0, Int($0) % 2 == 0 ? root : root + 7, 1) }
            case 2: // walking
                let scale = context.scaleKeys(in: root...(root + 12))
                steps = (0..<context.beatsPerBar).map { beat in
                    let key = beat == 0 ? root : beat == context.beatsPerBar - 1 ? nextRoot + (rng.chance(0.5) ? 1 : -1) : rng.pick(scale)
                    return (Double(beat), key, 1)
                }
            default: // syncopated octaves
                steps = [(0, root, 0.75), (0.75, root, 0.25), (1.5, root + 12, 0.5), (2, root, 1), (3, root + 7, 0.5), (3.5, root + 12, 0.5)]
                    .filter { $0.0 < barBeats }
            }
            for step in steps {
                let beat = Double(bar) * barBeats + step.beat
                guard beat < beats else { break }
                notes.append(Note(start: context.time(ofBeat: beat), duration: step.length * context.secondsPerBeat * articulation,
                                  key: step.key.clamped(range.lowerBound, range.upperBound), velocity: Int((level + rng.uniform(-10, 10)).clamped(30, 127))))
            }
        }
        return notes
    }

    // MARK: Chords

    /// A close voicing of `chord` starting at or above `bottom`.
    static func voicing(_ chord: [Int], from bottom: Int, notes count: Int) -> [Int] {
        var keys: [Int] = []
        var key = bottom
        while keys.count < count && key < 128 {
            if chord.contains(key % 12) { keys.append(key) }
            key += 1
        }
        return keys
    }

    /// Piano: block chords under a melody, broken-chord arpeggios, or comping with a bass.
    static func keyboard(range: ClosedRange<Int>, context: MusicalContext, beats: Double, rng: inout SeededGenerator) -> [Note] {
        let style = rng.integer(0...2)
        let level = rng.uniform(45, 110)
        let bars = Int((beats / Double(context.beatsPerBar)).rounded(.up))
        let barBeats = Double(context.beatsPerBar)
        let leftBottom = rng.integer(max(range.lowerBound, 36)...48)
        var notes: [Note] = []
        for bar in 0..<bars {
            let chord = context.chord(atBar: bar, seventh: rng.chance(0.3))
            let barStart = Double(bar) * barBeats
            let velocity = { (rng: inout SeededGenerator) in Int((level + rng.uniform(-10, 10)).clamped(25, 127)) }
            switch style {
            case 0: // left-hand chord per bar or half bar
                for half in stride(from: 0.0, to: barBeats, by: barBeats / 2) {
                    for key in voicing(chord, from: leftBottom + 7, notes: 3) {
                        notes.append(Note(start: context.time(ofBeat: barStart + half), duration: barBeats / 2 * context.secondsPerBeat * 0.95, key: key, velocity: velocity(&rng) - 10))
                    }
                }
                notes.append(Note(start: context.time(ofBeat: barStart), duration: barBeats * context.secondsPerBeat, key: voicing(chord, from: leftBottom - 12, notes: 1)[0], velocity: velocity(&rng) - 5))
            case 1: // broken chords in eighths over two octaves
                let tones = voicing(chord, from: leftBottom, notes: rng.integer(4...7))
                let pattern = rng.chance(0.5) ? tones : tones + tones.dropFirst().dropLast().reversed()
                for (step, beat) in stride(from: 0.0, to: barBeats, by: 0.5).enumerated() {
                    notes.append(Note(start: context.time(ofBeat: barStart + beat), duration: context.secondsPerBeat * rng.uniform(0.6, 1.8), key: pattern[step % pattern.count], velocity: velocity(&rng)))
                }
            default: // comping on off-beats with a bass note
                notes.append(Note(start: context.time(ofBeat: barStart), duration: context.secondsPerBeat * 1.8, key: voicing(chord, from: leftBottom - 8, notes: 1)[0], velocity: velocity(&rng)))
                for beat in [0.5, 1.5, 2.5, 3.5].filter({ $0 < barBeats }) where rng.chance(0.7) {
                    for key in voicing(chord, from: leftBottom + 10, notes: 4) {
                        notes.append(Note(start: context.time(ofBeat: barStart + beat), duration: context.secondsPerBeat * 0.4, key: key, velocity: velocity(&rng) - 8))
                    }
                }
            }
        }
        if style != 1 || rng.chance(0.5) {
            notes += melody(range: 60...min(range.upperBound, 91), context: context, beats: beats, longNotes: false, rng: &rng)
        }
        return notes
    }

    /// Organ: held chords, a pedal bass, sometimes a melody on top.
    static func organ(range: ClosedRange<Int>, context: MusicalContext, beats: Double, rng: inout SeededGenerator) -> [Note] {
        let level = rng.uniform(70, 115)
        let bars = Int((beats / Double(context.beatsPerBar)).rounded(.up))
        let barBeats = Double(context.beatsPerBar)
        let bottom = rng.integer(48...58)
        let rhythmic = rng.chance(0.35)
        var notes: [Note] = []
        for bar in 0..<bars {
            let chord = context.chord(atBar: bar, seventh: rng.chance(0.3))
            let barStart = Double(bar) * barBeats
            let hits: [(Double, Double)] = rhythmic ? [(0, 1.5), (1.5, 1), (2.5, 1.5)].filter { $0.0 < barBeats } : [(0, barBeats)]
            for (beat, length) in hits {
                for key in voicing(chord, from: bottom, notes: rng.integer(3...4)) {
                    notes.append(Note(start: context.time(ofBeat: barStart + beat), duration: length * context.secondsPerBeat * 0.97, key: key, velocity: Int(level)))
                }
            }
            if rng.chance(0.6) {
                notes.append(Note(start: context.time(ofBeat: barStart), duration: barBeats * context.secondsPerBeat, key: voicing(chord, from: 36, notes: 1)[0], velocity: Int(level)))
            }
        }
        if rng.chance(0.5) {
            notes += melody(range: 67...min(range.upperBound, 88), context: context, beats: beats, longNotes: false, rng: &rng)
        }
        return notes
    }

    /// Open strings of a guitar in standard tuning, low to high.
    static let guitarStrings = [40, 45, 50, 55, 59, 64]

    /// A chord shape: on each string the lowest fret in a hand position that sounds a chord
    /// tone; low strings that would put a non-root in the bass are left out.
    static func guitarShape(_ chord: [Int], position: Int) -> [Int] {
        var keys: [Int] = []
        for open in guitarStrings {
            if let fret = (position...(position + 4)).first(where: { chord.contains((open + $0) % 12) }) ?? (position == 0 ? nil : (0...4).first(where: { chord.contains((open + $0) % 12) })) {
                let key = open + fret
                if keys.isEmpty && key % 12 != chord[0] && open < 50 { continue }
                keys.append(key)
            }
        }
        return keys
    }

    /// Acoustic guitar: strummed patterns (downs low to high, ups on the top strings) or
    /// finger-picked arpeggios of chord shapes.
    static func acousticGuitar(context: MusicalContext, beats: Double, rng: inout SeededGenerator) -> [Note] {
        let picked = rng.chance(0.4)
        let level = rng.uniform(55, 110)
        let position = rng.pick([0, 0, 2, 3, 5])
        let spread = rng.uniform(0.008, 0.025)
        let strumPatterns: [[(Double, Bool)]] = [
            [(0, true), (1, true), (1.5, false), (2.5, false), (3, true), (3.5, false)],
            [(0, true), (0.5, false), (1, true), (1.5, false), (2, true), (2.5, false), (3, true), (3.5, false)],
            [(0, true), (1, true), (2, true), (3, true)],
        ]
        let strums = rng.pick(strumPatterns)
        let bars = Int((beats / Double(context.beatsPerBar)).rounded(.up))
        let barBeats = Double(context.beatsPerBar)
        var notes: [Note] = []
        for bar in 0..<bars {
            let shape = guitarShape(context.chord(atBar: bar), position: position)
            guard !shape.isEmpty else { continue }
            let barStart = Double(bar) * barBeats
            if picked {
                let order = [0, 2, 3, 4, 1, 3, 4, 5].map { min($0, shape.count - 1) }
                for (step, beat) in stride(from: 0.0, to: barBeats, by: 0.5).enumerated() {
                    notes.append(Note(start: context.time(ofBeat: barStart + beat), duration: context.secondsPerBeat * rng.uniform(1, 2.5),
                                      key: shape[order[step % order.count]], velocity: Int((level + rng.uniform(-12, 8)).clamped(25, 127))))
                }
            } else {
                for (beat, down) in strums where beat < barBeats {
                    let strings = down ? shape : Array(shape.suffix(rng.integer(3...4)).reversed())
                    let start = context.time(ofBeat: barStart + beat)
                    let accent = down ? 0.0 : -12
                    for (order, key) in strings.enumerated() {
                        notes.append(Note(start: start + Double(order) * spread, duration: context.secondsPerBeat * rng.uniform(0.9, 1.6),
                                          key: key, velocity: Int((level + accent + rng.uniform(-8, 8)).clamped(25, 127))))
                    }
                }
            }
        }
        return notes
    }

    /// Electric guitar: eighth-note power chords (palm-muted or ringing), clean
    /// arpeggios, or a lead line high on the neck.
    static func electricGuitar(range: ClosedRange<Int>, context: MusicalContext, beats: Double, rng: inout SeededGenerator) -> [Note] {
        let style = rng.integer(0...2)
        if style == 2 { return melody(range: 52...range.upperBound, context: context, beats: beats, longNotes: false, rng: &rng) }
        if style == 1 { return acousticGuitar(context: context, beats: beats, rng: &rng) }
        let level = rng.uniform(70, 120)
        let muted = rng.chance(0.5)
        let bars = Int((beats / Double(context.beatsPerBar)).rounded(.up))
        let barBeats = Double(context.beatsPerBar)
        var notes: [Note] = []
        for bar in 0..<bars {
            let root = MusicalContext.keys(of: [context.root(atBar: bar)], in: 40...51).first ?? 40
            for beat in stride(from: 0.0, to: barBeats, by: muted ? 0.5 : rng.pick([1.0, 2.0])) where rng.chance(0.9) {
                let length = muted ? 0.3 : 0.95
                for key in [root, root + 7, root + 12] {
                    notes.append(Note(start: context.time(ofBeat: Double(bar) * barBeats + beat), duration: length * context.secondsPerBeat * (muted ? 1 : 2),
                                      key: key, velocity: Int((level + rng.uniform(-10, 5)).clamped(30, 127))))
                }
            }
        }
        return notes
    }

    // MARK: Drums

    /// General MIDI drum keys used by the grooves.
    public enum DrumKey {
        public static let kick = 36, sideStick = 37, snare = 38, closedHat = 42, pedalHat = 44, openHat = 46
        public static let lowTom = 45, midTom = 47, highTom = 50, crash = 49, ride = 51

        /// Where a kit lacks a key, the nearest relative it has: another hi-hat, tom or
        /// cymbal, or the snare for a side stick; nil when it has none of them.
        public static func playable(_ key: Int, in available: Set<Int>) -> Int? {
            let fallbacks: [Int: [Int]] = [
                pedalHat: [closedHat], openHat: [closedHat], ride: [closedHat, crash, 59], closedHat: [ride, 44],
                sideStick: [snare, 40], crash: [ride, openHat, 57, 52], snare: [40], kick: [35],
                lowTom: [midTom, 43, 41, 48, highTom], midTom: [lowTom, 48, highTom, 43], highTom: [midTom, 48, lowTom],
            ]
            return ([key] + (fallbacks[key] ?? [])).first { available.contains($0) }
        }
    }

    /// Parts of a drum kit that multitrack recordings often keep on their own tracks
    /// (close microphones on the kick, the snare and the toms; overheads for cymbals).
    public enum DrumPieces: String, Sendable, CaseIterable {
        case kick, snare, toms, cymbals

        /// The General MIDI keys the piece plays.
        public var keys: Set<Int> {
            switch self {
            case .kick: return [DrumKey.kick]
            case .snare: return [DrumKey.snare, DrumKey.sideStick]
            case .toms: return [DrumKey.lowTom, DrumKey.midTom, DrumKey.highTom]
            case .cymbals: return [DrumKey.closedHat, DrumKey.pedalHat, DrumKey.openHat, DrumKey.crash, DrumKey.ride]
            }
        }
    }

    /// A drum part for one piece alone: the groove's notes of that piece, and for toms,
    /// which grooves rarely play, a fill every bar.
    static func drumPiece(_ piece: DrumPieces, context: MusicalContext, seconds: Double, rng: inout SeededGenerator) -> [Note] {
        let beats = seconds / context.secondsPerBeat + 1
        var notes = drumGroove(context: context, beats: beats, rng: &rng).filter { piece.keys.contains($0.key) }
        if piece == .toms {
            let bars = Int((beats / Double(context.beatsPerBar)).rounded(.up))
            for bar in 0..<bars {
                let first = Double(bar * context.beatsPerBar) + Double(context.beatsPerBar) - 2
                for step in 0..<8 where rng.chance(0.75) {
                    let key = [DrumKey.highTom, DrumKey.midTom, DrumKey.lowTom][min(2, step / 3)]
                    notes.append(Note(start: context.time(ofBeat: first + Double(step) * 0.25), duration: 0.2, key: key, velocity: rng.integer(70...120)))
                }
            }
        }
        return notes.sorted { $0.start < $1.start }
    }

    /// A groove in one of five styles (rock eighths, pop syncopation, half-time, jazz ride
    /// with side stick, sixteenth hats) with a fill into the next phrase now and then;
    /// swing comes from the context.
    static func drumGroove(context: MusicalContext, beats: Double, rng: inout SeededGenerator) -> [Note] {
        typealias K = DrumKey
        let style = rng.integer(0...4)
        let level = rng.uniform(65, 120)
        let cymbal = style == 3 ? K.ride : rng.pick([K.closedHat, K.closedHat, K.openHat, K.ride, K.pedalHat])
        let hatStep = style == 4 ? 0.25 : (style == 3 ? 1.0 : 0.5)
        let kicks: [Double] = [[0, 2], [0, 1.5, 2.5], [0, 2.5], [0], [0, 0.75, 2]][style]
        let snares: [Double] = style == 2 ? [2] : [1, 3]
        let backbeat = style == 3 ? K.sideStick : K.snare
        let bars = Int((beats / Double(context.beatsPerBar)).rounded(.up))
        let barBeats = Double(context.beatsPerBar)
        var notes: [Note] = []
        func hit(_ beat: Double, _ key: Int, _ velocity: Double) {
            guard beat < beats else { return }
            notes.append(Note(start: context.time(ofBeat: beat), duration: 0.3, key: key, velocity: Int((velocity + rng.uniform(-8, 8)).clamped(20, 127))))
        }
        for bar in 0..<bars {
            let barStart = Double(bar) * barBeats
            if bar == 0 && rng.chance(0.4) { hit(barStart, K.crash, level) }
            let fill = bar % 4 == 3 && rng.chance(0.5)
            for beat in stride(from: 0.0, to: fill ? barBeats / 2 : barBeats, by: hatStep) {
                hit(barStart + beat, cymbal, level - (beat.truncatingRemainder(dividingBy: 1) == 0 ? 8 : 22))
            }
            for beat in kicks where beat < barBeats { hit(barStart + beat, K.kick, level) }
            for beat in snares where beat < barBeats && (!fill || beat < barBeats / 2) { hit(barStart + beat, backbeat, level - 4) }
            if rng.chance(0.3) { hit(barStart + rng.pick([1.75, 3.75, 2.25]), K.snare, level - 35) }
            if fill {
                let toms = [K.highTom, K.highTom, K.midTom, K.midTom, K.lowTom, K.lowTom, K.snare, K.snare]
                for (step, beat) in stride(from: barBeats / 2, to: barBeats, by: 0.25).enumerated() {
                    hit(barStart + beat, toms[min(step, toms.count - 1)], level - 5)
                }
            }
        }
        return notes
    }
}
