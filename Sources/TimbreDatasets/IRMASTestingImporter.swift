import Foundation
import TimbreCore

/// IRMAS testing data: variable-length excerpts, each with a `.txt` of the same name
/// listing 1–5 class codes, one per line (lines may end in tabs or spaces). Multi-label.
/// Excerpts of one song are named `<song>-<n>`, which gives the split group.
public enum IRMASTestingImporter {
    /// The class codes in a label file's text, in order, without blanks or duplicates.
    public static func parseLabels(_ text: String) -> [String] {
        var codes: [String] = []
        var seen = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) {
            let code = line.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            if !code.isEmpty && seen.insert(code).inserted { codes.append(code) }
        }
        return codes
    }

    /// Song name of an excerpt: the file name without extension and trailing `-<digits>`.
    public static func song(of fileName: String) -> String {
        let stem = FileName.withoutExtension(fileName)
        if let dash = stem.lastIndex(of: "-"), stem[stem.index(after: dash)...].allSatisfy(\.isNumber), stem.index(after: dash) < stem.endIndex {
            return String(stem[..<dash]).trimmingCharacters(in: .whitespaces)
        }
        return stem
    }

    /// Largest label file read (IRMAS's hold a few codes).
    public static let maxLabelBytes = 1 << 16

    public static func importRoot(_ root: URL, taxonomy: Taxonomy) -> ImportResult {
        var result = ImportResult(layout: .irmasTest)
        for url in AudioFileFinder.audioFiles(under: root) {
            let relative = AudioFileFinder.relativePath(of: url, to: root)
            let labelName = url.deletingPathExtension().appendingPathExtension("txt").lastPathComponent
            // The label file is named after the audio, not found by the walk: a link to
            // anything outside the data set is refused like a metadata path.
            guard let labelURL = ConfinedPath.resolve(labelName, from: url.deletingLastPathComponent(), inside: root) else {
                result.failures.append(FileError(path: relative, reason: "label file \(labelName) leads outside the data set"))
                continue
            }
            let data: Data
            switch CappedFile.read(labelURL, limit: maxLabelBytes) {
            case .missing:
                result.failures.append(FileError(path: relative, reason: "no label file \(labelURL.lastPathComponent)"))
                continue
            case .tooLarge:
                result.failures.append(FileError(path: relative, reason: "label file \(labelURL.lastPathComponent) is larger than 64 KB"))
                continue
            case .unreadable(let reason):
                result.failures.append(FileError(path: relative, reason: "label file \(labelURL.lastPathComponent): \(reason)"))
                continue
            case .contents(let contents):
                data = contents
            }
            // UTF-8 first; any other bytes are read as Latin-1, which every byte string is.
            let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) ?? ""
            let codes = parseLabels(text)
            let unknown = codes.filter { taxonomy.index(of: $0) == nil }
            guard unknown.isEmpty, !codes.isEmpty else {
                let reason = codes.isEmpty ? "label file is empty" : "unknown class code(s) \(unknown.joined(separator: ", ")) in \(labelURL.lastPathComponent)"
                result.failures.append(FileError(path: relative, reason: reason))
                continue
            }
            let folder = relative.split(separator: "/").dropLast().joined(separator: "/")
            let group = "irmas-test:\(folder)/\(song(of: url.lastPathComponent))"
            let audio = LabelledAudio(url: url, relativePath: relative, classIndices: codes.compactMap(taxonomy.index(of:)))
            result.jobs.append(.single(audio, group: group))
        }
        return result
    }
}
