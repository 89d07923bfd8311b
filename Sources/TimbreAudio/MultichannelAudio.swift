import Foundation

/// Audio with its channels kept apart, at the file's own sample rate: what separation reads
/// (a stereo mixture) and writes (stems with the input's rate and channel count).
public struct MultichannelAudio: Equatable, Sendable {
    /// One array of samples per channel, all of the same length.
    public var channels: [[Float]]
    public let sampleRate: Int

    public init(channels: [[Float]], sampleRate: Int) {
        precondition(!channels.isEmpty, "audio needs at least one channel")
        precondition(channels.allSatisfy { $0.count == channels[0].count }, "channels must have the same length")
        precondition(sampleRate > 0, "the sample rate must be positive")
        self.channels = channels
        self.sampleRate = sampleRate
    }

    /// Decodes every channel of `url` without resampling or mixing down.
    /// - Throws: `FileError` naming the file and the reason.
    public init(contentsOf url: URL) throws {
        let reader = try AudioFileReader(url: url)
        let count = reader.info.channels
        let interleaved = try reader.readAllInterleaved()
        let frames = interleaved.count / count
        var channels = [[Float]](repeating: [], count: count)
        for channel in 0..<count {
            channels[channel] = [Float](unsafeUninitializedCapacity: frames) { buffer, initialised in
                for frame in 0..<frames { buffer[frame] = interleaved[frame * count + channel] }
                initialised = frames
            }
        }
        self.init(channels: channels, sampleRate: reader.info.sampleRate)
    }

    public var channelCount: Int { channels.count }
    /// Samples per channel.
    public var frameCount: Int { channels[0].count }

    /// Writes every channel to `url` (format from the extension, as `AudioFileWriter`).
    public func write(to url: URL, format: AudioFileFormat? = nil) throws {
        let count = channels.count, frames = frameCount
        var interleaved = [Float](repeating: 0, count: frames * count)
        for (channel, samples) in channels.enumerated() {
            for frame in 0..<frames { interleaved[frame * count + channel] = samples[frame] }
        }
        try AudioFileWriter.write(interleaved, channels: count, sampleRate: sampleRate, to: url, format: format)
    }
}
