import Foundation
import TimbreCore

/// IRMAS training data: `<class>/[cel][cla]0001__1.wav`, where the first bracket is the
/// predominant instrument, later brackets are drums (`[dru]`/`[nod]`) and genre (note that
/// genre `[cla]` is "classical", not clarinet), the number is the song and `__1` the
/// excerpt. Some names carry a numeric prefix such as `008__` before the brackets.
public enum IRMASTrainingImporter {
    /// The parts of an IRMAS training file name.
    public struct Name: Equatable {
        public let instrument: String
        public let song: String?
    }

    /// Parses a file name; nil when it does not start with a bracketed code.
    public static func parse(_ fileName: String) -> Name? {
        var rest = Substring(FileName.withoutExtension(fileName))
        // Optional numeric prefix "008__".
        if let prefixEnd = rest.range(of: "__"), rest[..<prefixEnd.lowerBound].allSatisfy(\.isNumber), !rest[..<prefixEnd.lowerBound].isEmpty {
            rest = rest[prefixEnd.upperBound...]
        }
        var codes: [String] = []
        while rest.first == "[", let close = rest.firstIndex(of: "]") {
            codes.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        guard let instrument = codes.first, !instrument.isEmpty else { return nil }
        let digits = rest.prefix(while: \.isNumber)
        return Name(instrument: instrument.lowercased(), song: digits.isEmpty ? nil : String(digits))
    }

    public static func importRoot(_ root: URL, taxonomy: Taxonomy) -> ImportResult {
        var result = ImportResult(layout: .irmas)
        for url in AudioFileFinder.audioFiles(under: root) {
            let relative = AudioFileFinder.relativePath(of: url, to: root)
            guard let name = parse(url.lastPathComponent) else {
                result.failures.append(FileError(path: relative, reason: "name does not start with an IRMAS [code]"))
                continue
            }
            guard let index = taxonomy.index(of: name.instrument) else {
                result.failures.append(FileError(path: relative, reason: "unknown class code [\(name.instrument)]"))
                continue
            }
            // The song number identifies the recording; excerpts of one song share it.
            let group = name.song.map { "irmas:\($0)" } ?? "file:\(relative)"
            result.jobs.append(.single(LabelledAudio(url: url, relativePath: relative, classIndices: [index]), group: group))
        }
        return result
    }
}
