import Foundation
import TimbreAudio
import TimbreCore

/// A folder of single-note recordings played as an instrument: each file's key comes
/// from its name, and the files become sampler regions that cover the keys between their
/// neighbours (each note transposed at most half the gap).
///
/// Names understood: a note name between underscores as the Philharmonia Orchestra's
/// samples have ("cello_A2_1_forte_arco-normal.mp3", "As2" for A♯2; also in lower case,
/// "03_c2_finger_short.wav"), a MIDI number after "note" ("note036-do.wav"), or a
/// lower-case note name after a hyphen as Freesound's note packs have
/// ("357323__mtg__trumpet-fsharp4.wav"). A dynamic marking in the name (pianissimo …
/// fortissimo) makes velocity layers; several takes of one key and dynamic alternate at
/// random.
/// A recording that waits before its attack (Freesound's note packs leave up to 2.6 s)
/// is played from just before its onset, so short notes are not silent.
public enum NoteSampleSet {
    struct Entry {
        let file: String
        let key: Int
        let dynamic: Int
    }

    static let dynamics = ["pianissimo", "piano", "mezzo-piano", "mezzo-forte", "forte", "fortissimo"]

    /// Regions for the audio files in `folder` whose names contain `filter` (all when
    /// empty). The release is 0.12 s: recorded notes end naturally, and a cut note should
    /// fade rather than click.
    public static func regions(folder: URL, filter: String = "") throws -> [SfzRegion] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        let entries = names.compactMap { name -> Entry? in
            guard ["wav", "flac", "mp3", "ogg", "aif", "aiff"].contains((name as NSString).pathExtension.lowercased()),
                  filter.isEmpty || name.contains(filter), let key = key(in: name) else { return nil }
            let fields = name.lowercased().split(whereSeparator: { $0 == "_" || $0 == "." }).map(String.init)
            return Entry(file: name, key: key, dynamic: dynamics.lastIndex(where: { fields.contains($0) }) ?? 3)
        }
        guard !entries.isEmpty else { throw FileError(path: folder.path, reason: "no note recordings named by note\(filter.isEmpty ? "" : " containing \"\(filter)\"")") }
        let keys = Array(Set(entries.map(\.key))).sorted()
        var regions: [SfzRegion] = []
        for (index, key) in keys.enumerated() {
            let low = index == 0 ? max(0, key - 6) : (keys[index - 1] + key) / 2 + 1
            let high = index == keys.count - 1 ? min(127, key + 6) : (key + keys[index + 1]) / 2
            let atKey = entries.filter { $0.key == key }
            let levels = Array(Set(atKey.map(\.dynamic))).sorted()
            for (layer, level) in levels.enumerated() {
                // The key's own dynamics share the velocity range evenly, softest lowest.
                let lowVelocity = 1 + layer * 127 / levels.count, highVelocity = (layer + 1) * 127 / levels.count
                let takes = atKey.filter { $0.dynamic == level }
                for (take, entry) in takes.enumerated() {
                    var opcodes: SfzFile.Opcodes = [
                        "sample": entry.file, "lokey": "\(low)", "hikey": "\(high)", "pitch_keycenter": "\(key)",
                        "lovel": "\(lowVelocity)", "hivel": "\(highVelocity)", "amp_veltrack": "0", "ampeg_release": "0.12",
                    ]
                    // An unreadable file is reported when a note plays it, as the SFZ player does.
                    let start = (try? onsetFrame(of: folder.appendingPathComponent(entry.file))) ?? 0
                    if start > 0 { opcodes["offset"] = "\(start)" }
                    opcodes["lorand"] = "\(Double(take) / Double(takes.count))"
                    opcodes["hirand"] = "\(Double(take + 1) / Double(takes.count))"
                    if let region = SfzRegion(opcodes) { regions.append(region) }
                }
            }
        }
        return regions
    }

    /// Where a note recording's sound starts, 10 ms before the first frame within 40 dB of
    /// its peak; 0 when it starts within the first 0.25 s (sample sets that trim their
    /// notes keep a short lead-in, breath or bow noise, that belongs to the attack).
    static func onsetFrame(of url: URL) throws -> Int {
        let reader = try AudioFileReader(url: url)
        let values = try reader.readAllInterleaved()
        let channels = max(1, reader.info.channels)
        let peak = values.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 0, let first = values.firstIndex(where: { abs($0) >= peak * 0.01 }) else { return 0 }
        let onset = first / channels, rate = reader.info.sampleRate
        return onset > rate / 4 ? onset - rate / 100 : 0
    }

    /// The MIDI key a file name gives, if any.
    static func key(in name: String) -> Int? {
        let stem = (name as NSString).deletingPathExtension
        if let range = stem.range(of: "note"), let number = Int(stem[range.upperBound...].prefix { $0.isNumber }), (0...127).contains(number) {
            return number
        }
        // "A2", "As2" (A sharp), "Cs-1", or in lower case ("c2", as live-coding sample banks name them).
        for field in stem.split(separator: "_") {
            if let key = key(letter: field.first.flatMap { $0.uppercased().first }, accidentalAndOctave: field.dropFirst(), sharps: ["s"]) { return key }
        }
        // "c4", "fsharp4": after the last hyphen (or the whole name), octaves 0 to 9 only.
        if let field = stem.split(separator: "-").last?.lowercased(), let letter = field.first?.uppercased().first {
            return key(letter: letter, accidentalAndOctave: field.dropFirst(), sharps: ["sharp", "#"])
        }
        return nil
    }

    /// The key of a note letter, an optional sharp spelled one of `sharps`, and an octave
    /// (middle C is C4, key 60).
    private static func key(letter: Character?, accidentalAndOctave: Substring, sharps: [String]) -> Int? {
        let base: [Character: Int] = ["C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11]
        guard let letter, let semitone = base[letter] else { return nil }
        var rest = accidentalAndOctave
        var sharp = false
        if let spelling = sharps.first(where: { rest.hasPrefix($0) }) { sharp = true; rest = rest.dropFirst(spelling.count) }
        guard let octave = Int(rest), rest.allSatisfy({ $0.isNumber || $0 == "-" }) else { return nil }
        let key = (octave + 1) * 12 + semitone + (sharp ? 1 : 0)
        return (0...127).contains(key) ? key : nil
    }
}
