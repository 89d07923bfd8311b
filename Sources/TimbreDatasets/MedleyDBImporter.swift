import Foundation
import Yams
import TimbreCore

/// MedleyDB: `<Song>/<Song>_MIX.wav`, `<Song>/<Song>_STEMS/<Song>_STEM_NN.wav` and
/// `<Song>_METADATA.yaml` naming each stem's instrument (a string, or a list in later
/// versions). Each song becomes one multitrack job: stems give clips of their class, and
/// the mix gives multi-label clips. Stems whose instrument has no Timbre class are left out
/// and reported.
public enum MedleyDBImporter {
    /// What one metadata file says.
    public struct Metadata: Equatable {
        public struct Stem: Equatable {
            public let filename: String
            public let instruments: [String]
        }
        public let mixFilename: String
        public let stemDirectory: String
        public let stems: [Stem]
    }

    /// Largest metadata file read (MedleyDB's are a few kilobytes).
    public static let maxMetadataBytes = 1 << 20
    /// Most stems one song may list.
    public static let maxStems = 1_000

    /// Parses a `<Song>_METADATA.yaml` text.
    ///
    /// Aliases are refused before the YAML is composed: MedleyDB metadata never uses them,
    /// and the composer compares mapping keys whole, so an alias bomb used as a key would
    /// cost its full expansion. Only the few fields used are read from the tree.
    public static func parseMetadata(_ text: String, songID: String) throws -> Metadata {
        let path = "\(songID)_METADATA.yaml"
        guard text.utf8.count <= maxMetadataBytes else { throw FileError(path: path, reason: "is larger than 1 MB") }
        guard !YAMLEvents.containsAlias(text) else { throw FileError(path: path, reason: "uses YAML aliases (*name), which metadata files do not need") }
        let composed: Node?
        do { composed = try Yams.compose(yaml: text) } catch { throw FileError(path: path, reason: "is not valid YAML") }
        guard let root = composed, root.mapping != nil else {
            throw FileError(path: path, reason: "is not a YAML mapping")
        }
        let mix = root["mix_filename"]?.scalar?.string ?? "\(songID)_MIX.wav"
        let stemDirectory = root["stem_dir"]?.scalar?.string ?? "\(songID)_STEMS"
        guard let stemTable = root["stems"]?.mapping else {
            throw FileError(path: path, reason: "has no stems mapping")
        }
        guard stemTable.count <= maxStems else { throw FileError(path: path, reason: "lists more than \(maxStems) stems") }
        var stems: [(key: String, stem: Metadata.Stem)] = []
        for (keyNode, stem) in stemTable {
            let key = keyNode.scalar?.string ?? ""
            guard stem.mapping != nil, let filename = stem["filename"]?.scalar?.string else {
                throw FileError(path: path, reason: "stem \(key) has no filename")
            }
            let instruments: [String]
            if let name = stem["instrument"]?.scalar?.string {
                instruments = [name]
            } else if let names = stem["instrument"]?.sequence {
                instruments = names.prefix(64).compactMap { $0.scalar?.string }
            } else {
                instruments = []
            }
            stems.append((key, .init(filename: filename, instruments: instruments)))
        }
        stems.sort { $0.key < $1.key }
        return Metadata(mixFilename: mix, stemDirectory: stemDirectory, stems: stems.map(\.stem))
    }

    public static func importRoot(_ root: URL, taxonomy: Taxonomy, instruments: LabelMap = .medleyDB) -> ImportResult {
        var result = ImportResult(layout: .medleydb)
        var noClass: [String: Int] = [:]
        var unknown: [String: Int] = [:]
        let metadataFiles = AudioFileFinder.allFiles(under: root).filter { $0.lastPathComponent.hasSuffix("_METADATA.yaml") }
        for metadataURL in metadataFiles {
            let songID = String(metadataURL.lastPathComponent.dropLast("_METADATA.yaml".count))
            let relativeMetadata = AudioFileFinder.relativePath(of: metadataURL, to: root)
            let metadata: Metadata
            do {
                metadata = try parseMetadata(readText(metadataURL, songID: songID), songID: songID)
            } catch let error as FileError {
                result.failures.append(FileError(path: relativeMetadata, reason: error.reason))
                continue
            } catch {
                result.failures.append(FileError(path: relativeMetadata, reason: "unreadable metadata (\(ErrorDescription.line(error)))"))
                continue
            }
            let songFolder = metadataURL.deletingLastPathComponent()
            var stems: [LabelledAudio] = []
            var mixClasses = Set<Int>()
            // A path in the metadata that leads outside the data set refuses the song.
            var outside: String?
            for stem in metadata.stems {
                var indices: [Int] = []
                for name in stem.instruments {
                    switch instruments.lookup(name) {
                    case .mapped(let code): if let index = taxonomy.index(of: code), !indices.contains(index) { indices.append(index) }
                    case .noClass: noClass[name, default: 0] += 1
                    case .unknown: unknown[name, default: 0] += 1
                    }
                }
                guard !indices.isEmpty else { continue }
                guard let url = ConfinedPath.resolve(metadata.stemDirectory + "/" + stem.filename, from: songFolder, inside: root) else {
                    outside = stem.filename
                    break
                }
                stems.append(LabelledAudio(url: url, relativePath: AudioFileFinder.relativePath(of: url, to: root), classIndices: indices))
                mixClasses.formUnion(indices)
            }
            let mixURL = ConfinedPath.resolve(metadata.mixFilename, from: songFolder, inside: root)
            if mixURL == nil { outside = metadata.mixFilename }
            guard let mixURL, outside == nil else {
                result.failures.append(FileError(path: relativeMetadata, reason: "names \"\(outside ?? "")\", which lies outside the data set"))
                continue
            }
            let mix = LabelledAudio(url: mixURL, relativePath: AudioFileFinder.relativePath(of: mixURL, to: root), classIndices: mixClasses.sorted())
            result.jobs.append(.multitrack(mix: mix, stems: stems, group: "medleydb:\(songID)"))
        }
        if !noClass.isEmpty {
            result.notes.append("stems left out, instrument has no Timbre class: " + summary(noClass))
        }
        if !unknown.isEmpty {
            result.notes.append("stems left out, instrument not in labels/medleydb.csv: " + summary(unknown))
        }
        return result
    }

    /// The metadata file's text, read only when it is a regular file of at most
    /// `maxMetadataBytes`.
    public static func readText(_ url: URL, songID: String) throws -> String {
        let path = "\(songID)_METADATA.yaml"
        switch CappedFile.read(url, limit: maxMetadataBytes) {
        case .missing: throw FileError(path: path, reason: "cannot be read")
        case .tooLarge: throw FileError(path: path, reason: "is larger than 1 MB")
        case .unreadable(let reason): throw FileError(path: path, reason: reason)
        case .contents(let data):
            guard let text = String(data: data, encoding: .utf8) else { throw FileError(path: path, reason: "cannot be read as UTF-8 text") }
            return text
        }
    }

    private static func summary(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
    }
}
