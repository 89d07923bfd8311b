import COpenBLAS
import Foundation
import TimbreAudio
import TimbreCore
import TimbreDatasets

/// One song's sources, mono at the separator's rate, each assigned to a target stem.
/// Training mixes are formed from these on the fly and never stored.
public struct Multitrack: Sendable {
    public struct Source: Sendable {
        public let stem: SeparationStem
        /// What the source is (a MedleyDB instrument name, or the MUSDB stem name).
        public let instrument: String
        public let samples: [Float]
    }

    public let name: String
    public let sampleRate: Int
    public let sources: [Source]

    public init(name: String, sampleRate: Int, sources: [Source]) {
        self.name = name
        self.sampleRate = sampleRate
        self.sources = sources
    }

    /// Samples of the shortest source: every chunk lies within all of them.
    public var length: Int { sources.map(\.samples.count).min() ?? 0 }

    /// The targets this song has a source for.
    public var stems: Set<SeparationStem> { Set(sources.map(\.stem)) }

    /// The sum of the sources assigned to each target (silence where a target has none).
    public func groupedStems() -> [SeparationStem: [Float]] {
        var result: [SeparationStem: [Float]] = [:]
        for stem in SeparationStem.allCases { result[stem] = [Float](repeating: 0, count: length) }
        for source in sources {
            for i in 0..<length { result[source.stem]![i] += source.samples[i] }
        }
        return result
    }
}

/// Finds and reads multitrack songs in the MedleyDB layout (`<Song>/<Song>_METADATA.yaml`
/// and `<Song>_STEMS/`) and the MUSDB18 layout (`<track>/mixture.*` beside `vocals`,
/// `drums`, `bass` and `other`, e.g. MUSDB18-HQ's WAV files).
public enum MultitrackLibrary {
    /// A song found on disk, not yet read.
    public struct Entry: Sendable, Equatable {
        public enum Layout: Sendable, Equatable { case medleyDB, musdb }
        public let name: String
        public let folder: URL
        public let layout: Layout
    }

    static let audioExtensions: Set<String> = ["wav", "flac", "aif", "aiff", "ogg", "oga", "opus", "mp3"]

    /// Every song folder under `root` (the root itself may be one), sorted by name.
    public static func find(_ root: URL) throws -> [Entry] {
        guard FileSystemName.status(of: root.path).isFolder else { throw FileError(path: root.path, reason: "no such folder") }
        var entries: [Entry] = []
        var folders = [root]
        while let folder = folders.popLast() {
            // Names by their bytes, so a song whose name is not UTF-8 still opens.
            let names = FileSystemName.entries(of: folder.path)
            if let metadata = names.first(where: { $0.hasSuffix("_METADATA.yaml") && !$0.hasPrefix(".") }) {
                entries.append(Entry(name: String(metadata.dropLast("_METADATA.yaml".count)), folder: folder, layout: .medleyDB))
                continue
            }
            let stems = Set(names.map { ($0 as NSString).deletingPathExtension.lowercased() })
            if stems.contains("mixture"), SeparationStem.allCases.contains(where: { stems.contains($0.rawValue) }) {
                entries.append(Entry(name: folder.lastPathComponent, folder: folder, layout: .musdb))
                continue
            }
            for name in names where !name.hasPrefix(".") {
                // Links to folders are not followed: the walk stays inside `root`.
                let child = folder.appendingPathComponent(name)
                var status = stat()
                if FileSystemName.withPath(child.path, { lstat($0, &status) }) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
                    folders.append(child)
                }
            }
        }
        return entries.sorted { $0.name < $1.name }
    }

    /// A song's source files, each with its target and what it is; stems whose instrument
    /// is only a mix-level label are left out.
    /// - Throws: `FileError` for unreadable metadata or a stem outside the song's folder.
    public static func sourceFiles(_ entry: Entry, groups: StemGroups = .standard) throws -> [(stem: SeparationStem, instrument: String, url: URL)] {
        var files: [(stem: SeparationStem, instrument: String, url: URL)] = []
        switch entry.layout {
        case .medleyDB:
            let metadataURL = entry.folder.appendingPathComponent("\(entry.name)_METADATA.yaml")
            let metadata: MedleyDBImporter.Metadata
            do {
                metadata = try MedleyDBImporter.parseMetadata(MedleyDBImporter.readText(metadataURL, songID: entry.name), songID: entry.name)
            } catch let error as FileError {
                throw FileError(path: metadataURL.path, reason: error.reason)
            }
            for stem in metadata.stems {
                guard let group = groups.group(of: stem.instruments) else { continue }
                // A stem named in untrusted metadata must stay inside the song's folder.
                guard let url = ConfinedPath.resolve(metadata.stemDirectory + "/" + stem.filename, from: entry.folder, inside: entry.folder) else {
                    throw FileError(path: metadataURL.path, reason: "stem \(stem.filename) points outside the song folder")
                }
                files.append((group, stem.instruments.first ?? "unknown", url))
            }
        case .musdb:
            let names = FileSystemName.entries(of: entry.folder.path).sorted()
            for stem in SeparationStem.allCases {
                guard let file = names.first(where: {
                    ($0 as NSString).deletingPathExtension.lowercased() == stem.rawValue && audioExtensions.contains(($0 as NSString).pathExtension.lowercased())
                }) else { continue }
                // A stem that is a link must still lead to a file inside the track's folder.
                guard let url = ConfinedPath.resolve(file, from: entry.folder, inside: entry.folder) else {
                    throw FileError(path: entry.folder.appendingPathComponent(file).path, reason: "leads outside the track folder")
                }
                files.append((stem, stem.rawValue, url))
            }
        }
        guard !files.isEmpty else { throw FileError(path: entry.folder.path, reason: "no stems that belong to a separation target") }
        return files
    }

    /// Reads a song's sources as mono at `sampleRate`.
    /// - Throws: `FileError` naming the file that cannot be read, or that holds NaN or
    ///   infinite samples: every mixture drawn from it would make the loss NaN, and training
    ///   would stop blaming the learning rate.
    public static func load(_ entry: Entry, sampleRate: Int, groups: StemGroups = .standard) throws -> Multitrack {
        let sources = try sourceFiles(entry, groups: groups).map { file in
            let samples = try MonoAudioStream.load(file.url, sampleRate: sampleRate).samples
            if let first = samples.firstIndex(where: { !$0.isFinite }) {
                let seconds = String(format: "%.2f", Double(first) / Double(sampleRate))
                throw FileError(path: file.url.path, reason: "NaN or infinite samples from about \(seconds) s; song left out")
            }
            return Multitrack.Source(stem: file.stem, instrument: file.instrument, samples: samples)
        }
        return Multitrack(name: entry.name, sampleRate: sampleRate, sources: sources)
    }

    /// Reads songs on every core, one per worker; each result is the song or why it could
    /// not be read, in the entries' order. Leaves OpenBLAS on one thread for the process, as
    /// the separator trainer that follows wants it.
    public static func loadAll(_ entries: [Entry], sampleRate: Int, groups: StemGroups = .standard) -> [Result<Multitrack, Error>] {
        // The resampler's matrix products are small; BLAS threads beside the song workers
        // would only spin waiting for work.
        openblas_set_num_threads(1)
        final class Slots: @unchecked Sendable {
            var values: [Result<Multitrack, Error>?]
            let lock = NSLock()
            init(_ count: Int) { values = Array(repeating: nil, count: count) }
        }
        let slots = Slots(entries.count)
        DispatchQueue.concurrentPerform(iterations: entries.count) { index in
            let result = Result { try load(entries[index], sampleRate: sampleRate, groups: groups) }
            slots.lock.lock(); slots.values[index] = result; slots.lock.unlock()
        }
        return slots.values.map { $0! }
    }
}
