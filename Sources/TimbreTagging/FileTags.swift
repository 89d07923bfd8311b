import TimbreAudio

/// One instrument reported for a file or a window, with the model's probability.
public struct Tag: Equatable, Sendable, Codable {
    public let code: String
    public let name: String
    public let confidence: Double
    /// The separated stem the tag came from (`tag --separate`), else nil.
    public var stem: String? = nil
    /// The most probable class, reported although it is under its threshold: the model
    /// recognises none of its classes with confidence.
    public var isUnsure = false
}

/// What one window of a file holds.
public struct WindowTags: Equatable, Sendable {
    public let start: Double
    public let end: Double
    /// Below the RMS gate: not classified.
    public let isSilent: Bool
    public let tags: [Tag]
    /// Every class's probability in this window (empty when silent), in the model's order.
    public var scores: [Double] = []
}

/// The result of tagging one file.
public struct FileTags: Equatable, Sendable {
    public let path: String
    public let duration: Double
    /// Windows the file was cut into (silent ones included).
    public let windows: Int
    /// The whole file was below the RMS gate: no instrument is claimed.
    public let isSilent: Bool
    /// Shorter than one window: zero-padded to a full window (less context than the model
    /// was trained with).
    public let isPadded: Bool
    public let tags: [Tag]
    public let timeline: [WindowTags]
    /// Every class's mean probability over the file's sounding windows (empty when silent).
    public var scores: [Double] = []
    /// Set when the file is not silent but every window is under the gate: a quiet
    /// recording, which a lower `--rms-threshold-db` would tag.
    public var quiet: Quiet?
    /// NaN or infinite samples in the file, read as silence (a damaged float file).
    public var silencedSamples = 0

    public struct Quiet: Equatable, Sendable {
        /// RMS level of the loudest window, dBFS.
        public let loudestDB: Double
        /// The gate it stayed under, dBFS.
        public let gateDB: Double
    }

    /// What the output says of samples read as silence, or nil when there were none.
    public var silencedNote: String? { AudioFileReader.silencedNote(silencedSamples) }

    /// What the output says of a file without tags: "silent", or "below the gate (−52 dBFS)".
    public var silenceNote: String {
        guard let quiet else { return "silent" }
        return String(format: "below the gate (%.0f dBFS, gate %.0f dBFS)", quiet.loudestDB, quiet.gateDB).replacingOccurrences(of: "-", with: "−")
    }
}
