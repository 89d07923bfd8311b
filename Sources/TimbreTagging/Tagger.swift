import COpenBLAS
import Foundation
import TimbreAudio
import TimbreCore
import TimbreDSP
import TimbreNN

/// How `Tagger` turns window probabilities into tags.
public struct TagOptions: Sendable {
    /// Reported classes per file (and per window), at most. Four, because a band's window
    /// usually holds drums, bass, a singer and one more instrument: with three, the fourth
    /// was crowded out even when it passed its threshold.
    public var topK = 4
    /// Mean probability at or above which a class is reported (the top class always is).
    public var threshold = 0.5
    /// One threshold per class, used instead of `threshold` when set (chosen per class on
    /// validation data when the model was trained).
    public var classThresholds: [Double]?
    /// Seconds between window starts (default: the window length, no overlap).
    public var hopSeconds: Double?
    /// The most probable class is reported even under its threshold (a file, a window).
    /// Off for separated stems: leakage from the other stems must not make a tag.
    public var reportsTopClass = true
    /// A floor under every class's threshold (separated stems: leakage scores low but not zero).
    public var thresholdFloor = 0.0
    /// Windows per forward pass.
    public var batchSize = 32
    /// Most windows of one file held in memory while its group is decoded (10 minutes of
    /// 3-s windows, 13 MB of log-mel); a longer file is tagged on its own, a batch at a
    /// time, so memory does not grow with the length of a file.
    public var heldWindows = 200
    /// Decoding and spectrogram threads.
    public var workers = ProcessInfo.processInfo.activeProcessorCount

    public init() {}
}

/// Tags audio files of any length with a trained model: cuts each file into windows of
/// the model's clip length, skips windows under the RMS gate, averages the class
/// probabilities of the rest and reports the top classes over the threshold.
public final class Tagger {
    public let model: Sequential
    public let settings: FeatureSettings
    public let classCodes: [String]
    public let classNames: [String]
    public let options: TagOptions

    public init(model: Sequential, settings: FeatureSettings, classCodes: [String], classNames: [String], options: TagOptions) {
        self.model = model
        self.settings = settings
        self.classCodes = classCodes
        self.classNames = classNames
        self.options = options
        // Batch items run on all cores; BLAS threads inside them would only contend.
        openblas_set_num_threads(1)
        MemoryPolicy.reuseLargeAllocations()
    }

    /// The same tagger with its silence gate `decibels` lower: what `tag --separate` tags
    /// stems with when the separator heard their file that much louder.
    public func gateLowered(by decibels: Double) -> Tagger {
        var settings = settings
        settings.rmsThresholdDB -= decibels
        return Tagger(model: model, settings: settings, classCodes: classCodes, classNames: classNames, options: options)
    }

    /// Log-mel windows of one file, before the model sees them.
    struct Windows {
        var starts: [Int] = []
        var silent: [Bool] = []
        /// Log-mel of the non-silent windows, one after another.
        var mel: [Float] = []
        var sampleCount = 0
        /// RMS level of the loudest window, dBFS (−∞ for digital silence).
        var loudestDB = -Double.infinity
        var padded = false
        /// Set when the file was too long to hold; it is then tagged by `tagStreaming`.
        var isLong = false
        /// NaN or infinite samples the reader read as silence.
        var silencedSamples = 0
        /// Windows whose log-mel is in `mel` (the rest were predicted and dropped).
        var pendingCount: Int { mel.count / max(1, melSize) }
        var melSize = 0
    }

    private struct TooLong: Error {}

    /// Tags `files` in order, calling `result` for each (from the calling thread) as soon
    /// as its group is done. A group is the next files in order, up to `groupSize` of them,
    /// until `groupSeconds` of audio are decoded, which bounds memory: a group's
    /// spectrograms are held until the network has seen them. Decoding runs on
    /// `options.workers` threads; prediction uses every core through the model, in
    /// batches that take windows from many short files.
    public func tag(_ files: [(url: URL, path: String)], groupSize: Int = 64, groupSeconds: Double = 900, result: (Result<FileTags, FileError>) -> Void) {
        let workers = max(1, min(options.workers, ProcessInfo.processInfo.activeProcessorCount))
        let settings = self.settings, hopSeconds = options.hopSeconds, heldWindows = options.heldWindows
        let extractors = UncheckedSlots<LogMelExtractor>(count: workers)
        for worker in 0..<workers { extractors[worker] = LogMelExtractor(settings: settings) }
        var groupStart = 0
        while groupStart < files.count {
            let candidates = Array(files[groupStart..<min(files.count, groupStart + groupSize)])
            let slots = UncheckedSlots<Result<Windows, FileError>>(count: candidates.count)
            let next = GroupDispenser(count: candidates.count, seconds: groupSeconds)
            DispatchQueue.concurrentPerform(iterations: min(workers, candidates.count)) { worker in
                let extractor = extractors[worker]!
                while let index = next.take() {
                    let file = candidates[index]
                    do {
                        let windows = try Tagger.windows(of: file.url, settings: settings, extractor: extractor, hopSeconds: hopSeconds) { windows in
                            if windows.starts.count > heldWindows { throw TooLong() }
                        }
                        next.decoded(seconds: Double(windows.sampleCount) / Double(settings.sampleRate))
                        slots[index] = .success(windows)
                    } catch is TooLong {
                        var long = Windows()
                        long.isLong = true
                        slots[index] = .success(long)
                    } catch let error as FileError {
                        slots[index] = .failure(FileError(path: file.path, reason: error.reason))
                    } catch {
                        slots[index] = .failure(FileError(path: file.path, reason: ErrorDescription.line(error)))
                    }
                }
            }
            let group = Array(candidates.prefix(next.taken))
            groupStart += group.count
            let outcomes = slots.values(count: group.count)
            // All non-silent windows of the group in one stream of batches.
            var stacked: [Float] = []
            stacked.reserveCapacity(outcomes.reduce(0) { total, outcome in
                if case .success(let windows) = outcome { return total + windows.mel.count }
                return total
            })
            for case .success(let windows) in outcomes { stacked += windows.mel }
            let probabilities = predict(stacked)
            var offset = 0
            for (index, outcome) in outcomes.enumerated() {
                switch outcome {
                case .failure(let error): result(.failure(error))
                case .success(let windows) where windows.isLong: result(tagStreaming(group[index]))
                case .success(let windows):
                    let count = windows.silent.filter { !$0 }.count
                    let rows = Array(probabilities[offset * classCodes.count..<(offset + count) * classCodes.count])
                    offset += count
                    result(.success(summarise(windows, probabilities: rows, path: group[index].path)))
                }
            }
        }
    }

    /// Class probabilities for windows of log-mel, `batchSize` at a time.
    func predict(_ mel: [Float]) -> [Float] {
        let size = settings.nMels * settings.framesPerClip
        let count = mel.count / size
        var out: [Float] = []
        out.reserveCapacity(count * classCodes.count)
        for start in stride(from: 0, to: count, by: options.batchSize) {
            let n = min(options.batchSize, count - start)
            let batch = Tensor(shape: [n, 1, settings.nMels, settings.framesPerClip], data: Array(mel[start * size..<(start + n) * size]))
            out += model.predict(batch).data
        }
        return out
    }

    /// Tags one file of any length in bounded memory: windows are predicted a batch at a
    /// time as they are decoded, and only their probabilities are kept.
    func tagStreaming(_ file: (url: URL, path: String)) -> Result<FileTags, FileError> {
        var probabilities: [Float] = []
        do {
            let windows = try Tagger.windows(of: file.url, settings: settings, extractor: LogMelExtractor(settings: settings), hopSeconds: options.hopSeconds) { windows in
                if windows.pendingCount >= options.batchSize {
                    probabilities += predict(windows.mel)
                    windows.mel.removeAll(keepingCapacity: true)
                }
            }
            probabilities += predict(windows.mel)
            return .success(summarise(windows, probabilities: probabilities, path: file.path))
        } catch let error as FileError {
            return .failure(FileError(path: file.path, reason: error.reason))
        } catch {
            return .failure(FileError(path: file.path, reason: ErrorDescription.line(error)))
        }
    }

    /// Decodes a file and cuts it into windows; a file shorter than the last-window
    /// minimum still gives one zero-padded window. `afterWindow` sees the windows after
    /// each one is added (to predict and drop their log-mel, or to give up on a long file).
    static func windows(of url: URL, settings: FeatureSettings, extractor: LogMelExtractor, hopSeconds: Double?,
                        afterWindow: (inout Windows) throws -> Void = { _ in }) throws -> Windows {
        let stream = try MonoAudioStream(url: url, sampleRate: settings.sampleRate, silencingNonFiniteSamples: true)
        let hop = hopSeconds.map { max(1, Int(($0 * Double(settings.sampleRate)).rounded())) } ?? settings.clipSamples
        var slicer = ClipSlicer(clipLength: settings.clipSamples, hop: hop, minLastClip: settings.minLastClipSamples)
        var windows = Windows()
        windows.melSize = settings.nMels * settings.framesPerClip
        var clips: [Clip] = []
        var tail: [Float] = []
        while let block = try stream.next() {
            windows.sampleCount += block.count
            if windows.sampleCount <= settings.clipSamples { tail += block }
            clips += slicer.append(block)
            for clip in clips {
                add(clip, to: &windows, settings: settings, extractor: extractor)
                try afterWindow(&windows)
            }
            clips.removeAll()
        }
        clips += slicer.finish()
        if windows.starts.isEmpty && clips.isEmpty {
            guard windows.sampleCount > 0 else { throw FileError(path: url.path, reason: "holds no audio") }
            // Shorter than the last-window minimum: one padded window anyway.
            clips = [Clip(start: 0, samples: tail + [Float](repeating: 0, count: settings.clipSamples - tail.count), validCount: tail.count)]
        }
        for clip in clips { add(clip, to: &windows, settings: settings, extractor: extractor) }
        windows.padded = windows.sampleCount < settings.clipSamples
        windows.silencedSamples = stream.silencedSamples
        return windows
    }

    private static func add(_ clip: Clip, to windows: inout Windows, settings: FeatureSettings, extractor: LogMelExtractor) {
        let level = clip.samples.withUnsafeBufferPointer { Decibels.rmsLevel(UnsafeBufferPointer(rebasing: $0[0..<clip.validCount])) }
        windows.starts.append(clip.start)
        // The reader silences NaN and infinite samples; should one still get through, the
        // window counts as silent rather than being classified.
        let silent = !(level >= settings.rmsThresholdDB && level.isFinite)
        if level.isFinite { windows.loudestDB = max(windows.loudestDB, level) }
        windows.silent.append(silent)
        if !silent { windows.mel += extractor.logMel(clip.samples) }
    }

    /// Mean probabilities over the non-silent windows, then the threshold rule.
    func summarise(_ windows: Windows, probabilities: [Float], path: String) -> FileTags {
        let classes = classCodes.count
        let rate = Double(settings.sampleRate)
        let duration = Double(windows.sampleCount) / rate
        var timeline: [WindowTags] = []
        var row = 0
        for (index, start) in windows.starts.enumerated() {
            let startSeconds = Double(start) / rate
            let end = min(duration, startSeconds + settings.clipSeconds)
            if windows.silent[index] {
                timeline.append(WindowTags(start: startSeconds, end: end, isSilent: true, tags: []))
                continue
            }
            let values = probabilities[row * classes..<(row + 1) * classes].map(Double.init)
            timeline.append(WindowTags(start: startSeconds, end: end, isSilent: false, tags: decide(values), scores: values))
            row += 1
        }
        var tags = fileTags(path: path, duration: duration, windows: windows.starts.count, isPadded: windows.padded, timeline: timeline)
        tags.silencedSamples = windows.silencedSamples
        if tags.isSilent, windows.loudestDB.isFinite { tags.quiet = FileTags.Quiet(loudestDB: windows.loudestDB, gateDB: settings.rmsThresholdDB) }
        return tags
    }

    /// `tags` with the windows at `indices` counted as silent, and the file's tags decided
    /// again from the windows left. The classes in `floorExempt` (a separated stem's own
    /// instruments, which are not leakage) are judged again in every window at their own
    /// thresholds, without `thresholdFloor`.
    public func silencing(_ tags: FileTags, windows indices: Set<Int>, floorExempt: Set<String> = []) -> FileTags {
        guard !indices.isEmpty || !floorExempt.isEmpty else { return tags }
        let timeline = tags.timeline.enumerated().map { index, window in
            if indices.contains(index) { return WindowTags(start: window.start, end: window.end, isSilent: true, tags: []) }
            guard !floorExempt.isEmpty, !window.isSilent, window.scores.count == classCodes.count else { return window }
            return WindowTags(start: window.start, end: window.end, isSilent: false, tags: decide(window.scores, floorExempt: floorExempt), scores: window.scores)
        }
        var decided = fileTags(path: tags.path, duration: tags.duration, windows: tags.windows, isPadded: tags.isPadded, timeline: timeline, floorExempt: floorExempt)
        if indices.isEmpty { decided.quiet = tags.quiet }
        return decided
    }

    /// A file's tags from its timeline: the mean of the sounding windows' probabilities,
    /// then the threshold rule (the classes of `floorExempt` without the floor); silent
    /// when no window sounds.
    private func fileTags(path: String, duration: Double, windows: Int, isPadded: Bool, timeline: [WindowTags], floorExempt: Set<String> = []) -> FileTags {
        let classes = classCodes.count
        let sounding = timeline.filter { !$0.isSilent && $0.scores.count == classes }
        guard !sounding.isEmpty else {
            return FileTags(path: path, duration: duration, windows: windows, isSilent: true, isPadded: isPadded, tags: [], timeline: timeline)
        }
        var mean = [Double](repeating: 0, count: classes)
        for window in sounding { for c in 0..<classes { mean[c] += window.scores[c] } }
        mean = mean.map { $0 / Double(sounding.count) }
        return FileTags(path: path, duration: duration, windows: windows, isSilent: false, isPadded: isPadded, tags: decide(mean, floorExempt: floorExempt), timeline: timeline, scores: mean)
    }

    /// The top class, plus the others at or above their threshold, at most `topK`, most
    /// probable first. `thresholdFloor` raises every threshold but those of `floorExempt`.
    func decide(_ probabilities: [Double], floorExempt: Set<String> = []) -> [Tag] {
        let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
        let threshold = { (c: Int) -> Double in
            let own = self.options.classThresholds?[c] ?? self.options.threshold
            return floorExempt.contains(self.classCodes[c]) ? own : max(self.options.thresholdFloor, own)
        }
        return order.enumerated()
            .filter { rank, c in (rank == 0 && options.reportsTopClass) || probabilities[c] >= threshold(c) }
            .prefix(max(1, options.topK))
            .map { _, c in
                var tag = Tag(code: classCodes[c], name: classNames[c], confidence: probabilities[c])
                tag.isUnsure = probabilities[c] < threshold(c)
                return tag
            }
    }
}

/// Result slots written by the decoding threads, one slot per thread at a time.
private final class UncheckedSlots<Value>: @unchecked Sendable {
    private var storage: [Value?]
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    subscript(index: Int) -> Value? {
        get { lock.lock(); defer { lock.unlock() }; return storage[index] }
        set { lock.lock(); storage[index] = newValue; lock.unlock() }
    }
    /// The first `count` values, all of which must be set.
    func values(count: Int) -> [Value] { storage.prefix(count).map { $0! } }
}

/// Hands out the files of one group in order until the group holds `count` files or
/// `seconds` of decoded audio; the files handed out are always the first ones.
private final class GroupDispenser: @unchecked Sendable {
    private let lock = NSLock()
    private let count: Int
    private let seconds: Double
    private var decodedSeconds = 0.0
    private var next = 0

    init(count: Int, seconds: Double) {
        self.count = count
        self.seconds = seconds
    }

    func take() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < count, decodedSeconds < seconds else { return nil }
        next += 1
        return next - 1
    }

    func decoded(seconds more: Double) {
        lock.lock(); decodedSeconds += more; lock.unlock()
    }

    /// Files handed out so far: after the workers stop, the group's size.
    var taken: Int {
        lock.lock(); defer { lock.unlock() }
        return next
    }
}
