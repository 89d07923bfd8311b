import COpenBLAS
import Foundation
import TimbreAudio
import TimbreCore

/// Separates a file of any length into stems, block by block, with memory bounded by the
/// block rather than the file.
///
/// The STFT runs at the file's own rate with the model's frame duration (hop and FFT scaled
/// by the rate ratio), so there is no resampling and the stems keep the full band: model
/// bins are read from the file's spectrum by interpolation, and each file bin takes the
/// mask of its frequency (bins above the model's top one take the top one's mask). The
/// network sees chunks of `frames` frames that start every half chunk on a grid fixed to
/// the file; where chunks overlap their masks are cross-faded with sin² weights. Each block
/// then makes one inverse STFT per stem and channel of exactly the samples it owns, with
/// the frames around them, so blocks join without seams: any block size gives the same
/// stems as one block. The masks sum to one, so the stems add up to the mix.
///
/// Before the network hears a file, a first pass measures the gain that brings it to the
/// training mixtures' level (`InputLevel`). By default a quieter recording is lifted to that
/// level, where the network separates best, and a louder one is heard as it is.
public final class BlockSeparator {
    public let model: SeparatorModel
    /// Model frames per block (rounded up to a whole number of half chunks).
    public let blockFrames: Int
    /// Chunks per network batch.
    public var batchChunks = 32
    /// The most input frames held at once by the last `separate` (memory follows the block).
    public private(set) var peakBufferedFrames = 0
    /// How loud the network hears a file.
    public var inputGain = InputGain.liftToTraining
    /// The gain the network heard the last `separate`'s file with, in dB.
    public private(set) var lastInputGainDecibels = 0.0
    /// NaN or infinite samples of the last file separated, read as silence (they would
    /// otherwise turn a whole block of every stem into NaN).
    public private(set) var lastSilencedSamples = 0

    /// How loud the network hears a file: brought to the level of the training mixtures
    /// (`InputLevel`); lifted to it when quieter and heard as it is when louder; or as it is
    /// times a fixed gain (0 dB: as it is).
    public enum InputGain: Equatable, Sendable {
        case matchTraining
        case liftToTraining
        case decibels(Double)
    }

    public init(model: SeparatorModel, blockSeconds: Double = 30) {
        self.model = model
        // Every block allocates spectra and activations of the same sizes again.
        MemoryPolicy.reuseLargeAllocations()
        let s = model.settings
        let half = s.frames / 2
        let frames = max(1, Int((blockSeconds * Double(s.sampleRate) / Double(s.hopLength)).rounded(.up)))
        blockFrames = (frames + half - 1) / half * half
    }

    /// What a file's separation writes.
    public struct Output: Sendable {
        public var folder: URL
        public var stems: [SeparationStem]
        /// Also write `no_<stem>`: the mix minus the stem.
        public var residual = false
        public var format: AudioFileFormat = .wav16
        public var fileExtension = "wav"

        public init(folder: URL, stems: [SeparationStem]) {
            self.folder = folder
            self.stems = stems
        }

        /// The files written, by name without extension.
        public var files: [(name: String, stem: SeparationStem, residual: Bool)] {
            stems.flatMap { stem -> [(name: String, stem: SeparationStem, residual: Bool)] in
                [(stem.rawValue, stem, false)] + (residual ? [("no_\(stem.rawValue)", stem, true)] : [])
            }
        }
    }

    /// The geometry of one file's STFT at its own rate.
    struct Geometry {
        let hop: Int, fftSize: Int, totalFrames: Int, length: Int
        /// Model bin k sits at file bin position k · binRatio.
        let binRatio: Double
    }

    func geometry(sampleRate: Int, length: Int) -> Geometry {
        let s = model.settings
        let scale = Double(sampleRate) / Double(s.sampleRate)
        let hop = max(1, Int((Double(s.hopLength) * scale).rounded()))
        let fftSize = max(2, Int((Double(s.fftSize) * scale / 2).rounded()) * 2)
        let binRatio = Double(s.sampleRate) * Double(fftSize) / (Double(s.fftSize) * Double(sampleRate))
        return Geometry(hop: hop, fftSize: fftSize, totalFrames: 1 + length / hop, length: length, binRatio: binRatio)
    }

    /// Separates `input` into `output.folder/<stem>.<ext>` at the input's rate and channels.
    /// - Parameter progress: called after each block with the input seconds done and in all.
    public func separate(_ input: URL, into output: Output, progress: (Double, Double) -> Void = { _, _ in }) throws {
        peakBufferedFrames = 0
        lastSilencedSamples = 0
        // The layers spread a batch's chunks over the cores themselves.
        openblas_set_num_threads(1)
        let reader = try AudioFileReader(url: input)
        reader.silencesNonFiniteSamples = true
        defer { lastSilencedSamples = reader.silencedSamples }
        let channels = reader.info.channels, rate = reader.info.sampleRate
        guard reader.info.frames > 0, reader.info.frames < Int64(Int.max / 4) else { throw FileError(path: input.path, reason: "holds no audio") }
        let length = Int(reader.info.frames)
        let g = geometry(sampleRate: rate, length: length)
        let settings = model.settings, t = settings.frames, h = t / 2, stems = settings.stems
        let analyser = SpectralFrames(fftSize: g.fftSize, hopLength: g.hop)
        let half = g.fftSize / 2
        try FileSystemName.makeFolders(output.folder.path)
        let files = output.files
        let gain = try networkGain(input, geometry: g)
        lastInputGainDecibels = 20 * log10(Double(gain))
        let writers = try files.map { file in
            try AudioFileStreamWriter(url: output.folder.appendingPathComponent("\(file.name).\(output.fileExtension)"), channels: channels, sampleRate: rate, format: output.format)
        }
        let fade = (0..<t).map { Float(pow(sin(Double.pi * (Double($0) + 0.5) / Double(t)), 2)) }
        let window = SlidingSamples(reader: reader, path: input.path, length: length)

        var real: [Float] = [], imaginary: [Float] = []
        let blockSamples = blockFrames * g.hop
        var blockStart = 0
        while blockStart < length {
            let blockEnd = min(length, blockStart + blockSamples)
            let firstFrame = max(0, Self.floorDivide(blockStart - half, g.hop) + 1)
            let lastFrame = min(g.totalFrames - 1, Self.floorDivide(blockEnd - 1 + half, g.hop))
            let firstChunk = max(0, Self.ceilDivide(firstFrame - t + 1, h)), lastChunk = lastFrame / h
            let analysedFrames = (firstChunk * h)..<(lastChunk * h + t)
            try window.ensure(max(0, analysedFrames.lowerBound * g.hop - half)..<min(length, (analysedFrames.upperBound - 1) * g.hop + half))
            peakBufferedFrames = max(peakBufferedFrames, window.heldFrames)
            let buffer = window.buffer, bufferStart = window.start

            // Mono magnitudes of every frame the chunks read, on the model's bins.
            let modelMagnitudes = modelMagnitudes(buffer, origin: bufferStart, channels: channels, frames: analysedFrames, analyser: analyser, geometry: g,
                                                       real: &real, imaginary: &imaginary)

            // Cross-faded masks of the frames this block synthesises, on the model's bins.
            let frameCount = lastFrame - firstFrame + 1, plane = frameCount * settings.bins
            var mask = [Float](repeating: 0, count: stems.count * plane), weight = [Float](repeating: 0, count: frameCount)
            var chunk = firstChunk
            while chunk <= lastChunk {
                let batch = Array(chunk...min(lastChunk, chunk + batchChunks - 1))
                let inputs = batch.map { c -> [Float] in
                    let offset = (c * h - analysedFrames.lowerBound) * settings.bins
                    return Array(modelMagnitudes[offset..<(offset + t * settings.bins)])
                }
                for (c, masks) in zip(batch, model.masks(forChunks: inputs, gain: gain)) {
                    for i in 0..<t {
                        let frame = c * h + i
                        guard frame >= firstFrame, frame <= lastFrame else { continue }
                        let row = frame - firstFrame
                        weight[row] += fade[i]
                        for s in 0..<stems.count {
                            for f in 0..<settings.bins { mask[s * plane + row * settings.bins + f] += fade[i] * masks[s * t * settings.bins + i * settings.bins + f] }
                        }
                    }
                }
                chunk += batchChunks
            }
            for row in 0..<frameCount { for s in 0..<stems.count { for f in 0..<settings.bins { mask[s * plane + row * settings.bins + f] /= weight[row] } } }
            let fileMask = (0..<stems.count).map { s in
                Self.resampleBins(Array(mask[(s * plane)..<((s + 1) * plane)]), frames: frameCount, from: settings.bins, to: analyser.bins,
                                  position: { Double($0) / g.binRatio })
            }

            // One inverse STFT per stem and channel for the samples this block owns.
            let samples = blockStart..<blockEnd
            var outputs = [[Float]](repeating: [Float](repeating: 0, count: samples.count * channels), count: files.count)
            for channel in 0..<channels {
                let signal = Self.channel(buffer, channel, of: channels)
                signal.withUnsafeBufferPointer { analyser.analyse($0, origin: bufferStart, length: length, frames: firstFrame..<(lastFrame + 1), real: &real, imaginary: &imaginary) }
                // Each stem is synthesised once; its residual file is the mix minus it.
                for wanted in output.stems {
                    guard let s = stems.firstIndex(of: wanted) else { continue }
                    let m = fileMask[s]
                    let stem = analyser.synthesise(real: Self.product(real, m), imaginary: Self.product(imaginary, m),
                                                   frames: firstFrame..<(lastFrame + 1), samples: samples, totalFrames: g.totalFrames)
                    for (fileIndex, file) in files.enumerated() where file.stem == wanted {
                        for (i, value) in stem.enumerated() {
                            outputs[fileIndex][i * channels + channel] = file.residual ? signal[samples.lowerBound + i - bufferStart] - value : value
                        }
                    }
                }
            }
            for (writer, samples) in zip(writers, outputs) { try writer.append(samples) }
            blockStart = blockEnd
            progress(Double(blockStart) / Double(rate), Double(length) / Double(rate))
        }
        for writer in writers { try writer.finish() }
    }

    /// Mono magnitudes of `frames`, on the model's bins, from interleaved samples that start
    /// at sample `origin` of the file.
    func modelMagnitudes(_ interleaved: [Float], origin: Int, channels: Int, frames: Range<Int>, analyser: SpectralFrames, geometry g: Geometry,
                         real: inout [Float], imaginary: inout [Float]) -> [Float] {
        let mono = Self.mono(interleaved, channels: channels)
        mono.withUnsafeBufferPointer { analyser.analyse($0, origin: origin, length: g.length, frames: frames, real: &real, imaginary: &imaginary) }
        let fileMagnitudes = analyser.magnitudes(real: real, imaginary: imaginary)
        return Self.resampleBins(fileMagnitudes, frames: frames.count, from: analyser.bins, to: model.settings.bins, position: { Double($0) * g.binRatio })
    }

    /// The gain the network hears `input` with: `inputGain`'s fixed one, else the one that
    /// brings the file's mean log magnitude to the training mixtures' (a first pass over the
    /// file, block by block), or at least 1 when only lifting. The floor's fixed masks need none.
    func networkGain(_ input: URL, geometry g: Geometry) throws -> Float {
        if case .decibels(let decibels) = inputGain { return Float(pow(10, decibels / 20)) }
        guard !model.isFloor else { return 1 }
        let reader = try AudioFileReader(url: input)
        reader.silencesNonFiniteSamples = true
        let channels = reader.info.channels, half = g.fftSize / 2
        let analyser = SpectralFrames(fftSize: g.fftSize, hopLength: g.hop)
        let window = SlidingSamples(reader: reader, path: input.path, length: g.length)
        var level = InputLevel(), real: [Float] = [], imaginary: [Float] = []
        var first = 0
        while first < g.totalFrames {
            let frames = first..<min(g.totalFrames, first + blockFrames)
            try window.ensure(max(0, frames.lowerBound * g.hop - half)..<min(g.length, (frames.upperBound - 1) * g.hop + half))
            peakBufferedFrames = max(peakBufferedFrames, window.heldFrames)
            let magnitudes = modelMagnitudes(window.buffer, origin: window.start, channels: channels, frames: frames, analyser: analyser, geometry: g,
                                             real: &real, imaginary: &imaginary)
            magnitudes.withUnsafeBufferPointer { level.add($0) }
            first = frames.upperBound
        }
        let matching = level.gain(matching: model.trainingMeanLogMagnitude, floor: Double(SpectralFrames.floor))
        return Float(inputGain == .liftToTraining ? max(1, matching) : matching)
    }

    /// a ⊙ b, value by value.
    static func product(_ a: [Float], _ b: [Float]) -> [Float] {
        precondition(a.count == b.count, "products need equal lengths")
        return [Float](unsafeUninitializedCapacity: a.count) { result, count in
            a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in for i in 0..<a.count { result[i] = a[i] * b[i] } } }
            count = a.count
        }
    }

    static func floorDivide(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
    static func ceilDivide(_ a: Int, _ b: Int) -> Int { -floorDivide(-a, b) }

    static func mono(_ interleaved: [Float], channels: Int) -> [Float] {
        guard channels > 1 else { return interleaved }
        let frames = interleaved.count / channels
        return (0..<frames).map { frame in
            var sum: Float = 0
            for c in 0..<channels { sum += interleaved[frame * channels + c] }
            return sum / Float(channels)
        }
    }

    static func channel(_ interleaved: [Float], _ channel: Int, of channels: Int) -> [Float] {
        guard channels > 1 else { return interleaved }
        return stride(from: channel, to: interleaved.count, by: channels).map { interleaved[$0] }
    }

    /// Time-major values on `from` bins read at `to` bins: bin k of the result is the value
    /// at position(k) on the source bins, linearly interpolated, held at the ends.
    static func resampleBins(_ values: [Float], frames: Int, from: Int, to: Int, position: (Int) -> Double) -> [Float] {
        if from == to, position(1) == 1 { return values }
        let taps = (0..<to).map { k -> (Int, Int, Float) in
            let p = min(max(position(k), 0), Double(from - 1))
            let low = Int(p), high = min(low + 1, from - 1)
            return (low, high, Float(p - Double(low)))
        }
        var result = [Float](repeating: 0, count: frames * to)
        for frame in 0..<frames {
            for (k, tap) in taps.enumerated() {
                let a = values[frame * from + tap.0], b = values[frame * from + tap.1]
                result[frame * to + k] = a + (b - a) * tap.2
            }
        }
        return result
    }
}

/// A file's interleaved samples from a moving start: `ensure` reads on to a range's end and
/// drops what lies before its start, so what is held follows the block, not the file.
final class SlidingSamples {
    let reader: AudioFileReader
    let path: String
    let length: Int
    /// Samples `start ..< start + heldFrames`, interleaved.
    private(set) var buffer: [Float] = []
    private(set) var start = 0
    private var readUpTo = 0
    var heldFrames: Int { buffer.count / reader.info.channels }

    init(reader: AudioFileReader, path: String, length: Int) {
        self.reader = reader
        self.path = path
        self.length = length
    }

    func ensure(_ range: Range<Int>) throws {
        let channels = reader.info.channels
        let drop = min(max(0, range.lowerBound - start), heldFrames)
        if drop > 0 { buffer.removeFirst(drop * channels); start += drop }
        while readUpTo < min(range.upperBound, length) {
            let block = try reader.readInterleaved(maxFrames: min(1 << 16, range.upperBound - readUpTo))
            if block.isEmpty { throw FileError(path: path, reason: "ends at frame \(readUpTo) of \(length)") }
            buffer += block
            readUpTo += block.count / channels
        }
    }
}
