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
    public var clipSamples: Int { Self.samples(clipSeconds, rate: sampleRate) }
    public var clipHopSamples: Int { Self.samples(clipHopSeconds, rate: sampleRate) }
    public var minLastClipSamples: Int { Self.samples(minLastClipSeconds, rate: sampleRate) }
    /// Spectrogram frames of one clip with librosa's centred framing: 1 + samples / hop.
    public var framesPerClip: Int { 1 + clipSamples / max(1, hopLength) }

    /// Seconds as samples; 0 for values no file could mean (NaN, infinite, beyond 2^40),
    /// so that settings read from an untrusted file can be checked (`problem`) without
    /// trapping first.
    private static func samples(_ seconds: Double, rate: Int) -> Int {
        let value = (seconds * Double(rate)).rounded()
        return value.isFinite && abs(value) < 0x1p40 ? Int(value) : 0
    }
    public var fftBins: Int { nFFT / 2 + 1 }

    /// Largest log-mel of one clip, in values (64 MB of `Float`): settings that ask for more
    /// are refused before anything is allocated.
    public static let maxValuesPerClip = 1 << 24

    /// The first setting that is not finite, out of its sane range or inconsistent with
    /// the others, as "name value: what it must be"; nil when every setting can be used.
    /// Checked on the command line and on every feature and model file read, so no
    /// allocation ever follows from an absurd number.
    public var problem: String? {
        func outside<T: Comparable>(_ name: String, _ value: T, _ range: ClosedRange<T>) -> String? {
            range.contains(value) ? nil : "\(name) \(value): must be between \(range.lowerBound) and \(range.upperBound)"
        }
        if let p = outside("sample_rate", sampleRate, 1_000...384_000) ?? outside("n_fft", nFFT, 16...65_536)
            ?? outside("hop_length", hopLength, 1...65_536) ?? outside("n_mels", nMels, 1...1_024)
            ?? outside("clip_seconds", clipSeconds, 0.01...600) ?? outside("clip_hop_seconds", clipHopSeconds, 0.01...600)
            ?? outside("rms_threshold_db", rmsThresholdDB, -200...0) ?? outside("min_last_clip_seconds", minLastClipSeconds, 0...600)
            ?? outside("top_db", topDB, 1...400) ?? outside("amin", amin, 1e-30...1e-1) { return p }
        let nyquist = Double(sampleRate) / 2
        if let p = outside("fmin", fmin, 0...nyquist) { return p }
        if let fmax, !(fmax > fmin && fmax <= nyquist) { return "fmax \(fmax): must be above fmin (\(fmin)) and at most half the sample rate (\(nyquist))" }
        if effectiveFmax <= fmin { return "fmin \(fmin): must be below fmax (\(effectiveFmax))" }
        let values = nMels.multipliedReportingOverflow(by: framesPerClip)
        if values.overflow || values.partialValue > Self.maxValuesPerClip {
            return "n_mels × frames per clip \(nMels) × \(framesPerClip): must be at most \(Self.maxValuesPerClip) (a longer hop or shorter clips)"
        }
        return nil
    }

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
