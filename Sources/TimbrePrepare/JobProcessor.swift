import Foundation
import TimbreAudio
import TimbreDSP
import TimbreDatasets
import TimbreStore
import TimbreCore

/// Everything one job produced.
public struct JobResult: Sendable, Equatable {
    /// Clips with their group still 0: ids are assigned when the file is written in job order.
    public var clips: [EncodedClip] = []
    /// Clips dropped by the RMS gate.
    public var silentClips = 0
    /// Seconds of audio decoded (the primary file's).
    public var seconds = 0.0
    /// Size and modification time of every file the job read, in `PreparationJob.files`
    /// order, as they were opened: what a resume checks before reusing the result.
    public var stamps: [FileStamp] = []
    /// Problems that cost clips but not the job ("path: reason"), reported once when the
    /// job is computed; not kept in the resume journal.
    public var warnings: [String] = []

    public init(clips: [EncodedClip] = [], silentClips: Int = 0, seconds: Double = 0, stamps: [FileStamp] = []) {
        self.clips = clips
        self.silentClips = silentClips
        self.seconds = seconds
        self.stamps = stamps
    }
}

/// Turns preparation jobs into clips: decode, resample, cut, gate, log-mel, compress.
/// Holds an FFT plan and buffers; one per worker thread.
public final class JobProcessor {
    public let settings: FeatureSettings
    public let quality: ResamplerQuality
    public let multitrackClips: MultitrackClips
    /// Class indices whose stems give stem clips; nil: every stem's.
    public let stemClipClasses: Set<Int>?
    private let extractor: LogMelExtractor
    private let encoder = ChunkEncoder()
    private var mel: [Float]

    public init(settings: FeatureSettings, quality: ResamplerQuality, multitrackClips: MultitrackClips = .both, stemClipClasses: Set<Int>? = nil) {
        self.settings = settings
        self.quality = quality
        self.multitrackClips = multitrackClips
        self.stemClipClasses = stemClipClasses
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
        result.stamps = [stream.stamp]
        var slicer = makeSlicer()
        var total = 0
        func take(_ clips: [Clip]) {
            for clip in clips {
                let level = rmsLevel(clip)
                guard level.isFinite || level == -.infinity else { result.warnings.append(nonFinite(audio, clip)); continue }
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
    /// whose aligned clip passes the RMS gate (every stem's, whichever stem clips are kept).
    private func processMultitrack(mix: LabelledAudio, stems: [LabelledAudio]) throws -> JobResult {
        var result = JobResult()
        let (mixSamples, mixStamp) = try decode(mix)
        result.stamps = [mixStamp]
        let mixClips = ClipSlicer.clips(of: mixSamples, clipLength: settings.clipSamples, hop: settings.clipHopSamples, minLastClip: settings.minLastClipSamples)
        result.seconds = Double(mixSamples.count) / Double(settings.sampleRate)
        var active = [Set<Int>](repeating: [], count: mixClips.count)
        for stem in stems {
            let keepsClips = multitrackClips.keepsStems && givesStemClips(stem)
            let (samples, stamp) = try decode(stem)
            result.stamps.append(stamp)
            let clips = ClipSlicer.clips(of: samples, clipLength: settings.clipSamples, hop: settings.clipHopSamples, minLastClip: settings.minLastClipSamples)
            for (index, clip) in clips.enumerated() {
                let level = rmsLevel(clip)
                guard level.isFinite || level == -.infinity else { result.warnings.append(nonFinite(stem, clip)); continue }
                guard level >= settings.rmsThresholdDB else { result.silentClips += 1; continue }
                if index < active.count { active[index].formUnion(stem.classIndices) }
                guard keepsClips else { continue }
                result.clips.append(encode(clip, level: level, source: stem.relativePath, classes: stem.classIndices))
            }
        }
        for (index, clip) in mixClips.enumerated() where multitrackClips.keepsMixes {
            let level = rmsLevel(clip)
            guard level.isFinite || level == -.infinity else { result.warnings.append(nonFinite(mix, clip)); continue }
            guard level >= settings.rmsThresholdDB else { result.silentClips += 1; continue }
            result.clips.append(encode(clip, level: level, source: mix.relativePath, classes: active[index].sorted()))
        }
        return result
    }

    /// Whether a stem's own clips are kept: every stem's unless classes were chosen.
    private func givesStemClips(_ stem: LabelledAudio) -> Bool {
        guard let stemClipClasses else { return true }
        return !stemClipClasses.isDisjoint(with: stem.classIndices)
    }

    private func decode(_ audio: LabelledAudio) throws -> (samples: [Float], stamp: FileStamp) {
        let stream = try MonoAudioStream(url: audio.url, sampleRate: settings.sampleRate, quality: quality)
        return (try stream.readAll(), stream.stamp)
    }

    private func nonFinite(_ audio: LabelledAudio, _ clip: Clip) -> String {
        "\(audio.url.path): NaN or infinite samples in the clip at \(Double(clip.start) / Double(settings.sampleRate)) s; clip skipped"
    }

    /// RMS over the real (unpadded) samples.
    private func rmsLevel(_ clip: Clip) -> Double {
        clip.samples.withUnsafeBufferPointer { Decibels.rmsLevel(UnsafeBufferPointer(rebasing: $0[0..<clip.validCount])) }
    }

    private func encode(_ clip: Clip, level: Double, source: String, classes: [Int]) -> EncodedClip {
        let chunk = clip.samples.withUnsafeBufferPointer { samples in
            mel.withUnsafeMutableBufferPointer { mel -> [UInt8] in
                extractor.logMel(samples, into: mel)
                return encoder.encode(UnsafeBufferPointer(mel))
            }
        }
        let offset = Float(Double(clip.start) / Double(settings.sampleRate))
        return EncodedClip(melChunk: chunk, classIndices: classes, source: source, offset: offset, group: 0, rmsDB: Float(level))
    }
}
