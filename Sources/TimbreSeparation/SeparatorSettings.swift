import Foundation

/// How a separator sees audio, stored with the model (`model_info`): the STFT it was
/// trained on, the chunk of frames the network takes, the stems it writes, and the
/// per-frequency statistics its input is standardised with.
public struct SeparatorSettings: Codable, Equatable, Sendable {
    /// `chandna`, `multitask`, `sams`, `tcn`, or `floor` (fixed per-frequency masks, no network).
    public var architecture: String
    /// Training mode of a multitask network (`simultaneous`, `interleaved`, ...), else empty.
    public var mode: String = ""
    public var sampleRate = 22_050
    public var fftSize = 1024
    public var hopLength = 256
    /// STFT bins the network sees, from DC up (bins above take the top one's mask).
    public var bins = 513
    /// Frames per network input; inference slides over the file by half of it.
    public var frames = 32
    /// The network's planes are [time, frequency] when true, [frequency, time] when false.
    public var timeMajor = true
    public var stems: [SeparationStem] = SeparationStem.allCases
    /// log(ε + |X|) is standardised per bin with these (ε = `SpectralFrames.floor`).
    public var inputMean: [Float] = []
    public var inputScale: [Float] = []
    /// For `floor`: one mask per stem and bin, the training songs' mean power ratios.
    public var fixedMasks: [[Float]]? = nil

    public init(architecture: String) { self.architecture = architecture }

    /// Why settings read from a file cannot be used, or nil.
    public func problem() -> String? {
        guard sampleRate >= 1000, sampleRate <= 384_000 else { return "sample rate \(sampleRate) is out of range" }
        guard fftSize >= 16, fftSize <= 1 << 15, fftSize % 2 == 0, hopLength > 0, hopLength <= fftSize / 2, (fftSize / 2) % hopLength == 0 else {
            return "STFT \(fftSize)/\(hopLength) is not usable"
        }
        // A block's spectrogram holds FFT size / hop values per sample at any rate (4 for
        // the bundled model); a larger overlap would make it grow past memory.
        guard fftSize / hopLength <= 8 else { return "STFT \(fftSize)/\(hopLength) overlaps more than 8 windows per sample" }
        guard bins > 0, bins <= fftSize / 2 + 1, frames >= 2, frames <= 4096, frames % 2 == 0 else { return "\(bins) bins × \(frames) frames do not fit the STFT" }
        guard !stems.isEmpty, Set(stems).count == stems.count else { return "the stems are empty or repeated" }
        if let masks = fixedMasks {
            guard masks.count == stems.count, masks.allSatisfy({ $0.count == bins && $0.allSatisfy { $0.isFinite && $0 >= 0 } }) else {
                return "fixed masks do not match \(stems.count) stems × \(bins) bins"
            }
        } else {
            guard inputMean.count == bins, inputScale.count == bins, (inputMean + inputScale).allSatisfy(\.isFinite) else {
                return "input statistics do not match \(bins) bins"
            }
        }
        return nil
    }
}
