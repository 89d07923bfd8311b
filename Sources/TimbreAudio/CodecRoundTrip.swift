import Foundation
import TimbreCore

/// Lossy codecs as users' files have been through them: audio encoded to MP3, Ogg Vorbis
/// or Opus at a low bit rate and decoded again, through libsndfile.
///
/// Encoders delay the signal (MP3's encoder and decoder add about a thousand frames of
/// padding; Opus resamples through 48 kHz), so the decoded audio is aligned back onto the
/// original by cross-correlation and cut or padded to its exact length.
public enum CodecRoundTrip {
    public enum Codec: String, Sendable, CaseIterable {
        case mp3, vorbis, opus

        var format: AudioFileFormat {
            switch self {
            case .mp3: return .mp3
            case .vorbis: return .oggVorbis
            case .opus: return .opus
            }
        }
        var fileExtension: String { self == .mp3 ? "mp3" : self == .vorbis ? "ogg" : "opus" }
    }

    /// `channels`-interleaved `samples` after encoding with `codec` at `compressionLevel`
    /// (0 best … 1 lowest bit rate) and decoding, as many frames as went in.
    public static func apply(_ samples: [Float], channels: Int, sampleRate: Int, codec: Codec, compressionLevel: Double) throws -> [Float] {
        // Opus codes only at 8, 12, 16, 24 or 48 kHz: go through 48 kHz, or 24 kHz at low
        // bit rates (as voice-oriented encoders do), and come back.
        if codec == .opus && ![8_000, 12_000, 16_000, 24_000, 48_000].contains(sampleRate) {
            let codingRate = compressionLevel > 0.7 ? 24_000 : 48_000
            let there = try resample(samples, channels: channels, from: sampleRate, to: codingRate)
            let coded = try apply(there, channels: channels, sampleRate: codingRate, codec: codec, compressionLevel: compressionLevel)
            let back = try resample(coded, channels: channels, from: codingRate, to: sampleRate)
            return Array((back + [Float](repeating: 0, count: max(0, samples.count - back.count))).prefix(samples.count))
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-codec-\(UUID().uuidString).\(codec.fileExtension)")
        defer { try? FileManager.default.removeItem(at: url) }
        try AudioFileWriter.write(samples, channels: channels, sampleRate: sampleRate, to: url, format: codec.format, compressionLevel: compressionLevel)
        let reader = try AudioFileReader(url: url)
        var decoded = try reader.readAllInterleaved()
        if reader.info.sampleRate != sampleRate || reader.info.channels != channels {
            throw FileError(path: url.path, reason: "codec returned \(reader.info.channels) channels at \(reader.info.sampleRate) Hz")
        }
        let frames = samples.count / channels
        let shift = delay(of: decoded, against: samples, channels: channels, maximum: 4096)
        if shift > 0 { decoded.removeFirst(min(decoded.count, shift * channels)) }
        if decoded.count < frames * channels { decoded += [Float](repeating: 0, count: frames * channels - decoded.count) }
        return Array(decoded.prefix(frames * channels))
    }

    /// Interleaved audio at another rate, channel by channel (libsamplerate's best sinc).
    static func resample(_ samples: [Float], channels: Int, from input: Int, to output: Int) throws -> [Float] {
        let frames = samples.count / channels
        var converted: [[Float]] = []
        for channel in 0..<channels {
            let converter = try Resampler(from: input, to: output, quality: .best)
            let mono = (0..<frames).map { samples[$0 * channels + channel] }
            converted.append(try converter.process(mono) + converter.finish())
        }
        let count = converted.map(\.count).min() ?? 0
        var out = [Float](repeating: 0, count: count * channels)
        for i in 0..<count { for channel in 0..<channels { out[i * channels + channel] = converted[channel][i] } }
        return out
    }

    /// The lag (frames, 0…maximum) at which `decoded` best matches `original`, by
    /// cross-correlation of the first channel over the first few seconds.
    static func delay(of decoded: [Float], against original: [Float], channels: Int, maximum: Int) -> Int {
        let span = min(original.count / channels, 66_150)
        guard span > 0 else { return 0 }
        var best = (lag: 0, score: -Double.infinity)
        for lag in 0...maximum {
            guard (lag + span) * channels <= decoded.count else { break }
            var score = 0.0
            var i = 0
            while i < span {
                score += Double(decoded[(i + lag) * channels]) * Double(original[i * channels])
                i += 4
            }
            if score > best.score { best = (lag, score) }
        }
        return best.lag
    }
}
