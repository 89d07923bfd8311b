/// Every parameter that shapes a log-mel clip. Defaults are librosa 0.11's
/// `melspectrogram` and `power_to_db` defaults at 22,050 Hz, with 3-s clips.
///
/// A feature file records all of them, and a model refuses features made differently.
public struct FeatureSettings: Sendable, Equatable, Codable {
    public var sampleRate = 22_050
    public var nFFT = 2048
    public var hopLength = 512
    public var nMels = 128
    public var fmin = 0.0
    /// Upper edge of the mel filterbank in Hz; nil means Nyquist (librosa's `fmax=None`).
    public var fmax: Double? = nil
    public var clipSeconds = 3.0
    public var clipHopSeconds = 3.0
    /// Clips whose RMS is below this level (dB relative to full scale, where a sample
    /// value of 1.0 is 0 dB) are dropped as silence.
    public var rmsThresholdDB = -50.0
    /// A final clip shorter than a full clip is kept, zero-padded, when it holds at least
    /// this many seconds of audio; shorter tails are dropped.
    public var minLastClipSeconds = 1.5
    /// `power_to_db`'s dynamic range below the clip's peak.
    public var topDB = 80.0
    /// `power_to_db`'s floor on power before the logarithm.
    public var amin = 1e-10

    public init() {}

    public var effectiveFmax: Double { fmax ?? Double(sampleRate) / 2 }
    public var clipSamples: Int { Int((clipSeconds * Double(sampleRate)).rounded()) }
    public var clipHopSamples: Int { Int((clipHopSeconds * Double(sampleRate)).rounded()) }
    public var minLastClipSamples: Int { Int((minLastClipSeconds * Double(sampleRate)).rounded()) }
    /// Spectrogram frames of one clip with librosa's centred framing: 1 + samples / hop.
    public var framesPerClip: Int { 1 + clipSamples / hopLength }
    public var fftBins: Int { nFFT / 2 + 1 }

    /// The settings that change a clip's log-mel (the RMS gate and the clip hop do not)
    /// on which `other` differs, each as "name other-value (mine: value)"; empty when
    /// clips of the two are interchangeable.
    public func logMelDifferences(from other: FeatureSettings, mineCalled mine: String = "mine") -> [String] {
        var differences: [String] = []
        func compare<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { differences.append("\(name) \(b) (\(mine): \(a))") } }
        compare("sample_rate", sampleRate, other.sampleRate)
        compare("n_fft", nFFT, other.nFFT)
        compare("hop_length", hopLength, other.hopLength)
        compare("n_mels", nMels, other.nMels)
        compare("fmin", fmin, other.fmin)
        compare("fmax", effectiveFmax, other.effectiveFmax)
        compare("clip_seconds", clipSeconds, other.clipSeconds)
        compare("top_db", topDB, other.topDB)
        compare("amin", amin, other.amin)
        return differences
    }
}
