import Foundation
import TimbreCore

/// Puts the feature files of `prepare --shard` back together as one file that `train`,
/// `evaluate` and h5py read like any other.
///
/// By default the merged /mel is an HDF5 virtual dataset over the shards' /mel: nothing is
/// copied, and the shards must stay where they are (paths are recorded relative to the
/// merged file when they share a folder tree). `copy` writes a self-contained file
/// instead, moving the compressed chunks as they are. The small per-clip arrays are always
/// copied; recordings get new group ids so that two shards' ids never coincide.
public enum FeatureFileMerger {
    /// - Throws: `FileError` naming the first shard that differs from the first one in
    ///   classes or feature settings; nothing is written then.
    public static func merge(_ shards: [URL], into destination: URL, copy: Bool) throws {
        guard let firstURL = shards.first else { throw FileError(path: destination.path, reason: "no shards to merge") }
        let readers = try shards.map { try FeatureFileReader(url: $0) }
        let first = readers[0].metadata
        for reader in readers.dropFirst() {
            let other = reader.metadata
            var differences: [String] = []
            if other.classCodes != first.classCodes { differences.append("classes \(other.classCodes) (first: \(first.classCodes))") }
            differences += first.settings.logMelDifferences(from: other.settings, mineCalled: "first")
            if other.settings.rmsThresholdDB != first.settings.rmsThresholdDB { differences.append("rms_threshold_db \(other.settings.rmsThresholdDB) (first: \(first.settings.rmsThresholdDB))") }
            if other.settings.clipHopSeconds != first.settings.clipHopSeconds { differences.append("clip_hop_seconds \(other.settings.clipHopSeconds) (first: \(first.settings.clipHopSeconds))") }
            if other.resampler != first.resampler { differences.append("resampler \"\(other.resampler)\" (first: \"\(first.resampler)\")") }
            if other.multitrackClips != first.multitrackClips {
                differences.append("multitrack_clips \"\(other.multitrackClips ?? "both")\" (first: \"\(first.multitrackClips ?? "both")\")")
            }
            if other.stemClipClasses != first.stemClipClasses {
                func shown(_ codes: [String]?) -> String { codes?.joined(separator: ",") ?? "every class" }
                differences.append("stem_clip_classes \"\(shown(other.stemClipClasses))\" (first: \"\(shown(first.stemClipClasses))\")")
            }
            guard differences.isEmpty else {
                throw FileError(path: reader.url.path, reason: "cannot be merged with \(firstURL.lastPathComponent): \(differences.joined(separator: ", "))")
            }
        }
        // Each file's groups are renumbered after the earlier files', within 32 bits.
        var groupBases: [Int32] = [], next = 0
        for reader in readers {
            let top = next + Int(reader.groups.max() ?? -1)
            guard top < Int(Int32.max) else {
                throw FileError(path: reader.url.path, reason: "its group numbers after the earlier files' pass 2^31; merge fewer files at once")
            }
            groupBases.append(Int32(next))
            next = top + 1
        }
        var metadata = first
        metadata.shard = nil
        metadata.inputs = unique(readers.flatMap(\.metadata.inputs))
        metadata.layouts = unique(readers.flatMap(\.metadata.layouts))
        let writer = copy
            ? try FeatureFileWriter(destination: destination, metadata: metadata)
            : try FeatureFileWriter(destination: destination, metadata: metadata,
                                    virtualMelFrom: readers.map { (recordedPath(of: $0.url, from: destination), $0.count) })
        for (reader, base) in zip(readers, groupBases) {
            for row in 0..<reader.count {
                let clip = EncodedClip(melChunk: copy ? try reader.encodedMel(at: row) : [], classIndices: reader.classIndices(of: row),
                                       source: reader.sources[row], offset: reader.offsets[row], group: base + reader.groups[row],
                                       rmsDB: reader.rmsDB[row])
                if copy { try writer.append(clip) } else { writer.appendReference(clip) }
            }
        }
        try writer.commit()
    }

    /// `shard` as the merged file at `destination` should name it: relative to the merged
    /// file's folder when one lies inside the other's tree, else absolute.
    static func recordedPath(of shard: URL, from destination: URL) -> String {
        let folder = destination.deletingLastPathComponent().standardizedFileURL.path
        let path = shard.standardizedFileURL.path
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    private static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}
