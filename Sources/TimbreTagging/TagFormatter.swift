import Foundation

/// Output formats of `timbre tag`: an aligned table for people, JSON lines and CSV for
/// pipelines (DESIGN.md). Each call formats one file's result, so output streams.
public enum TagFormat: String, CaseIterable, Sendable {
    case table, jsonl, csv
}

public struct TagFormatter {
    public let format: TagFormat
    public let timeline: Bool
    /// Width of the path column of the table.
    public let pathWidth: Int
    /// When set, JSON lines also give every class's probability, keyed by these codes.
    public let scoreCodes: [String]?

    public init(format: TagFormat, timeline: Bool, pathWidth: Int = 40, scoreCodes: [String]? = nil) {
        self.format = format
        self.timeline = timeline
        self.pathWidth = max(4, pathWidth)
        self.scoreCodes = scoreCodes
    }

    /// Printed once before the first result (the table and CSV headers).
    public var header: String? {
        switch format {
        case .table: return pad("FILE", pathWidth) + "  " + pad("LENGTH", 8) + "  " + pad("WINDOWS", 7) + "  TAGS"
        case .csv: return "path,scope,start_s,end_s,rank,code,name,confidence,note"
        case .jsonl: return nil
        }
    }

    public func format(_ tags: FileTags) -> String {
        switch format {
        case .table: return table(tags)
        case .jsonl: return json(tags)
        case .csv: return csv(tags)
        }
    }

    /// A failed file in the output stream (JSON lines only; the other formats report
    /// failures on standard error alone).
    public func failure(path: String, reason: String) -> String? {
        format == .jsonl ? jsonObject([("path", .string(path)), ("error", .string(reason))]) : nil
    }

    // MARK: Table

    private func table(_ t: FileTags) -> String {
        var line = pad(t.path, pathWidth) + "  " + pad(clock(t.duration), 8) + "  " + pad("\(t.windows)", 7) + "  "
            + (t.isSilent ? t.silenceNote : describe(t.tags, silent: false))
        if t.isPadded { line += "  (shorter than a window: padded)" }
        if let note = t.silencedNote { line += "  (\(note))" }
        guard timeline else { return line }
        for window in t.timeline {
            line += "\n" + pad("", pathWidth) + "  " + clock(window.start) + "–" + clock(window.end) + "  " + describe(window.tags, silent: window.isSilent)
        }
        return line
    }

    private func describe(_ tags: [Tag], silent: Bool) -> String {
        silent ? "silent" : tags.map { tag in
            (tag.isUnsure ? "unsure: " : "") + "\(tag.name) " + String(format: "%.2f", tag.confidence) + (tag.stem.map { " [\($0)]" } ?? "")
        }.joined(separator: ", ")
    }

    private func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.down))
        return String(format: "%d:%02d.%d", whole / 60, whole % 60, Int((seconds - Double(whole)) * 10))
    }

    private func pad(_ text: String, _ width: Int) -> String {
        if text.count > width { return "…" + text.suffix(width - 1) }
        return text + String(repeating: " ", count: width - text.count)
    }

    // MARK: JSON lines

    enum JSONValue {
        case string(String), number(Double), integer(Int), bool(Bool), array([String]), object(String)
        var text: String {
            switch self {
            case .string(let s): return TagFormatter.quote(s)
            case .number(let x): return x.isFinite ? String(format: "%.4f", x) : "null"
            case .integer(let n): return "\(n)"
            case .bool(let b): return b ? "true" : "false"
            case .array(let items): return "[" + items.joined(separator: ",") + "]"
            case .object(let text): return text
            }
        }
    }

    private func jsonObject(_ fields: [(String, JSONValue)]) -> String {
        "{" + fields.map { TagFormatter.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
    }

    private func jsonTags(_ tags: [Tag]) -> JSONValue {
        .array(tags.map { tag in
            jsonObject([("code", .string(tag.code)), ("name", .string(tag.name)), ("confidence", .number(tag.confidence))] + (tag.stem.map { [("stem", .string($0))] } ?? [])
                       + (tag.isUnsure ? [("unsure", .bool(true))] : []))
        })
    }

    /// `{"code": probability, ...}` when scores are asked for and present.
    private func jsonScores(_ scores: [Double]) -> [(String, JSONValue)] {
        guard let codes = scoreCodes, scores.count == codes.count else { return [] }
        return [("scores", .object(jsonObject(zip(codes, scores).map { ($0, JSONValue.number($1)) })))]
    }

    private func json(_ t: FileTags) -> String {
        var fields: [(String, JSONValue)] = [
            ("path", .string(t.path)), ("duration_s", .number(t.duration)), ("windows", .integer(t.windows)), ("tags", jsonTags(t.tags)),
        ]
        fields += jsonScores(t.scores)
        if t.isSilent { fields.append(("silent", .bool(true))) }
        if let quiet = t.quiet {
            fields += [("loudest_dbfs", .number(quiet.loudestDB)), ("gate_dbfs", .number(quiet.gateDB))]
        }
        if t.isPadded { fields.append(("padded", .bool(true))) }
        if t.silencedSamples > 0 { fields.append(("non_finite_samples", .integer(t.silencedSamples))) }
        if timeline {
            fields.append(("timeline", .array(t.timeline.map { window in
                jsonObject([("start_s", .number(window.start)), ("end_s", .number(window.end)), ("silent", .bool(window.isSilent)), ("tags", jsonTags(window.tags))]
                           + jsonScores(window.scores))
            })))
        }
        return jsonObject(fields)
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    // MARK: CSV

    private func csv(_ t: FileTags) -> String {
        func field(_ s: String) -> String { s.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        func rows(scope: String, start: Double, end: Double, tags: [Tag], note: String) -> [String] {
            let times = String(format: "%.3f,%.3f", start, end)
            if tags.isEmpty { return [[field(t.path), scope, times, "", "", "", "", field(note)].joined(separator: ",")] }
            return tags.enumerated().map { rank, tag in
                let rowNote = [note, tag.isUnsure ? "unsure" : ""].filter { !$0.isEmpty }.joined(separator: "; ")
                return [field(t.path), scope, times, "\(rank + 1)", field(tag.code), field(tag.name), String(format: "%.4f", tag.confidence), field(rowNote)].joined(separator: ",")
            }
        }
        let note = [t.isSilent ? t.silenceNote : t.isPadded ? "padded" : "", t.silencedNote ?? ""].filter { !$0.isEmpty }.joined(separator: "; ")
        var lines = rows(scope: "file", start: 0, end: t.duration, tags: t.tags, note: note)
        if timeline {
            for window in t.timeline {
                lines += rows(scope: "window", start: window.start, end: window.end, tags: window.tags, note: window.isSilent ? "silent" : "")
            }
        }
        return lines.joined(separator: "\n")
    }
}
