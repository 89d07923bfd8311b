import Foundation
import Testing
import TimbreAudio
import TimbreCore
@testable import TimbreSynth
import TimbreTestSupport

/// A folder holding a tiny SFZ instrument made of sine samples.
private struct TinyInstrument {
    let folder: URL

    init() throws {
        folder = scratchPath("sfz")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("samples"), withIntermediateDirectories: true)
    }

    /// Writes a mono sine of `frequency` Hz and `seconds` as samples/NAME (WAV or FLAC by extension).
    @discardableResult
    func sine(_ name: String, frequency: Double, seconds: Double, amplitude: Double = 0.5, rate: Int = 44_100) throws -> URL {
        let url = folder.appendingPathComponent("samples/\(name)")
        let values = (0..<Int(seconds * Double(rate))).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
        try AudioFileWriter.write(values, sampleRate: rate, to: url)
        return url
    }

    func instrument(_ text: String, name: String = "tiny.sfz") throws -> SfzInstrument {
        let url = folder.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return try SfzInstrument(url: url)
    }
}

private func rms(_ x: ArraySlice<Float>) -> Double {
    (x.reduce(0.0) { $0 + Double($1 * $1) } / Double(max(1, x.count))).squareRoot()
}

private func play(_ instrument: SfzInstrument, _ notes: [Note], seconds: Double) throws -> [Float] {
    var rng = SeededGenerator(seed: 1)
    return try instrument.render(Performance(notes: notes, seconds: seconds), rng: &rng).left
}

struct SfzTests {
    @Test func aRegionPlaysItsKeyRangeAtTheRightPitch() throws {
        let tiny = try TinyInstrument()
        try tiny.sine("a3.wav", frequency: 220, seconds: 1)
        try tiny.sine("a5.wav", frequency: 880, seconds: 1)
        let instrument = try tiny.instrument("""
            <control> default_path=samples/
            <region> sample=a3.wav lokey=48 hikey=59 pitch_keycenter=a3
            <region> sample=a5.wav lokey=c4 hikey=72 pitch_keycenter=81
            """)
        #expect(instrument.playableKeys == Set(48...72))
        for (key, expected) in [(57, 220.0), (59, 220 * pow(2, 2.0 / 12)), (69, 440.0), (72, 880 * pow(2, -9.0 / 12))] {
            let out = try play(instrument, [Note(start: 0, duration: 0.5, key: key, velocity: 127)], seconds: 0.5)
            #expect(abs(frequency(out[2_000..<20_000]) - expected) < 0.5, "key \(key)")
        }
        let outside = try play(instrument, [Note(start: 0, duration: 0.5, key: 40, velocity: 127)], seconds: 0.5)
        #expect(rms(outside[...]) == 0)
    }

    @Test func velocityLayersChooseTheirSample() throws {
        let tiny = try TinyInstrument()
        try tiny.sine("soft.wav", frequency: 300, seconds: 1, amplitude: 0.2)
        try tiny.sine("loud.wav", frequency: 500, seconds: 1, amplitude: 0.8)
        let instrument = try tiny.instrument("""
            <control> default_path=samples/
            <group> key=60 amp_veltrack=0
            <region> sample=soft.wav hivel=63
            <region> sample=loud.wav lovel=64
            """)
        let soft = try play(instrument, [Note(start: 0, duration: 0.5, key: 60, velocity: 40)], seconds: 0.5)
        let loud = try play(instrument, [Note(start: 0, duration: 0.5, key: 60, velocity: 64)], seconds: 0.5)
        #expect(abs(frequency(soft[1_000..<20_000]) - 300) < 0.5)
        #expect(abs(frequency(loud[1_000..<20_000]) - 500) < 0.5)
        // Without velocity tracking each plays at its recorded level (equal-power centre pan).
        #expect(abs(rms(soft[1_000..<20_000]) - 0.2 / 2.squareRoot()) < 0.01)
        #expect(abs(rms(loud[1_000..<20_000]) - 0.8 / 2.squareRoot()) < 0.02)
    }

    @Test func loopPointsSustainANoteBeyondItsSample() throws {
        let tiny = try TinyInstrument()
        // 0.1 s of a 441-Hz sine (100 frames a period): frames 400 to 4399 hold 40 whole
        // periods, which loop seamlessly.
        try tiny.sine("short.wav", frequency: 441, seconds: 0.1)
        let looped = try tiny.instrument("""
            <region> sample=samples/short.wav key=60 loop_mode=loop_continuous loop_start=400 loop_end=4399
            """)
        let out = try play(looped, [Note(start: 0, duration: 1, key: 60, velocity: 127)], seconds: 1.2)
        #expect(rms(out[30_000..<40_000]) > 0.3, "still sounding at 0.8 s")
        #expect(abs(frequency(out[5_000..<40_000]) - 441) < 0.3)
        #expect(rms(out[46_000...]) < 1e-3, "released after the note")
        // The same sample without a loop stops when the sample ends.
        let plain = try tiny.instrument("<region> sample=samples/short.wav key=60", name: "plain.sfz")
        let cut = try play(plain, [Note(start: 0, duration: 1, key: 60, velocity: 127)], seconds: 1.2)
        #expect(rms(cut[1_000..<4_000]) > 0.3 && rms(cut[5_000...]) == 0)
    }

    @Test func loopsStoredInAFlacFileAreFound() throws {
        let tiny = try TinyInstrument()
        let url = try tiny.sine("stored.flac", frequency: 441, seconds: 0.1)
        try insertRiffLoop(into: url, start: 400, end: 4399)
        #expect(SampleLoop.flacLoop(url) == 400..<4400)
        let instrument = try tiny.instrument("<region> sample=samples/stored.flac key=60")
        let out = try play(instrument, [Note(start: 0, duration: 1, key: 60, velocity: 127)], seconds: 1)
        #expect(rms(out[30_000..<40_000]) > 0.3, "the stored loop sustains the note")
    }

    @Test func roundRobinsAlternateAndReleaseRegionsSoundAtNoteOff() throws {
        let tiny = try TinyInstrument()
        try tiny.sine("one.wav", frequency: 300, seconds: 0.5)
        try tiny.sine("two.wav", frequency: 600, seconds: 0.5)
        try tiny.sine("tail.wav", frequency: 900, seconds: 0.3)
        let instrument = try tiny.instrument("""
            <group> key=60 seq_length=2 amp_veltrack=0
            <region> sample=samples/one.wav seq_position=1
            <region> sample=samples/two.wav seq_position=2
            <group> key=60 trigger=release amp_veltrack=0
            <region> sample=samples/tail.wav
            """)
        let notes = (0..<4).map { Note(start: Double($0) * 0.5, duration: 0.25, key: 60, velocity: 100) }
        let out = try play(instrument, notes, seconds: 2)
        #expect(abs(frequency(out[1_000..<10_000]) - 300) < 1)
        #expect(abs(frequency(out[25_000..<32_000]) - 600) < 1)
        #expect(abs(frequency(out[47_000..<54_000]) - 300) < 1)
        // After each note-off (0.25 s) the release sample plays: 900 Hz.
        #expect(abs(frequency(out[11_500..<21_000]) - 900) < 1)
    }

    @Test func theAttackRampsFromSilence() throws {
        let tiny = try TinyInstrument()
        try tiny.sine("tone.wav", frequency: 441, seconds: 1)
        let instrument = try tiny.instrument("<region> sample=samples/tone.wav key=60 ampeg_attack=0.2 amp_veltrack=0")
        let out = try play(instrument, [Note(start: 0, duration: 1, key: 60, velocity: 127)], seconds: 1)
        // A linear ramp over 0.2 s: RMS over its first quarter is (1/4)/√3 of full level,
        // over 0.10–0.15 s √((0.75³ − 0.5³)/0.75) = 0.63.
        let early = rms(out[0..<2_205]), middle = rms(out[4_410..<6_615]), full = rms(out[13_230..<17_640])
        #expect(abs(early / full - 0.144) < 0.02)
        #expect(abs(middle / full - 0.629) < 0.02)
    }

    @Test func definesIncludesAndCommentsAreExpanded() throws {
        let tiny = try TinyInstrument()
        try tiny.sine("my tone.wav", frequency: 441, seconds: 0.2)
        try tiny.sine("other.wav", frequency: 441, seconds: 0.2)
        try FileManager.default.createDirectory(at: tiny.folder.appendingPathComponent("Data"), withIntermediateDirectories: true)
        try "<region> sample=$NAME tone.$EXT key=$KEY // a comment\n".write(to: tiny.folder.appendingPathComponent("Data/regions.txt"), atomically: true, encoding: .utf8)
        try "sample=samples/other.wav\n".write(to: tiny.folder.appendingPathComponent("Data/sample.txt"), atomically: true, encoding: .utf8)
        let instrument = try tiny.instrument("""
            /* a block
               comment */\r
            #define $EXT wav\r
            #define $KEY 61
            #define $NAME samples\\my
            #include "Data/regions.txt"
            <region> #define $KEY 70 lokey=$KEY hikey=72 #include "Data/sample.txt"
            """)
        #expect(instrument.regions.count == 2)
        #expect(instrument.regions[0].sample == "samples/my tone.wav")
        #expect(instrument.regions[0].keys == 61...61)
        // Directives between opcodes, as some libraries write every region.
        #expect(instrument.regions[1].keys == 70...72 && instrument.regions[1].sample == "samples/other.wav")
        #expect(SfzRegion.midiKey("c#4") == 61 && SfzRegion.midiKey("Bb2") == 46 && SfzRegion.midiKey("x") == nil)
    }

    @Test func aChokeGroupCutsAOneShotSample() throws {
        let tiny = try TinyInstrument()
        try tiny.sine("open.wav", frequency: 600, seconds: 1)
        try tiny.sine("pedal.wav", frequency: 300, seconds: 0.05)
        let instrument = try tiny.instrument("""
            <global> loop_mode=one_shot amp_veltrack=0
            <region> sample=samples/open.wav key=46 group=1 off_by=2
            <region> sample=samples/pedal.wav key=44 group=2
            """)
        let out = try play(instrument, [Note(start: 0, duration: 0.05, key: 46, velocity: 100), Note(start: 0.3, duration: 0.05, key: 44, velocity: 100)], seconds: 1)
        #expect(rms(out[2_000..<13_000]) > 0.3, "one-shot: sounds past its note-off")
        #expect(rms(out[16_000...]) < 1e-3, "closed by the pedal")
    }

    @Test func absurdValuesAreClampedNotFatal() throws {
        let tiny = try TinyInstrument()
        try tiny.sine("tone.wav", frequency: 441, seconds: 0.2)
        let instrument = try tiny.instrument("""
            <region> sample=samples/tone.wav key=60 offset=1e30 end=inf tune=nan lorand=nan ampeg_release=1e300 transpose=99999999999 pitch_keytrack=1e9
            <region> sample=samples/tone.wav key=61 loop_mode=loop_continuous loop_start=0 loop_end=100 tune=9600 transpose=127
            """)
        _ = try play(instrument, [Note(start: 0, duration: 0.1, key: 60, velocity: 100), Note(start: 0.1, duration: 0.3, key: 61, velocity: 100)], seconds: 0.5)
    }

    @Test func aSymbolicLinkCannotLeadOutOfTheFolder() throws {
        let tiny = try TinyInstrument()
        try FileManager.default.createSymbolicLink(atPath: tiny.folder.appendingPathComponent("samples/escape.wav").path, withDestinationPath: "/etc/hostname")
        let instrument = try tiny.instrument("<region> sample=samples/escape.wav key=60")
        let error = #expect(throws: FileError.self) { try play(instrument, [Note(start: 0, duration: 0.1, key: 60, velocity: 100)], seconds: 0.2) }
        #expect(error?.reason.contains("outside") == true)
    }

    @Test func nothingOutsideTheInstrumentsFolderIsRead() throws {
        let tiny = try TinyInstrument()
        let include = #expect(throws: FileError.self) { try tiny.instrument(#"#include "../../etc/passwd""#) }
        #expect(include?.reason.contains("outside") == true)
        let instrument = try tiny.instrument("<region> sample=../../../etc/hostname key=60", name: "escape.sfz")
        let sample = #expect(throws: FileError.self) { try play(instrument, [Note(start: 0, duration: 0.1, key: 60, velocity: 100)], seconds: 0.2) }
        #expect(sample?.reason.contains("outside") == true)
    }
}

/// Adds an APPLICATION block with id "riff" holding a WAV `smpl` chunk to a FLAC file,
/// the way FLAC's `--keep-foreign-metadata` stores a WAV's loop.
private func insertRiffLoop(into url: URL, start: UInt32, end: UInt32) throws {
    var bytes = [UInt8](try Data(contentsOf: url))
    func le(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
    var smpl = Array("smpl".utf8) + le(36 + 24)
    smpl += [UInt32](repeating: 0, count: 7).flatMap(le) + le(1) + le(0)
    smpl += le(0) + le(0) + le(start) + le(end) + le(0) + le(0)
    let body = Array("riff".utf8) + smpl
    // Clear the "last block" flag of the existing blocks, then append ours as the last.
    var position = 4
    var lastEnd = 4
    while position < bytes.count {
        let isLast = bytes[position] & 0x80 != 0
        let length = Int(bytes[position + 1]) << 16 | Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
        bytes[position] &= 0x7F
        position += 4 + length
        lastEnd = position
        if isLast { break }
    }
    let header: [UInt8] = [0x80 | 2, UInt8(body.count >> 16 & 0xFF), UInt8(body.count >> 8 & 0xFF), UInt8(body.count & 0xFF)]
    bytes.insert(contentsOf: header + body, at: lastEnd)
    try Data(bytes).write(to: url)
}

struct NoteSampleSetTests {
    @Test func fileNamesGiveKeysAndDynamicsGiveVelocityLayers() throws {
        let tiny = try TinyInstrument()
        // A2 (key 45) in two dynamics, C#3 (49) in one; a harmonic left out by the filter.
        try tiny.sine("cello_A2_1_piano_arco-normal.wav", frequency: 110, seconds: 0.5, amplitude: 0.1)
        try tiny.sine("cello_A2_1_forte_arco-normal.wav", frequency: 110, seconds: 0.5, amplitude: 0.6)
        try tiny.sine("cello_Cs3_1_forte_arco-normal.wav", frequency: 138.59, seconds: 0.5, amplitude: 0.6)
        try tiny.sine("cello_E3_1_forte_arco-harmonic.wav", frequency: 164.81, seconds: 0.5)
        let folder = tiny.folder.appendingPathComponent("samples")
        let regions = try NoteSampleSet.regions(folder: folder, filter: "arco-normal")
        #expect(regions.count == 3)
        let a2 = regions.filter { $0.pitchKeycenter == 45 }
        #expect(a2.count == 2 && a2.allSatisfy { $0.keys == 39...47 })
        #expect(a2.first { $0.sample.contains("piano") }!.velocities == 1...63)
        #expect(a2.first { $0.sample.contains("forte") }!.velocities == 64...127)
        #expect(regions.first { $0.pitchKeycenter == 49 }!.keys == 48...55)
        #expect(NoteSampleSet.key(in: "note036-do.wav") == 36 && NoteSampleSet.key(in: "flute_As5_05_forte_normal.mp3") == 82)
        // Freesound's note packs: a lower-case name after the last hyphen, sharps spelled out.
        #expect(NoteSampleSet.key(in: "357382__mtg__trumpet-c4.wav") == 60)
        #expect(NoteSampleSet.key(in: "357323__mtg__trumpet-fsharp4.wav") == 66)
        #expect(NoteSampleSet.key(in: "357589__mtg__trumpet-asharp3.wav") == 58)
        #expect(NoteSampleSet.key(in: "cello_arco-normal.wav") == nil && NoteSampleSet.key(in: "take-h4.wav") == nil)
        #expect(NoteSampleSet.key(in: "trumpet-c+4.wav") == nil && NoteSampleSet.key(in: "trumpet-g12.wav") == nil)
        // Live-coding banks: a lower-case note between underscores; words are not notes.
        #expect(NoteSampleSet.key(in: "03_c2_finger_short_bridge.wav") == 36 && NoteSampleSet.key(in: "01_C3_bowed_long_vibrato.wav") == 48)
        #expect(NoteSampleSet.key(in: "09_fs3_pick.wav") == 54 && NoteSampleSet.key(in: "16_ghost.wav") == nil)
        #expect(NoteSampleSet.key(in: "bass_finger_a_long.wav") == nil)

        // Played: key 47 sounds the A2 sample two semitones up, softly or loudly.
        let instrument = try SfzInstrument(regions: regions, sampleFolder: folder)
        let soft = try play(instrument, [Note(start: 0, duration: 0.4, key: 47, velocity: 30)], seconds: 0.4)
        let loud = try play(instrument, [Note(start: 0, duration: 0.4, key: 47, velocity: 110)], seconds: 0.4)
        #expect(abs(frequency(soft[2_000..<15_000]) - 110 * pow(2, 2.0 / 12)) < 0.5)
        #expect(rms(loud[2_000..<15_000]) > 4 * rms(soft[2_000..<15_000]))
    }

    @Test func aNoteThatWaitsBeforeItsAttackPlaysFromItsOnset() throws {
        let tiny = try TinyInstrument()
        // 0.8 s of silence, then a tone: a short note must sound at once.
        let rate = 44_100, silence = 35_280
        let tone = (0..<rate).map { Float(0.5 * sin(2 * Double.pi * 220 * Double($0) / Double(rate))) }
        try AudioFileWriter.write([Float](repeating: 0, count: silence) + tone, sampleRate: rate,
                                  to: tiny.folder.appendingPathComponent("samples/357382__mtg__trumpet-a3.wav"))
        try tiny.sine("cello_A2_1_forte_arco-normal.wav", frequency: 110, seconds: 0.5)
        let folder = tiny.folder.appendingPathComponent("samples")
        let trumpet = try NoteSampleSet.regions(folder: folder, filter: "trumpet")
        // The sine's first frame is 0; the next is the first within 40 dB of the peak.
        #expect(trumpet.count == 1 && trumpet[0].offset == silence + 1 - rate / 100)
        // A sample that starts at once keeps its first frame.
        #expect(try NoteSampleSet.regions(folder: folder, filter: "cello")[0].offset == 0)
        let played = try play(SfzInstrument(regions: trumpet, sampleFolder: folder), [Note(start: 0, duration: 0.3, key: 57, velocity: 100)], seconds: 0.3)
        #expect(rms(played[1_000..<12_000]) > 0.1)
    }

    @Test func theOnsetIsTheFirstFrameWithin40dBOfThePeakInAnyChannel() throws {
        let tiny = try TinyInstrument()
        /// A square wave of `level` dB below 0.5 for `seconds`, in every channel or in the last.
        func square(_ level: Double, _ seconds: Double, rate: Int, channels: Int = 1, lastOnly: Bool = false) -> [Float] {
            (0..<Int(seconds * Double(rate))).flatMap { frame in
                let value = Float(0.5 * pow(10, -level / 20)) * (frame % 50 < 25 ? 1 : -1)
                return (0..<channels).map { !lastOnly || $0 == channels - 1 ? value : 0 }
            }
        }
        func silence(_ seconds: Double, rate: Int, channels: Int = 1) -> [Float] {
            [Float](repeating: 0, count: Int(seconds * Double(rate)) * channels)
        }
        func onset(_ values: [Float], rate: Int, channels: Int = 1) throws -> Int {
            let url = tiny.folder.appendingPathComponent("samples/take-\(UUID().uuidString).wav")
            try AudioFileWriter.write(values, channels: channels, sampleRate: rate, to: url)
            return try NoteSampleSet.onsetFrame(of: url)
        }
        // Sound within 0.25 s keeps the first frame; later, playing starts 10 ms before it.
        #expect(try onset(silence(0.1, rate: 44_100) + square(0, 0.5, rate: 44_100), rate: 44_100) == 0)
        #expect(try onset(silence(0.3, rate: 44_100) + square(0, 0.5, rate: 44_100), rate: 44_100) == 13_230 - 441)
        // Noise 45 dB down is not the onset; a lead-in 35 dB down is.
        let leadIn = square(45, 0.5, rate: 44_100) + square(35, 0.5, rate: 44_100) + square(0, 0.5, rate: 44_100)
        #expect(try onset(leadIn, rate: 44_100) == 22_050 - 441)
        // Stereo at 48 kHz, sounding in the right channel only: frames, not values, at the file's rate.
        let stereo = silence(0.6, rate: 48_000, channels: 2) + square(0, 0.4, rate: 48_000, channels: 2, lastOnly: true)
        #expect(try onset(stereo, rate: 48_000, channels: 2) == 28_800 - 480)
    }

    @Test func builtInGeneratorsAreNotSamples() {
        #expect(SfzRegion(["sample": "*silence", "key": "60"]) == nil)
        #expect(SfzRegion(["sample": "kick.wav", "key": "36"])?.keys == 36...36)
    }
}

struct StkRendererTests {
    @Test func theScoreGivesDeltaTimesInOrder() {
        var rng = SeededGenerator(seed: 1)
        var performance = Performance(notes: [Note(start: 0.5, duration: 1, key: 62, velocity: 90), Note(start: 0, duration: 0.25, key: 60, velocity: 100)], seconds: 2)
        performance.vibrato = 40
        let lines = StkRenderer.skini(performance, instrument: "Clarinet", rng: &rng).split(separator: "\n").map(String.init)
        let notes = lines.filter { $0.hasPrefix("Note") }
        #expect(notes == ["NoteOn 0.00000 1 60 100", "NoteOff 0.25000 1 60 64", "NoteOn 0.25000 1 62 90", "NoteOff 1.00000 1 62 64"])
        #expect(lines.last == "ControlChange 0.50000 1 1 0", "the take rings to its end")
    }

    @Test func aClarinetModelPlaysTheWrittenPitch() throws {
        var rng = SeededGenerator(seed: 2)
        let performance = Performance(notes: [Note(start: 0, duration: 1.5, key: 57, velocity: 110)], seconds: 2)
        let signal = try StkRenderer.render(performance, instrument: "Clarinet", sampleRate: 44_100, rng: &rng)
        #expect(signal.frames == 88_200)
        let steady = Array(signal.left[22_050..<55_125])
        // A reed tone is rich in harmonics: its period from the autocorrelation's peak.
        func correlation(_ lag: Int) -> Double { (0..<(steady.count - lag)).reduce(0.0) { $0 + Double(steady[$1] * steady[$1 + lag]) } }
        let lag = (100...400).max { correlation($0) < correlation($1) }!
        #expect(abs(44_100 / Double(lag) - 220) < 3, "\(44_100 / Double(lag)) Hz")
        #expect(rms(steady[...]) > 0.01)
    }
}

struct FestivalRendererTests {
    @Test func theSongMarkupHasRestsAndEachNotesFrequencyAndLength() throws {
        var rng = SeededGenerator(seed: 3)
        let performance = Performance(notes: [Note(start: 0.5, duration: 1, key: 69, velocity: 90), Note(start: 2, duration: 0.5, key: 57, velocity: 90)], seconds: 4)
        let lines = try #require(FestivalRenderer.song(performance, rng: &rng)).split(separator: "\n").map(String.init)
        let body = lines.filter { $0.hasPrefix("<PITCH") || $0.hasPrefix("<REST") }
        #expect(body.count == 4)
        #expect(body[0] == "<REST BEATS=\"0.500\"></REST>")
        #expect(body[1].hasPrefix("<PITCH FREQ=\"440.00\"><DURATION BEATS=\"1.000\">"))
        #expect(body[2] == "<REST BEATS=\"0.500\"></REST>")
        #expect(body[3].hasPrefix("<PITCH FREQ=\"220.00\"><DURATION BEATS=\"0.500\">"))
        #expect(lines.contains("<SINGING BPM=\"60\">"), "one beat a second")
        // Too high for the voice: the melody is sung an octave lower.
        let lower = try #require(FestivalRenderer.song(performance, highest: 300, rng: &rng))
        #expect(lower.contains("FREQ=\"220.00\"") && lower.contains("FREQ=\"110.00\"") && !lower.contains("440.00"))
    }

    @Test func anOutputThatIsNotAudioIsSungAgainWithOtherWords() throws {
        let folder = scratchPath("festival")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let tone = (0..<22_050).map { Float(0.3 * sin(2 * Double.pi * 220 * Double($0) / 44_100)) }
        try AudioFileWriter.write(tone, sampleRate: 44_100, to: folder.appendingPathComponent("sung.wav"), format: .wavFloat)
        /// A stand-in for text2wave that ends well every time but writes audio only from its
        /// `works`-th call on (never when 0); the score it sang is kept per call.
        func fake(works: Int) throws -> String {
            let script = folder.appendingPathComponent("text2wave-\(works)")
            let calls = folder.appendingPathComponent("calls-\(works)")
            try """
            #!/bin/sh
            for last; do :; done
            echo call >> '\(calls.path)'
            n=$(wc -l < '\(calls.path)')
            cp "$5" '\(folder.path)'/score-\(works)-$n.xml
            if [ \(works) -gt 0 ] && [ "$n" -ge \(works) ]; then cp '\(folder.path)/sung.wav' "$last"; else echo 'not audio' > "$last"; fi
            """.write(to: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
            return script.path
        }
        let performance = Performance(notes: (0..<6).map { Note(start: Double($0) * 0.3, duration: 0.25, key: 57, velocity: 100) }, seconds: 2)
        var rng = SeededGenerator(seed: 4)
        let signal = try FestivalRenderer.render(performance, voice: "kal_diphone", sampleRate: 44_100, rng: &rng, program: try fake(works: 2))
        #expect(signal.frames == 88_200 && Array(signal.left[..<22_050]) == tone && signal.left[22_050...].allSatisfy { $0 == 0 })
        // The second try sang other words.
        let first = try String(contentsOf: folder.appendingPathComponent("score-2-1.xml"), encoding: .utf8)
        let second = try String(contentsOf: folder.appendingPathComponent("score-2-2.xml"), encoding: .utf8)
        #expect(first != second)
        #expect {
            try FestivalRenderer.render(performance, voice: "kal_diphone", sampleRate: 44_100, rng: &rng, program: try fake(works: 0))
        } throws: { error in
            (error as? FileError)?.reason.contains("not audio") == true
        }
        #expect(try String(contentsOf: folder.appendingPathComponent("calls-0"), encoding: .utf8).split(separator: "\n").count == 4)
    }

    @Test func aPartWithNothingToSingIsSilenceAndFestivalIsNotAsked() throws {
        // Festival writes an empty file for a score without notes; a program that fails
        // every call stands in, so asking it at all would throw.
        let failing = scratchPath("festival-failing")
        try "#!/bin/sh\nexit 1\n".write(to: failing, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: failing.path)
        defer { try? FileManager.default.removeItem(at: failing) }
        var rng = SeededGenerator(seed: 5)
        // Notes of 50 ms, and a note that starts after the end.
        let nothing = Performance(notes: [Note(start: 0.2, duration: 0.05, key: 57, velocity: 100), Note(start: 1.98, duration: 1, key: 60, velocity: 100),
                                          Note(start: 2.5, duration: 1, key: 60, velocity: 100)], seconds: 2)
        #expect(FestivalRenderer.song(nothing, rng: &rng) == nil)
        let silence = try FestivalRenderer.render(nothing, voice: "kal_diphone", sampleRate: 22_050, rng: &rng, program: failing.path)
        #expect(silence.frames == 44_100 && silence.left.allSatisfy { $0 == 0 } && silence.right.allSatisfy { $0 == 0 })
        // One note just long enough is sung, so the failing program is asked.
        let one = Performance(notes: nothing.notes + [Note(start: 1.9, duration: 0.06, key: 57, velocity: 100)], seconds: 2)
        #expect(FestivalRenderer.song(one, rng: &rng)?.contains("<PITCH") == true)
        #expect(throws: FileError.self) { try FestivalRenderer.render(one, voice: "kal_diphone", sampleRate: 22_050, rng: &rng, program: failing.path) }
    }

    @Test func aDiphoneVoiceSingsTheNote() throws {
        var rng = SeededGenerator(seed: 4)
        let performance = Performance(notes: [Note(start: 0.2, duration: 1.2, key: 57, velocity: 100)], seconds: 2)
        let signal = try FestivalRenderer.render(performance, voice: "kal_diphone", sampleRate: 44_100, rng: &rng)
        #expect(signal.frames == 88_200)
        // The vowel's middle: its period from the autocorrelation's peak (a voice is rich
        // in harmonics, so zero crossings would not do).
        let middle = Array(signal.left[26_460..<48_510])
        #expect(rms(middle[...]) > 0.005)
        func correlation(_ lag: Int) -> Double { (0..<(middle.count - lag)).reduce(0.0) { $0 + Double(middle[$1] * middle[$1 + lag]) } }
        let lag = (120...300).max { correlation($0) < correlation($1) }!
        #expect(abs(44_100 / Double(lag) - 220) < 8, "\(44_100 / Double(lag)) Hz")
    }
}
