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

    /// One setting as data: its name in files and messages, its sane range, whether it
    /// changes a clip's log-mel, and how to get and set it. The checks, the comparison of
    /// two files' settings and the feature file's attributes all walk `fields`, so a new
    /// setting is one entry there plus its command-line option.
    public struct Field: Sendable {
        public let name: String
        public let isInteger: Bool
        public let range: ClosedRange<Double>
        /// False for settings that only choose which clips exist (the RMS gate, the hop).
        public let changesLogMel: Bool
        /// Files written before the setting existed lack it; the default then stands.
        public let isOptionalInFiles: Bool
        public let get: @Sendable (FeatureSettings) -> Double
        public let set: @Sendable (inout FeatureSettings, Double) -> Void

        /// "1024" for integer settings, "0.5" or "nan" for the others.
        public func format(_ value: Double) -> String {
            isInteger && value.isFinite && abs(value) < 0x1p62 ? String(Int(value)) : "\(value)"
        }
    }

    /// Every setting, in the order files and messages list them. `fmax` is stored as the
    /// effective upper edge (Nyquist when unset) and must follow `sample_rate`.
    public static let fields: [Field] = {
        func int(_ name: String, _ range: ClosedRange<Double>, _ path: WritableKeyPath<FeatureSettings, Int> & Sendable) -> Field {
            Field(name: name, isInteger: true, range: range, changesLogMel: true, isOptionalInFiles: false,
                  get: { Double($0[keyPath: path]) }, set: { $0[keyPath: path] = Int(exactly: $1.rounded()) ?? 0 })
        }
        func real(_ name: String, _ range: ClosedRange<Double>, _ path: WritableKeyPath<FeatureSettings, Double> & Sendable,
                  changesLogMel: Bool = true, optional: Bool = false) -> Field {
            Field(name: name, isInteger: false, range: range, changesLogMel: changesLogMel, isOptionalInFiles: optional,
                  get: { $0[keyPath: path] }, set: { $0[keyPath: path] = $1 })
        }
        return [
            int("sample_rate", 1_000...384_000, \.sampleRate),
            int("n_fft", 16...65_536, \.nFFT),
            int("hop_length", 1...65_536, \.hopLength),
            int("n_mels", 1...1_024, \.nMels),
            real("fmin", 0...384_000, \.fmin),
            Field(name: "fmax", isInteger: false, range: 0...384_000, changesLogMel: true, isOptionalInFiles: false,
                  get: { $0.effectiveFmax }, set: { $0.fmax = $1 == Double($0.sampleRate) / 2 ? nil : $1 }),
            real("clip_seconds", 0.01...600, \.clipSeconds),
            real("clip_hop_seconds", 0.01...600, \.clipHopSeconds, changesLogMel: false),
            real("rms_threshold_db", -200...0, \.rmsThresholdDB, changesLogMel: false),
            real("min_last_clip_seconds", 0...600, \.minLastClipSeconds, changesLogMel: false, optional: true),
            real("top_db", 1...400, \.topDB, optional: true),
            real("amin", 1e-30...1e-1, \.amin, optional: true),
        ]
    }()

    /// The first setting that is not finite, out of its sane range or inconsistent with
    /// the others, as "name value: what it must be"; nil when every setting can be used.
    /// Checked on the command line and on every feature and model file read, so no
    /// allocation ever follows from an absurd number.
    public var problem: String? {
        func outside<T: Comparable>(_ name: String, _ value: T, _ range: ClosedRange<T>) -> String? {
            range.contains(value) ? nil : "\(name) \(value): must be between \(range.lowerBound) and \(range.upperBound)"
        }
        for field in Self.fields {
            let value = field.get(self)
            if !field.range.contains(value) {
                return "\(field.name) \(field.format(value)): must be between \(field.format(field.range.lowerBound)) and \(field.format(field.range.upperBound))"
            }
        }
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
        Self.fields.filter(\.changesLogMel).compactMap { field in
            let a = field.get(self), b = field.get(other)
            return a == b ? nil : "\(field.name) \(field.format(b)) (\(mine): \(field.format(a)))"
        }
    }
}
