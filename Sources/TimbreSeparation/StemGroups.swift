import Foundation
import TimbreCore
import TimbreDatasets
import TimbreLabels

/// The four targets of a separator, as MUSDB18 names them and in its order.
public enum SeparationStem: String, CaseIterable, Codable, Sendable {
    case vocals, drums, bass, other

    /// Stems named on a command line (`vocals,bass`), in the order given: at least one, and
    /// none twice (two writers of one file would race to move it into place).
    public static func parseList(_ text: String) throws -> [SeparationStem] {
        let choices = allCases.map(\.rawValue).joined(separator: ",")
        var stems: [SeparationStem] = []
        for name in text.split(separator: ",") {
            guard let stem = SeparationStem(rawValue: name.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw FileError(path: "--stems", reason: "unknown stem '\(name)'; use \(choices)")
            }
            guard !stems.contains(stem) else { throw FileError(path: "--stems", reason: "'\(stem.rawValue)' is named twice") }
            stems.append(stem)
        }
        guard !stems.isEmpty else { throw FileError(path: "--stems", reason: "no stem named; use \(choices)") }
        return stems
    }
}

/// Which target each MedleyDB instrument's stem adds to (`labels/separation-groups.csv`):
/// singers to vocals, kits and percussion to drums, electric and double bass to bass,
/// everything else to other.
public struct StemGroups: Sendable {
    private let groups: LabelMap

    public init(csv url: URL) throws {
        let table = try CSVTable(url: url)
        guard table.header.contains("instrument"), table.header.contains("group") else {
            throw FileError(path: url.path, reason: "needs columns instrument and group")
        }
        var pairs: [(String, String)] = []
        for row in table.rows {
            let group = row["group"] ?? ""
            guard group.isEmpty || SeparationStem(rawValue: group) != nil else {
                throw FileError(path: url.path, reason: "unknown group '\(group)' for \(row["instrument"] ?? "")")
            }
            pairs.append((row["instrument"] ?? "", group))
        }
        groups = LabelMap(pairs)
    }

    /// The bundled table.
    public static let standard: StemGroups = {
        do { return try StemGroups(csv: LabelTables.separationGroups) } catch { fatalError("bundled stem groups unreadable: \(error)") }
    }()

    /// The classes of `classes` (MedleyDB instrument → class code) that only `stem` holds:
    /// every instrument of the class goes to it (voice to vocals, drums to drums, bass to
    /// bass). None for other, which holds whatever the rest do not.
    public func ownClasses(of stem: SeparationStem, classes: LabelMap = .medleyDB) -> Set<String> {
        guard stem != .other else { return [] }
        var stemsOfClass: [String: Set<SeparationStem?>] = [:]
        for name in classes.normalisedNames {
            guard let code = classes.code(for: name) else { continue }
            stemsOfClass[code, default: []].insert(group(of: [name]))
        }
        return Set(stemsOfClass.filter { $0.value == [stem] }.keys)
    }

    /// The target of a stem playing `instruments` (MedleyDB names); unknown names go to
    /// other, and a stem whose names are all mix-level labels to nothing.
    public func group(of instruments: [String]) -> SeparationStem? {
        var sawLabel = false
        for name in instruments {
            switch groups.lookup(name) {
            case .mapped(let group): return SeparationStem(rawValue: group)
            case .noClass: sawLabel = true
            case .unknown: continue
            }
        }
        return sawLabel ? nil : .other
    }
}
