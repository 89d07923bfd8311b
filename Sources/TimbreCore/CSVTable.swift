import Foundation

/// A small CSV reader for Timbre's label tables: a header row, comma-separated fields,
/// double-quoted fields may hold commas and doubled quotes.
public struct CSVTable {
    public let header: [String]
    public let rows: [[String: String]]

    public init(url: URL) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard let first = lines.first else { throw FileError(path: url.path, reason: "empty table") }
        let header = CSVTable.fields(of: first)
        self.header = header
        rows = try lines.dropFirst().map { line in
            let values = CSVTable.fields(of: line)
            guard values.count == header.count else {
                throw FileError(path: url.path, reason: "row has \(values.count) fields, header has \(header.count): \(line)")
            }
            return Dictionary(uniqueKeysWithValues: zip(header, values))
        }
    }

    public static func fields(of line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        while let char = iterator.next() {
            if quoted {
                if char == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { current.append("\"") } else {
                            quoted = false
                            if next == "," { fields.append(current); current = "" } else { current.append(next) }
                        }
                    } else { quoted = false }
                } else { current.append(char) }
            } else if char == "\"" {
                quoted = true
            } else if char == "," {
                fields.append(current)
                current = ""
            } else {
                current.append(char)
            }
        }
        fields.append(current)
        return fields.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
