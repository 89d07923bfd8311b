import CSndFile
import Foundation
import TimbreCore

/// Containers and sample encodings Timbre writes: stems, rendered corpora, test fixtures.
public enum AudioFileFormat: Sendable {
    case wav16, wav24, wavFloat, flac16, flac24, aiff16, oggVorbis, opus, mp3

    var sndfileFormat: Int32 {
        switch self {
        case .aiff16: return Int32(SF_FORMAT_AIFF | SF_FORMAT_PCM_16)
        case .oggVorbis: return Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)
        case .opus: return Int32(SF_FORMAT_OGG | SF_FORMAT_OPUS)
        case .mp3: return Int32(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)
        case .wav16: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
        case .wav24: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_24)
        case .wavFloat: return Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT)
        case .flac16: return Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
        case .flac24: return Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_24)
        }
    }

    /// Picks the format from the file extension: `.flac` 24-bit FLAC, `.aif(f)` 16-bit AIFF,
    /// `.ogg` Vorbis, `.opus` Opus, `.mp3` MPEG layer III, anything else 16-bit WAV.
    public static func forExtension(of url: URL) -> AudioFileFormat {
        switch url.pathExtension.lowercased() {
        case "flac": return .flac24
        case "aif", "aiff": return .aiff16
        case "ogg", "oga": return .oggVorbis
        case "opus": return .opus
        case "mp3": return .mp3
        default: return .wav16
        }
    }
}

/// Writes audio files through libsndfile. Integer formats clip at full scale instead of
/// wrapping around.
public enum AudioFileWriter {
    /// Writes interleaved `samples` with `channels` channels to `url`, atomically: the
    /// file appears complete or not at all.
    /// - Parameter compressionLevel: for lossy and FLAC formats, libsndfile's compression
    ///   level from 0 (highest quality, largest file) to 1 (lowest bit rate).
    public static func write(_ samples: [Float], channels: Int = 1, sampleRate: Int, to url: URL, format: AudioFileFormat? = nil,
                             compressionLevel: Double? = nil) throws {
        precondition(channels > 0 && samples.count % channels == 0, "samples must hold whole frames")
        let format = format ?? AudioFileFormat.forExtension(of: url)
        let partial = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).partial.\(url.pathExtension)")
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format.sndfileFormat
        guard let handle = FileSystemName.withPath(partial.path, { sf_open($0, Int32(SFM_WRITE), &info) }) else {
            throw FileError(path: url.path, reason: "cannot write (\(String(cString: sf_strerror(nil))))")
        }
        sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        // Float WAV files otherwise carry a PEAK chunk with the time of writing, which
        // would make identical audio give different files.
        sf_command(handle, Int32(SFC_SET_ADD_PEAK_CHUNK), nil, Int32(SF_FALSE))
        if var level = compressionLevel {
            sf_command(handle, Int32(SFC_SET_COMPRESSION_LEVEL), &level, Int32(MemoryLayout<Double>.size))
        }
        let frames = samples.count / channels
        errno = 0
        let written = samples.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, sf_count_t(frames)) }
        let writeError = errno
        let closeStatus = sf_close(handle), closeError = errno
        guard written == frames, closeStatus == 0 else {
            FileSystemName.remove(partial.path)
            let (what, code) = written == frames ? ("cannot close", closeError) : ("short write (\(written) of \(frames) frames)", writeError)
            throw FileError(path: url.path, reason: "\(what): \(systemReason(code))")
        }
        guard FileSystemName.rename(partial.path, to: url.path) else {
            FileSystemName.remove(partial.path)
            throw FileError(path: url.path, reason: "cannot move into place (\(String(cString: strerror(errno))))")
        }
    }
}

/// Writes an audio file block by block, so a long file never has to be in memory. The
/// file is written under a hidden name and moved into place by `finish()`; a writer
/// dropped before that removes its partial file.
public final class AudioFileStreamWriter {
    public let url: URL
    public let channels: Int
    private let partial: URL
    private var handle: OpaquePointer?
    private var frames = 0

    public init(url: URL, channels: Int, sampleRate: Int, format: AudioFileFormat? = nil) throws {
        precondition(channels > 0, "a file needs channels")
        self.url = url
        self.channels = channels
        partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).partial.\(url.pathExtension)")
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = (format ?? AudioFileFormat.forExtension(of: url)).sndfileFormat
        guard let handle = FileSystemName.withPath(partial.path, { sf_open($0, Int32(SFM_WRITE), &info) }) else {
            throw FileError(path: url.path, reason: "cannot write (\(String(cString: sf_strerror(nil))))")
        }
        sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        sf_command(handle, Int32(SFC_SET_ADD_PEAK_CHUNK), nil, Int32(SF_FALSE))
        self.handle = handle
    }

    deinit {
        if let handle {
            sf_close(handle)
            FileSystemName.remove(partial.path)
        }
    }

    /// Appends interleaved frames.
    public func append(_ samples: [Float]) throws {
        guard let handle else { throw FileError(path: url.path, reason: "already finished") }
        precondition(samples.count % channels == 0, "samples must hold whole frames")
        let count = samples.count / channels
        errno = 0
        let written = samples.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, sf_count_t(count)) }
        guard written == count else {
            throw FileError(path: url.path, reason: "short write (\(written) of \(count) frames): \(systemReason(errno))")
        }
        frames += count
    }

    /// Closes the file and moves it into place.
    public func finish() throws {
        guard let handle else { return }
        self.handle = nil
        errno = 0
        guard sf_close(handle) == 0 else {
            let closeError = errno
            FileSystemName.remove(partial.path)
            throw FileError(path: url.path, reason: "cannot close: \(systemReason(closeError))")
        }
        guard FileSystemName.rename(partial.path, to: url.path) else {
            FileSystemName.remove(partial.path)
            throw FileError(path: url.path, reason: "cannot move into place (\(String(cString: strerror(errno))))")
        }
    }
}

/// A failed system call's reason in the words the rest of the program's errors use.
private func systemReason(_ code: Int32) -> String {
    code == 0 ? "unknown error" : String(cString: strerror(code)).lowercased()
}
