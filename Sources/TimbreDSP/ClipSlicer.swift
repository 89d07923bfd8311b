/// One fixed-length window cut from a longer signal.
public struct Clip: Sendable {
    /// Position of the first sample in the source, in samples.
    public let start: Int
    /// Exactly `clipLength` samples; the tail is zeros when `validCount` is smaller.
    public let samples: [Float]
    /// How many leading samples are real audio rather than padding.
    public let validCount: Int

    public init(start: Int, samples: [Float], validCount: Int) {
        self.start = start
        self.samples = samples
        self.validCount = validCount
    }

    /// True when the clip was zero-padded past the end of the source.
    public var isPadded: Bool { validCount < samples.count }
}

/// Cuts a stream of samples into clips of `clipLength` every `hop` samples.
///
/// Feed blocks with `append`; call `finish` at the end. The final clip that reaches past
/// the end of the signal is zero-padded and kept if it holds at least `minLastClip`
/// real samples, and dropped otherwise. No clip is emitted after the one that reaches the
/// end, so overlapping hops never add padded clips with no new audio.
public struct ClipSlicer {
    public let clipLength: Int
    public let hop: Int
    public let minLastClip: Int
    private var buffer: [Float] = []
    /// Source position of `buffer[0]`.
    private var bufferStart = 0
    /// Source position of the next clip.
    private var nextStart = 0

    public init(clipLength: Int, hop: Int, minLastClip: Int) {
        precondition(clipLength > 0 && hop > 0, "clip length and hop must be positive")
        self.clipLength = clipLength
        self.hop = hop
        self.minLastClip = max(1, min(minLastClip, clipLength))
    }

    /// Adds samples and returns every clip that is now complete.
    public mutating func append(_ samples: [Float]) -> [Clip] {
        buffer.append(contentsOf: samples)
        var clips: [Clip] = []
        while nextStart + clipLength <= bufferStart + buffer.count {
            let from = nextStart - bufferStart
            clips.append(Clip(start: nextStart, samples: Array(buffer[from..<from + clipLength]), validCount: clipLength))
            nextStart += hop
        }
        let consumed = min(nextStart - bufferStart, buffer.count)
        if consumed > 0 {
            buffer.removeFirst(consumed)
            bufferStart += consumed
        }
        return clips
    }

    /// Ends the stream; returns the padded last clip if it qualifies.
    public mutating func finish() -> [Clip] {
        let end = bufferStart + buffer.count
        defer { buffer = []; bufferStart = end; nextStart = end }
        // The previous clip already reached the end of the signal.
        if nextStart > 0 && nextStart - hop + clipLength >= end { return [] }
        guard nextStart < end else { return [] }
        let valid = end - nextStart
        guard valid >= minLastClip else { return [] }
        let from = nextStart - bufferStart
        var samples = Array(buffer[from..<buffer.count])
        samples.append(contentsOf: repeatElement(0, count: clipLength - valid))
        return [Clip(start: nextStart, samples: samples, validCount: valid)]
    }

    /// All clips of a whole signal at once.
    public static func clips(of signal: [Float], clipLength: Int, hop: Int, minLastClip: Int) -> [Clip] {
        var slicer = ClipSlicer(clipLength: clipLength, hop: hop, minLastClip: minLastClip)
        return slicer.append(signal) + slicer.finish()
    }
}
