/// Merges the tags of a file's separated stems into the file's tags: each stem is tagged
/// on its own (silent stems drop out under the gate), and a class present in several stems
/// keeps its most confident one, which the tag names. Windows line up because every stem
/// is as long as the file.
public enum StemTagMerger {
    public static func merge(path: String, stems: [(stem: String, tags: FileTags)]) -> FileTags {
        let sounding = stems.filter { !$0.tags.isSilent }
        let duration = stems.map(\.tags.duration).max() ?? 0, windows = stems.map(\.tags.windows).max() ?? 0
        guard !sounding.isEmpty else {
            return FileTags(path: path, duration: duration, windows: windows, isSilent: true, isPadded: stems.contains { $0.tags.isPadded },
                            tags: [], timeline: stems.first?.tags.timeline ?? [])
        }
        let tags = union(sounding.map { stem in stem.tags.tags.map { tagged($0, stem.stem) } })
        let windowCount = sounding.map(\.tags.timeline.count).max() ?? 0
        let timeline = (0..<windowCount).map { index -> WindowTags in
            let present = sounding.compactMap { stem in index < stem.tags.timeline.count ? (stem.stem, stem.tags.timeline[index]) : nil }
            let first = present[0].1
            let loud = present.filter { !$0.1.isSilent }
            var scores: [Double] = []
            if let width = loud.first?.1.scores.count, width > 0 {
                scores = (0..<width).map { k in loud.map { $0.1.scores.count == width ? $0.1.scores[k] : 0 }.max() ?? 0 }
            }
            return WindowTags(start: first.start, end: first.end, isSilent: loud.isEmpty,
                              tags: union(loud.map { stem, window in window.tags.map { tagged($0, stem) } }), scores: scores)
        }
        var merged = FileTags(path: path, duration: duration, windows: windows, isSilent: false, isPadded: sounding.contains { $0.tags.isPadded },
                              tags: tags, timeline: timeline)
        if let width = sounding.first?.tags.scores.count, width > 0 {
            merged.scores = (0..<width).map { k in sounding.map { $0.tags.scores.count == width ? $0.tags.scores[k] : 0 }.max() ?? 0 }
        }
        return merged
    }

    static func tagged(_ tag: Tag, _ stem: String) -> Tag {
        var tag = tag
        tag.stem = stem
        return tag
    }

    /// One tag per class, the most confident, most confident first.
    static func union(_ lists: [[Tag]]) -> [Tag] {
        var best: [String: Tag] = [:]
        for tag in lists.joined() where (best[tag.code]?.confidence ?? -1) < tag.confidence { best[tag.code] = tag }
        return best.values.sorted { $0.confidence != $1.confidence ? $0.confidence > $1.confidence : $0.code < $1.code }
    }
}
