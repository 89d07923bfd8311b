import Foundation
import TimbreLabels
import TimbreCore

/// Maps names from another vocabulary (MedleyDB instruments, General MIDI programs, folder
/// names) to taxonomy codes. A name mapped to nothing is known but has no class; a name
/// absent from the map is unknown. Lookups ignore case, spaces, `-` and `_`.
public struct LabelMap: Sendable {
    private let codes: [String: String]

    public init(_ pairs: [(String, String)]) {
        var codes: [String: String] = [:]
        for (name, code) in pairs { codes[LabelMap.normalise(name)] = code }
        self.codes = codes
    }

    /// Reads a two-column table: `keyColumn` → `code`.
    public init(csv url: URL, keyColumn: String) throws {
        let table = try CSVTable(url: url)
        guard table.header.contains(keyColumn), table.header.contains("code") else {
            throw FileError(path: url.path, reason: "needs columns \(keyColumn) and code")
        }
        self.init(table.rows.map { ($0[keyColumn] ?? "", $0["code"] ?? "") })
    }

    public enum Lookup: Equatable {
        case mapped(String)
        case noClass
        case unknown
    }

    public func lookup(_ name: String) -> Lookup {
        guard let code = codes[LabelMap.normalise(name)] else { return .unknown }
        return code.isEmpty ? .noClass : .mapped(code)
    }

    /// The code for `name`, or nil when unmapped or unknown.
    public func code(for name: String) -> String? {
        if case .mapped(let code) = lookup(name) { return code }
        return nil
    }

    /// Every name the map knows, as lookups see it (lower case, letters and digits only).
    public var normalisedNames: [String] { Array(codes.keys) }

    /// Every code the map can produce.
    public var targetCodes: Set<String> { Set(codes.values.filter { !$0.isEmpty }) }

    static func normalise(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.map(Character.init))
    }

    public static let medleyDB: LabelMap = load(LabelTables.medleyDB, key: "instrument")
    public static let generalMIDI: LabelMap = load(LabelTables.generalMIDI, key: "program")
    /// Folder names, extended with every class's own code and name.
    public static let folderNames: LabelMap = {
        let table = load(LabelTables.folderNames, key: "name")
        let own = Taxonomy.standard.classes.flatMap { [($0.code, $0.code), ($0.name, $0.code)] }
        return LabelMap(own + table.codes.map { ($0.key, $0.value) })
    }()

    private static func load(_ url: URL, key: String) -> LabelMap {
        do { return try LabelMap(csv: url, keyColumn: key) } catch { fatalError("bundled label map unreadable: \(error)") }
    }
}
