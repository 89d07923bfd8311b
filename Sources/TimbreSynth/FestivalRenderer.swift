import Foundation
import TimbreAudio
import TimbreCore

/// Sings parts with the Festival speech synthesiser's singing mode (Debian's `festival`
/// and its `festvox-*` diphone voices): each note a word, at the note's pitch and length.
///
/// The diphone voices are recordings of real speakers (English, Italian, Czech and Finnish
/// men and women) cut into sound pairs; sung through Festival they are robotic, but they
/// bring what a choir sample never has: words, consonants and moving formants, as in
/// the sung lines of band recordings. Output is 16 kHz, resampled to the render rate.
public enum FestivalRenderer {
    public static let program = "/usr/bin/text2wave"
    public static let voices = "/usr/share/festival/voices"

    /// Words sung on the notes: one syllable each, so one word takes one note.
    static let words = ["love", "you", "night", "day", "oh", "heart", "fire", "go", "home", "light", "down", "time", "way",
                        "know", "see", "stay", "run", "sky", "dream", "feel", "cry", "free", "soul", "rain", "sun", "high",
                        "low", "mine", "yeah", "me", "now", "gone", "rise", "fall", "sing", "we", "my", "so", "true", "la"]

    /// Renders `performance` with the Festival voice `voice` ("kal_diphone"...), as a
    /// stereo signal of exactly `performance.seconds`. `program` is Festival's `text2wave`.
    public static func render(_ performance: Performance, voice: String, sampleRate: Int, rng: inout SeededGenerator,
                              program: String = program) throws -> StereoSignal {
        // The name becomes Scheme code: letters, digits and underscores only.
        guard !voice.isEmpty, voice.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw FileError(path: voice, reason: "not a Festival voice name")
        }
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw FileError(path: program, reason: "Festival is not installed (Debian package festival)")
        }
        var signal = StereoSignal(frames: Int(performance.seconds * Double(sampleRate)), sampleRate: sampleRate)
        // Festival writes an empty file for a score without notes, whatever the words.
        let highest = highestFrequency(voice)
        guard var markup = song(performance, highest: highest, rng: &rng) else { return signal }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-festival-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let score = folder.appendingPathComponent("song.xml"), output = folder.appendingPathComponent("out.wav")
        // Festival crashes on some word and pitch sequences, or ends well but writes a file
        // that is not audio; other words usually work.
        var sung: (samples: [Float], rate: Int)?
        var status: Int32 = -1
        for attempt in 0..<4 where sung == nil {
            if attempt > 0 { markup = song(performance, highest: highest, rng: &rng) ?? markup }
            try? FileManager.default.removeItem(at: output)
            try markup.write(to: score, atomically: true, encoding: .utf8)
            status = try ExternalProgram.run(program, ["-mode", "singing", "-eval", "(voice_\(voice))", score.path, "-o", output.path])
            guard status == 0, let reader = try? AudioFileReader(url: output), let samples = try? reader.readAllMono() else { continue }
            sung = (samples, reader.info.sampleRate)
        }
        guard let sung else {
            throw FileError(path: program, reason: "Festival could not sing with voice \(voice) (\(status == 0 ? "its output is not audio" : "status \(status)"))")
        }
        var mono = sung.samples
        if sung.rate != sampleRate {
            let converter = try Resampler(from: sung.rate, to: sampleRate, quality: .best)
            mono = try converter.process(mono) + converter.finish()
        }
        for i in 0..<min(signal.frames, mono.count) {
            signal.left[i] = mono[i]
            signal.right[i] = mono[i]
        }
        return signal
    }

    /// Notes this short or shorter are left out of the song, too short for a sung word.
    static let minimumNoteSeconds = 0.05

    /// The highest pitch a voice's diphones resynthesise (Festival crashes on much higher
    /// ones): about a man's and a woman's singing range.
    static func highestFrequency(_ voice: String) -> Double {
        ["lp_diphone": 600, "czech_dita": 600, "suo_fi_lj_diphone": 450][voice] ?? 400
    }

    /// Festival's singing markup for a melody: rests for the gaps, then each note as a word
    /// at its frequency (FREQ in Hz, so no octave convention is involved) and length. A
    /// melody reaching above `highest` is sung whole octaves lower, as a singer would. Nil
    /// when no note is long enough to sing.
    static func song(_ performance: Performance, highest: Double = 10_000, rng: inout SeededGenerator) -> String? {
        let top = performance.notes.map { 440 * pow(2, (Double($0.key) - 69) / 12) }.max() ?? 0
        var octaves = 0.0
        while top / pow(2, octaves) > highest && octaves < 3 { octaves += 1 }
        var lines = ["<?xml version=\"1.0\"?>",
                     "<!DOCTYPE SINGING PUBLIC \"-//SINGING//DTD SINGING mark up//EN\" \"Singing.v0_1.dtd\" []>",
                     "<SINGING BPM=\"60\">"]
        var time = 0.0, sung = 0
        for note in performance.notes.sorted(by: { $0.start < $1.start }) where note.start >= time && note.start < performance.seconds {
            let length = min(note.duration, performance.seconds - note.start)
            guard length > minimumNoteSeconds else { continue }
            if note.start - time > 0.02 { lines.append(String(format: "<REST BEATS=\"%.3f\"></REST>", note.start - time)) }
            let frequency = 440 * pow(2, (Double(note.key) - 69) / 12 - octaves)
            lines.append(String(format: "<PITCH FREQ=\"%.2f\"><DURATION BEATS=\"%.3f\">%@</DURATION></PITCH>", frequency, length, rng.pick(words)))
            time = note.start + length
            sung += 1
        }
        guard sung > 0 else { return nil }
        lines.append("</SINGING>")
        return lines.joined(separator: "\n") + "\n"
    }
}
