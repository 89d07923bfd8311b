import Foundation
import TimbreCore

/// An audio file and the classes it is labelled with.
public struct LabelledAudio: Sendable, Equatable {
    public let url: URL
    /// Path relative to the input root, recorded as provenance.
    public let relativePath: String
    /// Indices into the taxonomy.
    public let classIndices: [Int]

    public init(url: URL, relativePath: String, classIndices: [Int]) {
        self.url = url
        self.relativePath = relativePath
        self.classIndices = classIndices
    }
}

/// One unit of feature extraction: a labelled file, or a multitrack song whose stems are
/// labelled and whose mix takes, clip by clip, the labels of the stems sounding in it.
public enum PreparationJob: Sendable, Equatable {
    case single(LabelledAudio, group: String)
    case multitrack(mix: LabelledAudio, stems: [LabelledAudio], group: String)

    /// Recording id; clips of one group never straddle a train/validation split.
    public var group: String {
        switch self {
        case .single(_, let group), .multitrack(_, _, let group): return group
        }
    }

    /// The file the job is known by in messages and resume records.
    public var primary: LabelledAudio {
        switch self {
        case .single(let audio, _): return audio
        case .multitrack(let mix, _, _): return mix
        }
    }

    /// Every file the job reads.
    public var files: [LabelledAudio] {
        switch self {
        case .single(let audio, _): return [audio]
        case .multitrack(let mix, let stems, _): return [mix] + stems
        }
    }
}

/// Which clips a multitrack song gives. A mix clip is labelled by the stems sounding in it
/// either way, so the stems are always read; `mixes` and `stems` only choose what is kept.
public enum MultitrackClips: String, CaseIterable, Sendable {
    /// The stems' single-label clips and the mix's multi-label clips.
    case both
    /// Only the mix clips: the polyphonic examples without the solo ones.
    case mixes
    /// Only the stem clips.
    case stems

    public var keepsMixes: Bool { self != .stems }
    public var keepsStems: Bool { self != .mixes }
}

/// What an importer found under an input root.
public struct ImportResult: Sendable {
    public var layout: DatasetLayout
    public var jobs: [PreparationJob] = []
    /// Files that cannot be used (unknown label codes, unreadable metadata); each counts
    /// as a failed input.
    public var failures: [FileError] = []
    /// Things skipped on purpose and worth telling (e.g. stems with no Timbre class).
    public var notes: [String] = []
    /// The layouts read and the jobs each gave: one part for a plain root, one per
    /// top-level folder when a root holds several layouts side by side.
    public var parts: [ImportPart] = []

    public init(layout: DatasetLayout) { self.layout = layout }

    /// The same result with `prefix` before every relative path, group and failure path.
    func prefixed(_ prefix: String) -> ImportResult {
        var copy = self
        copy.jobs = jobs.map { $0.prefixed(prefix) }
        copy.failures = failures.map { FileError(path: prefix + $0.path, reason: $0.reason) }
        copy.parts = parts.map { ImportPart(folder: prefix + $0.folder, layout: $0.layout, jobs: $0.jobs) }
        return copy
    }
}

/// One layout found under an input root.
public struct ImportPart: Sendable, Equatable {
    /// Relative to the root, ending in "/"; empty for the root itself.
    public var folder: String
    public var layout: DatasetLayout
    public var jobs: Int

    public init(folder: String, layout: DatasetLayout, jobs: Int) {
        self.folder = folder
        self.layout = layout
        self.jobs = jobs
    }

    /// "irmas: 120 files", or "MedleyDB/ (medleydb): 4 files".
    public var description: String {
        (folder.isEmpty ? layout.rawValue : "\(folder) (\(layout.rawValue))") + ": \(jobs) file\(jobs == 1 ? "" : "s")"
    }
}

extension PreparationJob {
    /// The job with `prefix` before its relative paths and group (an input among several).
    public func prefixed(_ prefix: String) -> PreparationJob {
        guard !prefix.isEmpty else { return self }
        func fix(_ audio: LabelledAudio) -> LabelledAudio {
            LabelledAudio(url: audio.url, relativePath: prefix + audio.relativePath, classIndices: audio.classIndices)
        }
        switch self {
        case .single(let audio, let group): return .single(fix(audio), group: prefix + group)
        case .multitrack(let mix, let stems, let group): return .multitrack(mix: fix(mix), stems: stems.map(fix), group: prefix + group)
        }
    }
}
