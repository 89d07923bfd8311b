import Foundation
import TimbreAudio
import TimbreDSP
import TimbreDatasets
import TimbreStore

/// A clip's features and labels as a worker produces them (the group id is assigned
/// later, when the feature file is assembled in job order).
public struct PreparedClip: Sendable, Codable, Equatable {
    public var source: String
    public var offset: Float
    public var rmsDB: Float
    public var classIndices: [Int]
    /// `ChunkEncoder` bytes of the log-mel; kept out of the JSON header of part files.
    public var melChunk: [UInt8]

    enum CodingKeys: String, CodingKey { case source, offset, rmsDB = "rms_db", classIndices = "classes" }

    public init(source: String, offset: Float, rmsDB: Float, classIndices: [Int], melChunk: [UInt8]) {
        self.source = source
        self.offset = offset
        self.rmsDB = rmsDB
        self.classIndices = classIndices
        self.melChunk = melChunk
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(String.self, forKey: .source)
        offset = try c.decode(Float.self, forKey: .offset)
        rmsDB = try c.decode(Float.self, forKey: .rmsDB)
        classIndices = try c.decode([Int].self, forKey: .classIndices)
        melChunk = []
    }
}

/// Everything one job produced.
public struct JobResult: Sendable, Equatable {
    public var clips: [PreparedClip] = []
    /// Clips dropped by the RMS gate.
    public var silentClips = 0
    /// Seconds of audio decoded (the primary file's).
    public var seconds = 0.0
}

/// Turns preparation jobs into clips: decode, resample, cut, gate, log-mel, compress.
/// Holds an FFT plan and buffers; one per worker thread.
public final class JobProcessor {
    public let settings: FeatureSettings
    public let quality: ResamplerQuality
    private let extractor: LogMelExtractor
    private let encoder = ChunkEncoder()
    private var mel: [Float]

    public init(settings: FeatureSettings, quality: ResamplerQuality) {
        self.settings = settings
        self.quality = quality
        extractor = LogMelExtractor(settings: settings)
        mel = [Float](repeating: 0, count: settings.nMels * settings.framesPerClip)
    }

    /// Processes one job. Throws (naming the file) when any file of the job cannot be read.
    public func process(_ job: PreparationJob) throws -> JobResult {
        switch job {
        case .single(let audio, _): return try processSingle(audio)
        case .multitrack(let mix, let stems, _): return try processMultitrack(mix: mix, stems: stems)
        }
    }

    private func makeSlicer() -> ClipSlicer {
        ClipSlicer(clipLength: settings.clipSamples, hop: settings.clipHopSamples, minLastClip: settings.minLastClipSamples)
    }

    /// Streams the file so memory stays bounded by one block plus one clip.
    private func processSingle(_ audio: LabelledAudio) throws -> JobResult {
        var result = JobResult()
        let stream = try MonoAudioStream(url: audio.url, sampleRate: settings.sampleRate, quality: quality)
        var slicer = makeSlicer()
        var total = 0
        func take(_ clips: [Clip]) {
            for clip in clips {
                let level = rmsLevel(clip)
                guard level >= settings.rmsThresholdDB else { result.silentClips += 1; continue }
                result.clips.append(encode(clip, level: level, source: audio.relativePath, classes: audio.classIndices))
            }
        }
        while let block = try stream.next() {
            total += block.count
            take(slicer.append(block))
        }
        take(slicer.finish())
        result.seconds = Double(total) / Double(settings.sampleRate)
        return result
    }

    /// Stem clips carry their stem's classes; a mix clip carries the classes of the stems
    /// whose aligned clip passes the RMS gate.
    private func processMultitrack(mix: LabelledAudio, stems: [LabelledAudio]) throws -> JobResult {
        var result = JobResult()
        let mixSamples = try decode(mix)
        let mixClips = ClipSlicer.clips(of: mixSamples, clipLength: settings.clipSamples, hop: settings.clipHopSamples, minLastClip: settings.minLastClipSamples)
        result.seconds = Double(mixSamples.count) / Double(settings.sampleRate)
        var active = [Set<Int>](repeating: [], count: mixClips.count)
        for stem in stems {
            let clips = ClipSlicer.clips(of: try decode(stem), clipLength: settings.clipSamples, hop: settings.clipHopSamples, minLastClip: settings.minLastClipSamples)
            for (index, clip) in clips.enumerated() {
                let level = rmsLevel(clip)
                guard level >= settings.rmsThresholdDB else { result.silentClips += 1; continue }
                if index < active.count { active[index].formUnion(stem.classIndices) }
                result.clips.append(encode(clip, level: level, source: stem.relativePath, classes: stem.classIndices))
            }
        }
        for (index, clip) in mixClips.enumerated() {
            let level = rmsLevel(clip)
            guard level >= settings.rmsThresholdDB else { result.silentClips += 1; continue }
            result.clips.append(encode(clip, level: level, source: mix.relativePath, classes: active[index].sorted()))
        }
        return result
    }

    private func decode(_ audio: LabelledAudio) throws -> [Float] {
        try MonoAudioStream.load(audio.url, sampleRate: settings.sampleRate, quality: quality).samples
    }

    /// RMS over the real (unpadded) samples.
    private func rmsLevel(_ clip: Clip) -> Double {
        clip.samples.withUnsafeBufferPointer { Decibels.rmsLevel(UnsafeBufferPointer(rebasing: $0[0..<clip.validCount])) }
    }

    private func encode(_ clip: Clip, level: Double, source: String, classes: [Int]) -> PreparedClip {
        let chunk = clip.samples.withUnsafeBufferPointer { samples in
            mel.withUnsafeMutableBufferPointer { mel -> [UInt8] in
                extractor.logMel(samples, into: mel)
                return encoder.encode(UnsafeBufferPointer(mel))
            }
        }
        let offset = Float(Double(clip.start) / Double(settings.sampleRate))
        return PreparedClip(source: source, offset: offset, rmsDB: Float(level), classIndices: classes, melChunk: chunk)
    }
}
