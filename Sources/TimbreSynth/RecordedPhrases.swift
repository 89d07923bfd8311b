import Foundation
import TimbreAudio
import TimbreCore
import TimbreDatasets

/// A folder of real solo recordings of one class (sung songs, played passages) played as a
/// part: a stretch of one recording instead of composed notes. A real performance brings
/// what no sampler has (phrasing, breaths, a singer's words and vibrato); the part's
/// recording chain still varies its level, room and effects.
public struct RecordedPhrases {
    /// A stretch this much quieter than its recording's whole (in RMS) is mostly silence.
    static let quietRatio: Float = 0.25

    /// The recordings, in name order.
    public let files: [URL]

    /// Which recordings of a folder a split plays when some are kept for the held-out split:
    /// `share` of them, chosen by a stable hash of each file's path in the folder, play
    /// there only, and the training split never plays them. So the held-out songs of a
    /// corpus of real recordings (one singer's songs, say) are recordings training never
    /// heard, as its programs and drum kits are.
    public struct HeldOutShare: Equatable, Sendable {
        public var share: Double
        public var split: SynthSplit

        public init(share: Double, split: SynthSplit) {
            self.share = share
            self.split = split
        }

        /// Whether the file at `relativePath` in its folder is played by `split`.
        func plays(_ relativePath: String) -> Bool {
            let heldOut = Double(FNV1a.hash(relativePath) % 1_000_000) / 1_000_000 < share
            return heldOut == (split == .heldOut)
        }
    }

    /// The audio files under `folder` whose names contain `filter` (all when empty), and of
    /// them those `heldOut` gives its split (all when nil). Nothing that leads outside
    /// `root` is taken, through `..` or a symbolic link.
    /// - Throws: `FileError` naming the folder when it holds no such recording.
    public init(folder: URL, root: URL, filter: String = "", heldOut: HeldOutShare? = nil) throws {
        files = AudioFileFinder.allFiles(under: folder).filter { file in
            let relative = AudioFileFinder.relativePath(of: file, to: folder)
            return AudioFileFinder.isAudio(file) && (filter.isEmpty || file.lastPathComponent.contains(filter))
                && ConfinedPath.resolve(relative, from: folder, inside: root) != nil
                && heldOut?.plays(relative) != false
        }
        guard !files.isEmpty else {
            let named = filter.isEmpty ? "" : " named with \"\(filter)\""
            let share = heldOut.map { " in the \($0.split.rawValue) split's share" } ?? ""
            throw FileError(path: folder.path, reason: "no recordings\(named)\(share)")
        }
    }

    /// `seconds` of one recording chosen by `rng` at `sampleRate`, from a place where it
    /// is not mostly silent; a recording shorter than that is followed by others. Mono
    /// recordings play on both sides. At a `playbackRate` other than 1 the recordings play
    /// that much faster, pitch and formants moved by the same ratio, as a tape played
    /// fast: one singer then sounds like singers of other voice types.
    public func render(seconds: Double, sampleRate: Int, playbackRate: Double = 1, rng: inout SeededGenerator) throws -> StereoSignal {
        var signal = StereoSignal(frames: Int(seconds * Double(sampleRate)), sampleRate: sampleRate)
        // Read at the rate whose samples, played at `sampleRate`, are `playbackRate` times faster.
        let readingRate = max(1, Int((Double(sampleRate) / playbackRate).rounded()))
        var filled = 0
        while filled < signal.frames {
            let (left, right) = try Self.read(rng.pick(files), sampleRate: readingRate)
            let count = min(signal.frames - filled, left.count)
            let start = Self.start(of: count, in: left, rng: &rng)
            for i in 0..<count {
                signal.left[filled + i] = left[start + i]
                signal.right[filled + i] = right[start + i]
            }
            filled += count
        }
        return signal
    }

    /// Silences the bars in `bars` (a part resting there), fading over 10 ms at each edge
    /// so that the cuts do not click.
    public static func silence(bars: Set<Int>, secondsPerBar: Double, in signal: inout StereoSignal) {
        let fade = max(1, signal.sampleRate / 100)
        for bar in bars.sorted() {
            let start = Int(Double(bar) * secondsPerBar * Double(signal.sampleRate))
            let end = min(signal.frames, Int(Double(bar + 1) * secondsPerBar * Double(signal.sampleRate)))
            guard start < end else { continue }
            for i in max(0, start - fade)..<min(signal.frames, end + fade) {
                // 0 inside the bar, rising linearly to 1 over `fade` frames on either side.
                let distance = i < start ? start - i : (i >= end ? i - end + 1 : 0)
                let gain = Float(min(distance, fade)) / Float(fade)
                signal.left[i] *= gain
                signal.right[i] *= gain
            }
        }
    }

    /// Where a stretch of `count` frames starts in `samples`: a random place whose RMS is
    /// at least `quietRatio` of the whole recording's; when eight draws find none, the
    /// loudest place on a grid of a quarter stretch.
    static func start(of count: Int, in samples: [Float], rng: inout SeededGenerator) -> Int {
        let last = samples.count - count
        guard last > 0 else { return 0 }
        func rms(_ range: Range<Int>) -> Float {
            guard !range.isEmpty else { return 0 }
            var sum: Float = 0
            for i in range { sum += samples[i] * samples[i] }
            return (sum / Float(range.count)).squareRoot()
        }
        let enough = quietRatio * rms(0..<samples.count)
        for _ in 0..<8 {
            let start = rng.integer(0...last)
            if rms(start..<start + count) >= enough { return start }
        }
        let grid = Array(stride(from: 0, through: last, by: max(1, count / 4)))
        return grid.max { rms($0..<$0 + count) < rms($1..<$1 + count) } ?? 0
    }

    /// A recording's first two channels (the first twice when mono) at `sampleRate`.
    static func read(_ url: URL, sampleRate: Int) throws -> (left: [Float], right: [Float]) {
        let audio = try MultichannelAudio(contentsOf: url)
        guard audio.frameCount > 0 else { throw FileError(path: url.path, reason: "holds no audio") }
        func converted(_ samples: [Float]) throws -> [Float] {
            guard audio.sampleRate != sampleRate else { return samples }
            let converter = try Resampler(from: audio.sampleRate, to: sampleRate, quality: .best)
            return try converter.process(samples) + converter.finish()
        }
        let left = try converted(audio.channels[0])
        return (left, audio.channelCount > 1 ? try converted(audio.channels[1]) : left)
    }
}
