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

    /// Parses a `<Song>_METADATA.yaml` text.
    public static func parseMetadata(_ text: String, songID: String) throws -> Metadata {
        guard let root = try Yams.load(yaml: text) as? [String: Any] else {
            throw FileError(path: "\(songID)_METADATA.yaml", reason: "is not a YAML mapping")
        }
        let mix = (root["mix_filename"] as? String) ?? "\(songID)_MIX.wav"
        let stemDirectory = (root["stem_dir"] as? String) ?? "\(songID)_STEMS"
        guard let stemTable = root["stems"] as? [String: Any] else {
            throw FileError(path: "\(songID)_METADATA.yaml", reason: "has no stems mapping")
        }
        var stems: [Metadata.Stem] = []
        for key in stemTable.keys.sorted() {
            guard let stem = stemTable[key] as? [String: Any], let filename = stem["filename"] as? String else {
                throw FileError(path: "\(songID)_METADATA.yaml", reason: "stem \(key) has no filename")
            }
            let instruments: [String]
            switch stem["instrument"] {
            case let name as String: instruments = [name]
            case let names as [Any]: instruments = names.compactMap { $0 as? String }
            default: instruments = []
            }
            stems.append(.init(filename: filename, instruments: instruments))
        }
        return Metadata(mixFilename: mix, stemDirectory: stemDirectory, stems: stems)
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
                metadata = try parseMetadata(String(contentsOf: metadataURL, encoding: .utf8), songID: songID)
            } catch let error as FileError {
                result.failures.append(FileError(path: relativeMetadata, reason: error.reason))
                continue
            } catch {
                result.failures.append(FileError(path: relativeMetadata, reason: "unreadable metadata (\(error))"))
                continue
            }
            let songFolder = metadataURL.deletingLastPathComponent()
            var stems: [LabelledAudio] = []
            var mixClasses = Set<Int>()
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
                let url = songFolder.appendingPathComponent(metadata.stemDirectory).appendingPathComponent(stem.filename)
                stems.append(LabelledAudio(url: url, relativePath: AudioFileFinder.relativePath(of: url, to: root), classIndices: indices))
                mixClasses.formUnion(indices)
            }
            let mixURL = songFolder.appendingPathComponent(metadata.mixFilename)
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

    private static func summary(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
    }
}
