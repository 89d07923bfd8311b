import Foundation
import TimbreCore
import TimbreLabels

/// One playable instrument of one sound source: a SoundFont preset, an SFZ instrument
/// (optionally some of its microphones), a Hydrogen drum kit, a folder of single-note
/// recordings, a physical model, a Festival voice, or a folder of real solo recordings.
public struct Patch: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A SoundFont 2 preset, `bank:program` (bank 128: drum kits).
        case sf2
        /// An SFZ instrument; `preset` optionally keeps only regions whose sample path
        /// contains one of its `|`-separated parts (microphones of a multi-mic kit).
        case sfz
        /// A Hydrogen `drumkit.xml` folder.
        case hydrogen
        /// A folder of one recording per note, named by note ("cello_A2_…", "note036-…");
        /// `preset` keeps only file names containing it.
        case notes
        /// A Synthesis ToolKit model (`preset`: "Bowed", "Clarinet"...) played by `stk-demo`.
        case stk
        /// A Festival diphone voice (`preset`: "kal_diphone"...) singing words on the notes.
        case festival
        /// A folder of real solo recordings (sung songs, played passages), subfolders
        /// included; `preset` keeps only file names containing it. A part plays a stretch
        /// of one of them instead of its composed notes.
        case recording
    }

    /// The independent sound source the patch belongs to (one recording origin), the unit
    /// that cross-source validation holds out.
    public let family: String
    public let code: String
    public let kind: Kind
    /// An absolute path, or a path relative to the sources folder (downloaded libraries).
    public let location: String
    public let preset: String
    /// Played only by the held-out split.
    public let heldOutOnly: Bool

    public var description: String {
        let name = (location as NSString).lastPathComponent
        return preset.isEmpty ? "\(family) \(name)" : "\(family) \(name) \(preset.count > 24 ? String(preset.prefix(21)) + "..." : preset)"
    }

    /// The SoundFont preset of an `sf2` patch.
    public var soundFontPreset: Preset? {
        let parts = preset.split(separator: ":").compactMap { Int($0) }
        return kind == .sf2 && parts.count == 2 ? Preset(bank: parts[0], program: parts[1]) : nil
    }

    /// The file or folder the patch plays, resolved against `sources`.
    public func url(sources: URL) -> URL {
        location.hasPrefix("/") ? URL(fileURLWithPath: location) : sources.appendingPathComponent(location)
    }

    /// The folder nothing of the patch may be read outside of: a downloaded library's own
    /// top folder, or the patch's folder on the system.
    public func root(sources: URL) -> URL {
        if location.hasPrefix("/") { return url(sources: sources).deletingLastPathComponent() }
        return sources.appendingPathComponent(String(location.split(separator: "/").first ?? ""))
    }
}

/// The sound sources `timbre synth` can play (`labels/sound-sources.csv`): for every
/// family, the patches of each class. Downloaded libraries live under a sources folder
/// (`datasets/sources.md` says how to get them); Debian's packages at their system paths.
public struct SoundCatalogue: Sendable {
    public let patches: [Patch]

    public init(patches: [Patch]) { self.patches = patches }

    /// The catalogue bundled with Timbre.
    public static func standard() throws -> SoundCatalogue { try SoundCatalogue(url: LabelTables.soundSources) }

    /// Reads a `family,code,kind,location,presets,role` table; a row with several
    /// space-separated presets gives one patch each.
    public init(url: URL) throws {
        let table = try CSVTable(url: url)
        var patches: [Patch] = []
        for row in table.rows {
            guard let family = row["family"], let code = row["code"], let kindName = row["kind"], let kind = Patch.Kind(rawValue: kindName),
                  let location = row["location"], !location.isEmpty else {
                throw FileError(path: url.path, reason: "row without a family, class, known kind and location: \(row)")
            }
            let heldOut = row["role"] == "held-out"
            let presets = (row["presets"] ?? "").split(separator: " ").map(String.init)
            for preset in presets.isEmpty ? [""] : presets {
                patches.append(Patch(family: family, code: code, kind: kind, location: location, preset: preset, heldOutOnly: heldOut))
            }
        }
        self.patches = patches
    }

    /// Family names in catalogue order.
    public var families: [String] {
        var seen = Set<String>()
        return patches.map(\.family).filter { seen.insert($0).inserted }
    }

    /// The patches of `families` a split plays.
    public func selecting(families: [String], split: SynthSplit) -> SoundCatalogue {
        SoundCatalogue(patches: patches.filter { families.contains($0.family) && (split == .heldOut || !$0.heldOutOnly) })
    }

    /// Patches of class `code`, grouped by family in catalogue order.
    public func byFamily(code: String) -> [[Patch]] {
        var groups: [String: [Patch]] = [:], order: [String] = []
        for patch in patches where patch.code == code {
            if groups[patch.family] == nil { order.append(patch.family) }
            groups[patch.family, default: []].append(patch)
        }
        return order.map { groups[$0]! }
    }

    /// Classes some patch plays.
    public var codes: Set<String> { Set(patches.map(\.code)) }

    /// Patch files or folders that are not where the catalogue says, with their families.
    public func missing(sources: URL) -> [(family: String, path: String)] {
        var seen = Set<String>()
        return patches.compactMap { patch in
            let path = patch.url(sources: sources).path
            guard !FileManager.default.fileExists(atPath: path), seen.insert(path).inserted else { return nil }
            return (patch.family, path)
        }
    }
}
