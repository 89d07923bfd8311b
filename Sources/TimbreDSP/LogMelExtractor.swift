/// Turns one clip of samples into a log-mel spectrogram [nMels × frames], band-major:
/// librosa's `power_to_db(melspectrogram(y))` with the settings' parameters.
///
/// Holds its FFT plan and scratch buffers, so create one per thread and reuse it.
public final class LogMelExtractor {
    public let settings: FeatureSettings
    public let filterbank: MelFilterbank
    private let stft: ShortTimeFourierTransform
    private var power: [Float] = []

    public init(settings: FeatureSettings = FeatureSettings()) {
        self.settings = settings
        filterbank = MelFilterbank(
            sampleRate: settings.sampleRate, nFFT: settings.nFFT, nMels: settings.nMels,
            fmin: settings.fmin, fmax: settings.effectiveFmax)
        stft = ShortTimeFourierTransform(nFFT: settings.nFFT, hopLength: settings.hopLength)
    }

    /// Frames produced for a clip of `sampleCount` samples.
    public func frameCount(for sampleCount: Int) -> Int { stft.frameCount(for: sampleCount) }

    /// Mel power spectrogram (before decibels), band-major [nMels × frames].
    public func melPower(_ samples: UnsafeBufferPointer<Float>, into mel: UnsafeMutableBufferPointer<Float>) {
        let frames = frameCount(for: samples.count)
        let needed = frames * stft.bins
        if power.count < needed { power = [Float](repeating: 0, count: needed) }
        power.withUnsafeMutableBufferPointer { power in
            stft.power(of: samples, into: power)
            filterbank.apply(power: UnsafeBufferPointer(power), frames: frames, into: mel)
        }
    }

    /// Log-mel spectrogram in dB, band-major [nMels × frames].
    public func logMel(_ samples: UnsafeBufferPointer<Float>, into mel: UnsafeMutableBufferPointer<Float>) {
        melPower(samples, into: mel)
        let count = settings.nMels * frameCount(for: samples.count)
        Decibels.powerToDB(
            UnsafeMutableBufferPointer(rebasing: mel[0..<count]),
            amin: settings.amin, topDB: settings.topDB)
    }

    /// Convenience for callers holding arrays.
    public func logMel(_ samples: [Float]) -> [Float] {
        var mel = [Float](repeating: 0, count: settings.nMels * frameCount(for: samples.count))
        samples.withUnsafeBufferPointer { samples in
            mel.withUnsafeMutableBufferPointer { logMel(samples, into: $0) }
        }
        return mel
    }

    /// Mel power for callers holding arrays.
    public func melPower(_ samples: [Float]) -> [Float] {
        var mel = [Float](repeating: 0, count: settings.nMels * frameCount(for: samples.count))
        samples.withUnsafeBufferPointer { samples in
            mel.withUnsafeMutableBufferPointer { melPower(samples, into: $0) }
        }
        return mel
    }
}
