import Foundation
import TimbreCore

/// Audio decoded to mono at a chosen sample rate, delivered block by block so files of
/// any length use bounded memory.
///
/// Files already at the target rate pass through untouched (no resampling), which is
/// what librosa's `load` does too.
public final class MonoAudioStream {
    /// What the decoder reported about the source file.
    public let info: AudioFileInfo
    /// Size and modification time of the file as it was opened.
    public var stamp: FileStamp { reader.stamp }
    /// The sample rate of the delivered blocks.
    public let sampleRate: Int
    private let reader: AudioFileReader
    /// NaN or infinite samples read as 0 so far (with `silencingNonFiniteSamples`).
    public var silencedSamples: Int { reader.silencedSamples }
    private let resampler: SampleRateConverter?
    private let blockFrames: Int
    private var finished = false

    /// - Parameters:
    ///   - sampleRate: the rate to deliver; nil keeps the file's own rate.
    ///   - quality: converter used when the rates differ.
    ///   - blockFrames: source frames decoded per block.
    ///   - silencingNonFiniteSamples: read NaN and infinite samples as 0 (counted in
    ///     `silencedSamples`) instead of passing them on.
    public init(url: URL, sampleRate: Int? = nil, quality: ResamplerQuality = .polyphase, blockFrames: Int = 1 << 16,
                silencingNonFiniteSamples: Bool = false) throws {
        reader = try AudioFileReader(url: url)
        reader.silencesNonFiniteSamples = silencingNonFiniteSamples
        info = reader.info
        self.sampleRate = sampleRate ?? info.sampleRate
        self.blockFrames = blockFrames
        resampler = self.sampleRate == info.sampleRate
            ? nil : try quality.makeConverter(from: info.sampleRate, to: self.sampleRate)
    }

    /// The next block of mono samples, or nil at the end. Blocks may be empty while the
    /// resampler fills its filter.
    public func next() throws -> [Float]? {
        if finished { return nil }
        let block = try reader.readMono(maxFrames: blockFrames)
        guard let resampler else {
            if block.isEmpty { finished = true; return nil }
            return block
        }
        if block.isEmpty {
            finished = true
            return try resampler.finish()
        }
        return try resampler.process(block)
    }

    /// Decodes the whole file into one array.
    public func readAll() throws -> [Float] {
        var samples: [Float] = []
        while let block = try next() { samples.append(contentsOf: block) }
        return samples
    }

    /// Decodes `url` whole, mono, at `sampleRate` (nil: the file's own rate).
    public static func load(_ url: URL, sampleRate: Int? = nil, quality: ResamplerQuality = .polyphase) throws -> (samples: [Float], info: AudioFileInfo) {
        let stream = try MonoAudioStream(url: url, sampleRate: sampleRate, quality: quality)
        return (try stream.readAll(), stream.info)
    }
}
