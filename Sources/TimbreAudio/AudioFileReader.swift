import CSndFile
import Foundation
import TimbreCore

/// What a decoder reports about a file before reading it.
public struct AudioFileInfo: Sendable, Equatable {
    /// Native sample rate in Hz.
    public let sampleRate: Int
    /// Number of interleaved channels.
    public let channels: Int
    /// Frames (samples per channel) the container declares; may exceed what decodes.
    public let frames: Int64
    /// Major container format, e.g. "WAV", "FLAC", "OGG", "MPEG".
    public let container: String

    /// Declared duration in seconds.
    public var duration: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }
}

/// Decodes any format libsndfile reads (WAV, FLAC, OGG/Vorbis, Opus, AIFF, MP3, ...) into
/// mono `Float` samples in [-1, 1], block by block.
///
/// Mono is the mean of the channels, as librosa's `to_mono`. Not thread-safe; one reader
/// per thread.
public final class AudioFileReader {
    public let url: URL
    public let info: AudioFileInfo
    /// Size and modification time of the file as it was opened.
    public var stamp: FileStamp { source.stamp }
    private let source: BufferedFileSource
    private var handle: OpaquePointer?
    private var interleaved: [Float] = []
    /// When true, NaN and infinite samples are read as 0 and counted: one such value would
    /// otherwise spread through a resampler's filter, an STFT frame or a separator's masks
    /// to thousands of samples around it. Off by default: `prepare` skips such clips instead.
    public var silencesNonFiniteSamples = false
    /// NaN or infinite samples read as 0 so far (all channels).
    public private(set) var silencedSamples = 0

    /// Sample rates accepted. A header claiming 1 Hz would otherwise ask the resampler for
    /// gigabytes of output from a file of kilobytes.
    public static let sampleRates = 1_000...768_000
    /// Most samples (all channels) decoded by one read, so that the buffer's size never
    /// follows the channel count a header claims.
    static let maxSamplesPerRead = 1 << 20

    /// Opens `url` for decoding.
    /// - Throws: `FileError` naming the file and libsndfile's reason.
    public init(url: URL) throws {
        self.url = url
        source = try BufferedFileSource(path: url.path)
        // An empty file (an interrupted download, say) is named as such, not as an unknown format.
        guard source.stamp.size > 0 else { throw FileError(path: url.path, reason: "empty file (0 bytes)") }
        var sfInfo = SF_INFO()
        // By content first, read through one large buffer; then by path, which also lets
        // libsndfile use the file name's extension to tell a headerless format.
        guard let handle = source.openSoundFile(&sfInfo) ?? FileSystemName.withPath(url.path, { sf_open($0, Int32(SFM_READ), &sfInfo) }) else {
            let reason = String(cString: sf_strerror(nil))
            throw FileError(path: url.path, reason: AudioFileReader.explain(reason, url: url))
        }
        guard sfInfo.channels > 0, sfInfo.samplerate > 0 else {
            sf_close(handle)
            throw FileError(path: url.path, reason: "no audio channels or zero sample rate")
        }
        guard Self.sampleRates.contains(Int(sfInfo.samplerate)) else {
            sf_close(handle)
            throw FileError(path: url.path, reason: "sample rate \(sfInfo.samplerate) Hz is outside \(Self.sampleRates.lowerBound)–\(Self.sampleRates.upperBound) Hz")
        }
        self.handle = handle
        self.info = AudioFileInfo(
            sampleRate: Int(sfInfo.samplerate), channels: Int(sfInfo.channels),
            frames: Int64(sfInfo.frames), container: AudioFileReader.containerName(sfInfo.format))
    }

    deinit { if let handle { sf_close(handle) } }

    /// The first loop the file stores for sampler playback, in frames (a WAV `smpl`
    /// chunk or AIFF markers as libsndfile reads them; FLAC keeps them as foreign
    /// metadata, which `SampleLoop.flacLoop` reads).
    public var storedLoop: Range<Int>? {
        guard let handle else { return nil }
        var start: UInt32 = 0, end: UInt32 = 0
        guard timbre_first_loop(handle, &start, &end) == 1 else { return nil }
        return Int(start)..<Int(end)
    }

    /// Frames one read may decode: `maxFrames`, or fewer for files of many channels.
    private func framesPerRead(_ maxFrames: Int) -> Int {
        min(maxFrames, max(1, Self.maxSamplesPerRead / info.channels))
    }

    /// Reads up to `maxFrames` frames and returns them mixed to mono; empty at the end
    /// (fewer frames than asked is not the end).
    /// - Throws: `FileError` if the stream is damaged part-way.
    public func readMono(maxFrames: Int) throws -> [Float] {
        guard let handle, maxFrames > 0 else { return [] }
        let maxFrames = framesPerRead(maxFrames)
        let channels = info.channels
        if interleaved.count < maxFrames * channels {
            interleaved = [Float](repeating: 0, count: maxFrames * channels)
        }
        let got = Int(interleaved.withUnsafeMutableBufferPointer {
            sf_readf_float(handle, $0.baseAddress, sf_count_t(maxFrames))
        })
        if got <= 0 {
            let code = sf_error(handle)
            if code != 0 {
                throw FileError(path: url.path, reason: String(cString: sf_error_number(code)))
            }
            return []
        }
        interleaved.withUnsafeMutableBufferPointer { silenceNonFinite(in: UnsafeMutableBufferPointer(rebasing: $0[0..<(got * channels)])) }
        if channels == 1 { return Array(interleaved[0..<got]) }
        // Divide (not multiply by the reciprocal) to round exactly as numpy's mean does.
        let divisor = Float(channels)
        return [Float](unsafeUninitializedCapacity: got) { mono, initialised in
            interleaved.withUnsafeBufferPointer { source in
                let src = source.baseAddress!, dst = mono.baseAddress!
                if channels == 2 {
                    for frame in 0..<got { dst[frame] = (src[2 &* frame] + src[2 &* frame &+ 1]) / divisor }
                } else {
                    for frame in 0..<got {
                        var sum: Float = 0
                        let base = frame &* channels
                        for channel in 0..<channels { sum += src[base &+ channel] }
                        dst[frame] = sum / divisor
                    }
                }
            }
            initialised = got
        }
    }

    /// Reads up to `maxFrames` frames with their channels interleaved; empty at the end
    /// (fewer frames than asked is not the end).
    /// - Throws: `FileError` if the stream is damaged part-way.
    public func readInterleaved(maxFrames: Int) throws -> [Float] {
        guard let handle, maxFrames > 0 else { return [] }
        let maxFrames = framesPerRead(maxFrames)
        var block = [Float](repeating: 0, count: maxFrames * info.channels)
        let got = Int(block.withUnsafeMutableBufferPointer { sf_readf_float(handle, $0.baseAddress, sf_count_t(maxFrames)) })
        if got <= 0 {
            let code = sf_error(handle)
            if code != 0 { throw FileError(path: url.path, reason: String(cString: sf_error_number(code))) }
            return []
        }
        block.removeLast(block.count - got * info.channels)
        block.withUnsafeMutableBufferPointer { silenceNonFinite(in: $0) }
        return block
    }

    /// Reads the rest of the file with its channels interleaved, as stored.
    public func readAllInterleaved(blockFrames: Int = 1 << 16) throws -> [Float] {
        guard let handle else { return [] }
        let blockFrames = framesPerRead(blockFrames)
        var samples: [Float] = []
        var block = [Float](repeating: 0, count: blockFrames * info.channels)
        while true {
            let got = Int(block.withUnsafeMutableBufferPointer { sf_readf_float(handle, $0.baseAddress, sf_count_t(blockFrames)) })
            if got <= 0 {
                let code = sf_error(handle)
                if code != 0 { throw FileError(path: url.path, reason: String(cString: sf_error_number(code))) }
                return samples
            }
            block.withUnsafeMutableBufferPointer { silenceNonFinite(in: UnsafeMutableBufferPointer(rebasing: $0[0..<(got * info.channels)])) }
            samples.append(contentsOf: block[0..<got * info.channels])
        }
    }

    /// Reads the rest of the file as mono.
    public func readAllMono(blockFrames: Int = 1 << 16) throws -> [Float] {
        var samples: [Float] = []
        // The header's frame count is a hint, not a promise: reserve at most 16 M samples.
        if info.frames > 0 { samples.reserveCapacity(Int(min(info.frames, 1 << 24))) }
        while true {
            let block = try readMono(maxFrames: blockFrames)
            if block.isEmpty { break }
            samples.append(contentsOf: block)
        }
        return samples
    }

    /// How a report says that `count` samples were read as silence, or nil for none.
    public static func silencedNote(_ count: Int) -> String? {
        count == 0 ? nil : "\(count) NaN or infinite sample\(count == 1 ? "" : "s") read as silence"
    }

    /// When asked, reads the NaN and infinite samples of a block just decoded as 0.
    private func silenceNonFinite(in block: UnsafeMutableBufferPointer<Float>) {
        guard silencesNonFiniteSamples else { return }
        for index in block.indices where !block[index].isFinite {
            block[index] = 0
            silencedSamples += 1
        }
    }

    private static func explain(_ reason: String, url: URL) -> String {
        if !FileSystemName.status(of: url.path).exists { return "no such file" }
        if reason.isEmpty { return "cannot decode" }
        var words = reason.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if words.hasSuffix(".") { words.removeLast() }
        // libsndfile guesses "possibly a pipe" for bytes it cannot place; the file is a file.
        if words.contains("pipe") { words = "format not recognised" }
        return "cannot decode (\(words))"
    }

    private static func containerName(_ format: Int32) -> String {
        switch Int(format) & Int(SF_FORMAT_TYPEMASK) {
        case Int(SF_FORMAT_WAV), Int(SF_FORMAT_WAVEX): return "WAV"
        case Int(SF_FORMAT_RF64): return "RF64"
        case Int(SF_FORMAT_AIFF): return "AIFF"
        case Int(SF_FORMAT_FLAC): return "FLAC"
        case Int(SF_FORMAT_OGG): return "OGG"
        case Int(SF_FORMAT_MPEG): return "MPEG"
        case Int(SF_FORMAT_CAF): return "CAF"
        case Int(SF_FORMAT_W64): return "W64"
        default: return "other"
        }
    }
}
