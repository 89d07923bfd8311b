import Foundation
import Testing
import TimbreCore

/// `datasets/sources.csv` is how a user finds every sound source again, and
/// `scripts/get-sources.sh` fetches from it: each row must parse into the header's fields,
/// pin what it fetches and name its licence, and every family `timbre synth` plays must
/// be documented there.
@Suite struct SourceListTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func table(_ path: String) throws -> CSVTable {
        try CSVTable(url: root.appendingPathComponent(path))
    }

    @Test func everySourceParsesAndPinsWhatItFetches() throws {
        let sources = try Self.table("datasets/sources.csv")
        #expect(sources.header == ["name", "kind", "origin", "version", "checksum", "licence", "families", "classes", "what"])
        #expect(sources.rows.count > 20)
        let commit = /[0-9a-f]{40}/
        for row in sources.rows {
            let name = row["name"] ?? ""
            for field in ["name", "kind", "origin", "version", "checksum", "licence", "families", "what"] {
                #expect(!(row[field] ?? "").isEmpty, "\(name): no \(field)")
            }
            switch row["kind"] {
            case "github": #expect((try? commit.wholeMatch(in: row["version"] ?? "")) != nil, "\(name): version is not a commit")
            case "debian": #expect(row["checksum"]?.hasPrefix("sha256:") == true, "\(name): no sha256 of the package")
            default: Issue.record("\(name): unknown kind \(row["kind"] ?? "")")
            }
        }
    }

    @Test func everySoundFamilyIsDocumented() throws {
        let documented = Set(try Self.table("datasets/sources.csv").rows.flatMap { ($0["families"] ?? "").split(separator: " ").map(String.init) })
        let played = Set(try Self.table("labels/sound-sources.csv").rows.compactMap { $0["family"] })
        #expect(played.count > 20)
        #expect(played.subtracting(documented).isEmpty, "undocumented families: \(played.subtracting(documented).sorted())")
    }
}
