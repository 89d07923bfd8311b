import Foundation
import TimbreAudio
import TimbreCore

/// Plays parts on the physical and FM models of the Synthesis ToolKit (Perry Cook and Gary
/// Scavone; Debian's `stk` package): bowed strings, clarinet, flute, saxophone, brass lips,
/// plucked strings, a formant singer, FM organ and electric pianos, and its drum hits.
///
/// They are synthesised, not recorded, so they share no recording with any sample
/// library: the same class made by a different mechanism. The part is written as a SKINI
/// score (the ToolKit's text MIDI), rendered offline by `stk-demo`, and read back. Each
/// take draws its own settings of the model's timbre controls (bow pressure and position,
/// reed stiffness, lip tension, vowel...), so takes differ as players do. The ToolKit
/// seeds its breath noise from the clock, so wind takes are not byte-identical between
/// runs (everything else about them is).
public enum StkRenderer {
    /// Where Debian installs the program and the models' wave tables.
    public static let program = "/usr/bin/stk-demo"
    public static let waveTables = "/usr/share/stk/rawwaves"

    /// Renders `performance` on the model `instrument` ("Bowed", "Clarinet"...), as a
    /// stereo signal of exactly `performance.seconds`.
    public static func render(_ performance: Performance, instrument: String, sampleRate: Int, rng: inout SeededGenerator) throws -> StereoSignal {
        guard !instrument.isEmpty, instrument.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw FileError(path: instrument, reason: "not a Synthesis ToolKit instrument name")
        }
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw FileError(path: program, reason: "the Synthesis ToolKit is not installed (Debian package stk)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-stk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let score = folder.appendingPathComponent("score.ski"), output = folder.appendingPathComponent("out.wav")
        try skini(performance, instrument: instrument, rng: &rng).write(to: score, atomically: true, encoding: .utf8)

        let status = try ExternalProgram.run(program, [instrument, "-s", "\(sampleRate)", "-n", "8", "-ow", output.path, "-if", score.path],
                                             in: URL(fileURLWithPath: waveTables).deletingLastPathComponent())
        guard status == 0, FileManager.default.fileExists(atPath: output.path) else {
            throw FileError(path: program, reason: "stk-demo \(instrument) failed (status \(status))")
        }
        let mono = try AudioFileReader(url: output).readAllMono()
        var signal = StereoSignal(frames: Int(performance.seconds * Double(sampleRate)), sampleRate: sampleRate)
        for i in 0..<min(signal.frames, mono.count) {
            signal.left[i] = mono[i]
            signal.right[i] = mono[i]
        }
        return signal
    }

    /// The SKINI score of a performance: controller settings for the take, then note-ons
    /// and note-offs in time order, each line's time in seconds after the previous one.
    static func skini(_ performance: Performance, instrument: String, rng: inout SeededGenerator) -> String {
        var lines: [String] = []
        // Controllers (SKINI numbers): 1 vibrato depth, 11 vibrato rate, 128 breath or
        // volume, and the model's own timbre controls (2 and 4; 26 reed aperture).
        func control(_ number: Int, _ value: Double) { lines.append("ControlChange 0.0 1 \(number) \(Int(value.rounded()))") }
        control(1, min(127, Double(performance.vibrato) * rng.uniform(0.3, 0.8)))
        control(11, rng.uniform(40, 70))
        // Wind models speak only near their neutral settings: reed stiffness, jet delay and
        // lip tension stay close to the middle, breath noise low; a bow tolerates more.
        switch instrument {
        case "Bowed":
            control(2, rng.uniform(40, 100))
            control(4, rng.uniform(20, 100))
            control(128, rng.uniform(90, 127))
        case "Clarinet", "BlowHole", "Saxofony", "Flute", "Brass":
            control(2, rng.uniform(54, 74))
            control(4, rng.uniform(5, 35))
            control(128, rng.uniform(100, 127))
            if instrument == "Saxofony" { control(26, rng.uniform(45, 80)) }
        case "VoicForm":
            control(2, rng.uniform(100, 127))
        default:
            break
        }
        var events: [(time: Double, line: (Double) -> String)] = []
        // VoicForm picks phoneme value/4 of its table, whose first ten are vowels.
        let vowels = [0, 8, 16, 24, 32]
        for note in performance.notes where note.start < performance.seconds {
            let key = note.key, velocity = max(1, min(127, note.velocity))
            if instrument == "VoicForm" {
                let vowel = rng.pick(vowels) + rng.integer(0...3)
                events.append((note.start, { "ControlChange \(String(format: "%.5f", $0)) 1 4 \(vowel)" }))
            }
            events.append((note.start, { "NoteOn \(String(format: "%.5f", $0)) 1 \(key) \(velocity)" }))
            let end = min(performance.seconds, note.start + max(0.02, note.duration))
            events.append((end, { "NoteOff \(String(format: "%.5f", $0)) 1 \(key) 64" }))
        }
        events.sort { $0.time < $1.time }
        var previous = 0.0
        for event in events {
            lines.append(event.line(max(0, event.time - previous)))
            previous = event.time
        }
        // Let the last note ring to the end of the take.
        lines.append("ControlChange \(String(format: "%.5f", max(0, performance.seconds - previous))) 1 1 0")
        return lines.joined(separator: "\n") + "\n"
    }
}
