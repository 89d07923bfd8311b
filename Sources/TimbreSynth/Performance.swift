/// One note: when it starts and how long it is held, in seconds; MIDI key and velocity.
public struct Note: Equatable, Sendable {
    public var start: Double
    public var duration: Double
    public var key: Int
    public var velocity: Int

    public init(start: Double, duration: Double, key: Int, velocity: Int) {
        self.start = start
        self.duration = duration
        self.key = key
        self.velocity = velocity
    }
}

/// What a player does over a stretch of time: the notes, plus the per-take controls that
/// make two takes of the same part sound like different recordings.
public struct Performance: Equatable, Sendable {
    public var notes: [Note]
    /// Length of the rendering; notes past it are cut.
    public var seconds: Double
    /// Whole-take tuning offset (a few cents: instruments are never tuned alike).
    public var detuneCents: Double = 0
    /// Modulation wheel 0...127 (vibrato depth in General MIDI SoundFonts).
    public var vibrato: Int = 0

    public init(notes: [Note], seconds: Double) {
        self.notes = notes
        self.seconds = seconds
    }
}

/// Two channels of audio at one sample rate.
public struct StereoSignal: Equatable, Sendable {
    public var left: [Float]
    public var right: [Float]
    public let sampleRate: Int

    public init(frames: Int, sampleRate: Int) {
        left = [Float](repeating: 0, count: frames)
        right = left
        self.sampleRate = sampleRate
    }

    public var frames: Int { left.count }

    /// Channel-interleaved samples, as audio files store them.
    public var interleaved: [Float] {
        var out = [Float](repeating: 0, count: 2 * frames)
        for i in 0..<frames {
            out[2 * i] = left[i]
            out[2 * i + 1] = right[i]
        }
        return out
    }

    /// Root-mean-square over both channels.
    public var rms: Float {
        var sum: Double = 0
        for i in 0..<frames { sum += Double(left[i] * left[i] + right[i] * right[i]) }
        return frames == 0 ? 0 : Float((sum / Double(2 * frames)).squareRoot())
    }

    public var peak: Float {
        var peak: Float = 0
        for i in 0..<frames { peak = max(peak, abs(left[i]), abs(right[i])) }
        return peak
    }

    public mutating func scale(by gain: Float) {
        for i in 0..<frames {
            left[i] *= gain
            right[i] *= gain
        }
    }

    /// Adds `other` times `gain`, sample by sample, over the common length.
    public mutating func add(_ other: StereoSignal, gain: Float = 1) {
        for i in 0..<min(frames, other.frames) {
            left[i] += gain * other.left[i]
            right[i] += gain * other.right[i]
        }
    }

    /// Frames `from..<to` as a new signal.
    public func slice(_ range: Range<Int>) -> StereoSignal {
        var out = StereoSignal(frames: 0, sampleRate: sampleRate)
        out.left = Array(left[range])
        out.right = Array(right[range])
        return out
    }
}
