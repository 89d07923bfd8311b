import Foundation
import TimbreCore

/// An SFZ instrument file read into flat regions: `#define` and `#include` expanded,
/// comments dropped, and every region's opcodes merged with those of the `<global>`,
/// `<master>` and `<group>` headers above it (a region's own opcodes win).
///
/// SFZ is plain text: headers in angle brackets, then `opcode=value` pairs separated by
/// white space. `sample=` values may contain spaces, so a value runs to the next
/// `name=` or header. Paths in `#include` are relative to the top file's folder (in
/// every included file too), and sample paths to that folder plus `<control>`'s
/// `default_path`.
public struct SfzFile {
    /// Opcodes of one region after inheritance, by name.
    public typealias Opcodes = [String: String]

    public let url: URL
    public let regions: [Opcodes]
    /// `<control>` opcodes (default_path, set_cc...).
    public let control: Opcodes

    /// Most nested includes and most text, to refuse a file that includes itself or
    /// expands without bound.
    static let maximumIncludeDepth = 16
    static let maximumTextSize = 32 << 20

    /// Reads `url`; `#include`s are relative to its folder and may not reach outside
    /// `root` (default: that folder; a library whose instruments share data files above
    /// their own folders names its top folder).
    public init(url: URL, root: URL? = nil) throws {
        self.url = url
        var defines: [String: String] = [:]
        var size = 0
        let text = try SfzFile.expand(url, base: url.deletingLastPathComponent(), root: (root ?? url.deletingLastPathComponent()).standardizedFileURL,
                                      defines: &defines, depth: 0, size: &size)
        (regions, control) = SfzFile.parse(text)
    }

    /// Parses expanded text (no directives left) into regions and control opcodes.
    public init(text: String, url: URL) {
        self.url = url
        (regions, control) = SfzFile.parse(SfzFile.stripComments(text))
    }

    // MARK: Preprocessing

    /// The file's text with comments removed, `#define`s substituted and `#include`s
    /// replaced by the included text, recursively.
    static func expand(_ url: URL, base: URL, root: URL, defines: inout [String: String], depth: Int, size: inout Int) throws -> String {
        guard depth <= maximumIncludeDepth else { throw FileError(path: url.path, reason: "includes nest more than \(maximumIncludeDepth) deep") }
        guard let data = FileManager.default.contents(atPath: url.path) else { throw FileError(path: url.path, reason: "cannot read the SFZ file") }
        size += data.count
        guard size <= maximumTextSize else { throw FileError(path: url.path, reason: "SFZ text over \(maximumTextSize >> 20) MB") }
        // SFZ files in the wild are UTF-8 or Latin-1.
        // Windows line ends are common; a stray carriage return must not end up in a value.
        let raw = (String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) ?? "")
            .replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var out = ""
        for line in stripComments(raw).split(separator: "\n", omittingEmptySubsequences: false) {
            // Directives may sit anywhere on a line, between opcodes; each applies to the
            // text after it ("<region> #define $KEY 21 lokey=21 #include "x.txt"").
            var rest = Substring(line)
            while !rest.isEmpty {
                let define = rest.range(of: "#define"), include = rest.range(of: "#include")
                guard let directive = [define, include].compactMap({ $0 }).min(by: { $0.lowerBound < $1.lowerBound }) else {
                    out += substitute(String(rest), defines)
                    break
                }
                out += substitute(String(rest[..<directive.lowerBound]), defines) + " "
                rest = rest[directive.upperBound...]
                if directive == define {
                    // "#define $NAME value": the value is one word.
                    let words = rest.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
                    guard words.count >= 2, words[0].hasPrefix("$") else { break }
                    // Values are short words; a define built of defines must not grow without bound.
                    defines[String(words[0])] = String(substitute(String(words[1]).trimmingCharacters(in: .whitespacesAndNewlines), defines).prefix(1_024))
                    rest = words.count > 2 ? words[2] : ""
                } else {
                    guard let open = rest.firstIndex(of: "\""), let close = rest[rest.index(after: open)...].firstIndex(of: "\"") else { break }
                    let relative = substitute(String(rest[rest.index(after: open)..<close]), defines).replacingOccurrences(of: "\\", with: "/")
                    let included = base.appendingPathComponent(relative).resolvingSymlinksInPath()
                    guard included.path.hasPrefix(root.resolvingSymlinksInPath().path + "/") else {
                        throw FileError(path: url.path, reason: "#include \"\(relative)\" points outside the instrument's folder")
                    }
                    out += try expand(included, base: base, root: root, defines: &defines, depth: depth + 1, size: &size) + "\n"
                    rest = rest[rest.index(after: close)...]
                }
            }
            out += "\n"
            guard out.utf8.count <= maximumTextSize else { throw FileError(path: url.path, reason: "SFZ text over \(maximumTextSize >> 20) MB once expanded") }
        }
        return out
    }

    /// Replaces `$NAME` macros, longest names first so `$A` never eats `$AB`.
    static func substitute(_ text: String, _ defines: [String: String]) -> String {
        guard text.contains("$") else { return text }
        var result = text
        for name in defines.keys.sorted(by: { ($0.count, $1) > ($1.count, $0) }) where result.contains(name) {
            result = result.replacingOccurrences(of: name, with: defines[name]!)
        }
        return result
    }

    /// Removes `// ...` line comments and `/* ... */` block comments.
    static func stripComments(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var chars = Array(text.unicodeScalars)[...]
        var inBlock = false
        while let c = chars.first {
            if inBlock {
                if c == "*", chars.dropFirst().first == "/" { inBlock = false; chars = chars.dropFirst(2) } else { chars = chars.dropFirst() }
                continue
            }
            if c == "/", let next = chars.dropFirst().first {
                if next == "/" {
                    while let d = chars.first, d != "\n" { chars = chars.dropFirst() }
                    continue
                }
                if next == "*" { inBlock = true; chars = chars.dropFirst(2); continue }
            }
            out.unicodeScalars.append(c)
            chars = chars.dropFirst()
        }
        return out
    }

    // MARK: Parsing

    private enum Scope: Int { case global, master, group, region }

    static func parse(_ text: String) -> (regions: [Opcodes], control: Opcodes) {
        var control: Opcodes = [:]
        var scopes: [Opcodes] = [[:], [:], [:], [:]]
        var current: String? = nil
        var regions: [Opcodes] = []
        func finishRegion() {
            guard current == "region" else { return }
            var merged = scopes[0]
            for level in 1...3 { merged.merge(scopes[level]) { $1 } }
            regions.append(merged)
        }
        for token in tokens(text) {
            switch token {
            case .header(let name):
                finishRegion()
                current = name
                switch name {
                case "global": scopes = [[:], [:], [:], [:]]
                case "master": scopes[1] = [:]; scopes[2] = [:]; scopes[3] = [:]
                case "group": scopes[2] = [:]; scopes[3] = [:]
                case "region": scopes[3] = [:]
                default: break
                }
            case .opcode(let name, let value):
                switch current {
                case "control": control[name] = value
                case "global": scopes[0][name] = value
                case "master": scopes[1][name] = value
                case "group": scopes[2][name] = value
                case "region": scopes[3][name] = value
                default: break  // <curve>, <effect>, <midi>: not used for rendering
                }
            }
        }
        finishRegion()
        return (regions, control)
    }

    enum Token: Equatable {
        case header(String)
        case opcode(String, String)
    }

    /// Headers and opcodes in order. A value ends at the next `name=` or header; values of
    /// opcodes other than paths and labels end at white space.
    static func tokens(_ text: String) -> [Token] {
        var result: [Token] = []
        let scalars = Array(text.unicodeScalars)
        var i = 0
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }
        func isNameCharacter(_ c: Unicode.Scalar) -> Bool { CharacterSet.alphanumerics.contains(c) || c == "_" }
        /// True when an opcode name followed by "=" starts at `j`.
        func opcodeStarts(at j: Int) -> Bool {
            var k = j
            while k < scalars.count, isNameCharacter(scalars[k]) { k += 1 }
            return k > j && k < scalars.count && scalars[k] == "="
        }
        while i < scalars.count {
            let c = scalars[i]
            if isSpace(c) { i += 1; continue }
            if c == "<" {
                var j = i + 1
                while j < scalars.count, scalars[j] != ">" { j += 1 }
                result.append(.header(String(String.UnicodeScalarView(scalars[(i + 1)..<min(j, scalars.count)]))))
                i = j + 1
                continue
            }
            if opcodeStarts(at: i) {
                var j = i
                while scalars[j] != "=" { j += 1 }
                let name = String(String.UnicodeScalarView(scalars[i..<j]))
                var k = j + 1
                let spacedValue = name == "sample" || name.hasSuffix("_path") || name.hasSuffix("label") || name.hasPrefix("label_")
                while k < scalars.count {
                    let d = scalars[k]
                    if d == "\n" || d == "\r" || d == "<" { break }
                    if isSpace(d) {
                        if !spacedValue { break }
                        // A space ends a path only where the next opcode begins.
                        var m = k
                        while m < scalars.count, scalars[m] == " " || scalars[m] == "\t" { m += 1 }
                        if m >= scalars.count || scalars[m] == "<" || scalars[m] == "\n" || opcodeStarts(at: m) { break }
                    }
                    k += 1
                }
                let value = String(String.UnicodeScalarView(scalars[(j + 1)..<k])).trimmingCharacters(in: .whitespaces)
                result.append(.opcode(name, value))
                i = k
                continue
            }
            // Stray text: skip the word.
            while i < scalars.count, !isSpace(scalars[i]) { i += 1 }
        }
        return result
    }
}
