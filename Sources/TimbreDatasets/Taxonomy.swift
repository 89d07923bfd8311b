import Foundation
import TimbreLabels
import TimbreCore

/// One class of the taxonomy.
public struct InstrumentClass: Sendable, Equatable {
    /// IRMAS-style three-letter code, e.g. "cel".
    public let code: String
    public let name: String
    /// Instrument family, e.g. "bowed strings", for per-family accuracy.
    public let family: String
}

/// The classes Timbre recognises, in a fixed order: a class's index is its position in
/// every feature file, label vector and model output.
public struct Taxonomy: Sendable, Equatable {
    public let classes: [InstrumentClass]
    private let indexByCode: [String: Int]

    public init(classes: [InstrumentClass]) {
        self.classes = classes
        indexByCode = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1.code, $0) })
    }

    /// Reads `code,name,family` rows.
    public init(csv url: URL) throws {
        let table = try CSVTable(url: url)
        let classes = table.rows.map { InstrumentClass(code: $0["code"] ?? "", name: $0["name"] ?? "", family: $0["family"] ?? "") }
        guard Set(classes.map(\.code)).count == classes.count, !classes.contains(where: { $0.code.isEmpty }) else {
            throw FileError(path: url.path, reason: "class codes must be unique and non-empty")
        }
        self.init(classes: classes)
    }

    /// The 13-class default taxonomy shipped in `labels/taxonomy.csv`.
    public static let standard: Taxonomy = {
        do { return try Taxonomy(csv: LabelTables.taxonomy) } catch { fatalError("bundled taxonomy unreadable: \(error)") }
    }()

    public var codes: [String] { classes.map(\.code) }
    public var names: [String] { classes.map(\.name) }
    public var count: Int { classes.count }

    public func index(of code: String) -> Int? { indexByCode[code] }
}
