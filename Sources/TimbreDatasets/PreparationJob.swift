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

/// What an importer found under an input root.
public struct ImportResult: Sendable {
    public var layout: DatasetLayout
    public var jobs: [PreparationJob] = []
    /// Files that cannot be used (unknown label codes, unreadable metadata); each counts
    /// as a failed input.
    public var failures: [FileError] = []
    /// Things skipped on purpose and worth telling (e.g. stems with no Timbre class).
    public var notes: [String] = []

    public init(layout: DatasetLayout) { self.layout = layout }
}
