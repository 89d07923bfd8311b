import Foundation
import TimbreAudio
import TimbreCore

/// Plays an SFZ instrument: for each note it chooses the regions that match (key and
/// velocity ranges, round robin, random range, key switch, controller ranges, trigger)
/// and plays their samples at the note's pitch with the region's level, pan, loop and
/// amplitude envelope. Release-trigger regions sound at note-off, and `off_by` groups
/// choke each other (an open hi-hat closed by the pedal).
///
/// Samples are read at their own rate and resampled per voice by cubic interpolation, so
/// a file's sample rate and the note's pitch are one speed ratio. Loop points come from
/// the region (`loop_start`/`loop_end`) or else from the sample file (a WAV `smpl`
/// chunk, or the same kept in a FLAC file). Create one per worker thread.
public final class SfzInstrument {
    public let url: URL
    public let regions: [SfzRegion]
    public let sampleRate: Int
    /// Folder sample paths are relative to (the file's folder plus `default_path`).
    let sampleFolder: URL
    /// The instrument's own folder: no sample is read from outside it.
    let root: URL
    let initialControllers: [Int: Double]
    let defaultKeySwitch: Int?
    private var cache: [String: LoadedSample] = [:]
    private var cachedValues = 0

    /// Most sample values kept decoded at once; past it the cache starts afresh.
    static let cacheLimit = 96 << 20

    struct LoadedSample {
        let left: [Float]
        let right: [Float]
        let rate: Int
        let loop: Range<Int>?
    }

    /// Reads the instrument; `keep` chooses regions by their opcodes (e.g. one microphone
    /// of a multi-microphone drum kit). Nothing is read from outside `root` (default: the
    /// file's folder). Fails when no region names a sample.
    public init(url: URL, root: URL? = nil, sampleRate: Int = 44_100, keep: (SfzFile.Opcodes) -> Bool = { _ in true }) throws {
        self.url = url
        self.sampleRate = sampleRate
        let file = try SfzFile(url: url, root: root)
        let noteOffset = 12 * (Int(file.control["octave_offset"] ?? "") ?? 0) + (Int(file.control["note_offset"] ?? "") ?? 0)
        regions = file.regions.filter(keep).compactMap { SfzRegion($0, noteOffset: noteOffset) }
        guard !regions.isEmpty else { throw FileError(path: url.path, reason: "no SFZ region with a sample") }
        self.root = (root ?? url.deletingLastPathComponent()).standardizedFileURL
        sampleFolder = url.deletingLastPathComponent().appendingPathComponent((file.control["default_path"] ?? "").replacingOccurrences(of: "\\", with: "/"))
        var controllers: [Int: Double] = [:]
        // In name order, so both forms of one controller resolve the same way in every run
        // (set_hdcc sorts after set_cc and wins).
        for name in file.control.keys.sorted() {
            guard let v = Double(file.control[name]!), v.isFinite else { continue }
            if name.hasPrefix("set_cc"), let cc = Int(name.dropFirst(6)) { controllers[cc] = max(0, min(127, v)) }
            if name.hasPrefix("set_hdcc"), let cc = Int(name.dropFirst(8)) { controllers[cc] = max(0, min(1, v)) * 127 }
        }
        initialControllers = controllers
        defaultKeySwitch = regions.lazy.compactMap(\.keySwitchDefault).first
    }

    /// An instrument made of `regions` whose samples lie under `sampleFolder` (e.g. the
    /// regions `NoteSampleSet` builds from a folder of single notes).
    public init(regions: [SfzRegion], sampleFolder: URL, sampleRate: Int = 44_100) throws {
        guard !regions.isEmpty else { throw FileError(path: sampleFolder.path, reason: "no notes to play") }
        url = sampleFolder
        self.regions = regions
        self.sampleRate = sampleRate
        self.sampleFolder = sampleFolder
        root = sampleFolder.standardizedFileURL
        initialControllers = [:]
        defaultKeySwitch = nil
    }

    /// Keys some region plays on note-on.
    public var playableKeys: Set<Int> {
        var keys = Set<Int>()
        for region in regions where region.trigger != .release { keys.formUnion(region.keys) }
        return keys
    }

    /// Renders `performance` (notes, detuning, vibrato depth 0…127) into a stereo signal
    /// of exactly `performance.seconds`; `rng` draws the random ranges (`lorand`).
    public func render(_ performance: Performance, rng: inout SeededGenerator) throws -> StereoSignal {
        var signal = StereoSignal(frames: Int(performance.seconds * Double(sampleRate)), sampleRate: sampleRate)
        var counters: [Int: Int] = [:]
        var keySwitch = defaultKeySwitch
        let switches = regions.compactMap(\.keySwitchRange)
        var voices: [Voice] = []
        let notes = performance.notes.sorted { $0.start < $1.start }
        for (index, note) in notes.enumerated() {
            if switches.contains(where: { $0.contains(note.key) }) {
                keySwitch = note.key
                continue
            }
            let held = notes[..<index].contains { $0.start + $0.duration > note.start }
            let draw = Double(rng.nextUnit())
            let count = counters[note.key, default: 0]
            counters[note.key] = count + 1
            let velocity = max(1, min(127, note.velocity))
            let start = Int(note.start * Double(sampleRate))
            let release = start + max(1, Int(note.duration * Double(sampleRate)))
            for region in regions where region.keys.contains(note.key) && region.velocities.contains(velocity) {
                guard count % region.sequenceLength + 1 == region.sequencePosition, region.randomRange.contains(draw),
                      region.keySwitchLast == nil || region.keySwitchLast == keySwitch,
                      region.controllerRanges.allSatisfy({ $0.value.contains(initialControllers[$0.key] ?? 0) }) else { continue }
                let triggered: Bool
                switch region.trigger {
                case .attack: triggered = true
                case .first: triggered = !held
                case .legato: triggered = held
                case .release: triggered = false
                }
                if triggered {
                    if region.group != 0 {
                        for v in voices.indices where voices[v].region.offBy == region.group && voices[v].start < start { voices[v].choke = start }
                    }
                    voices.append(Voice(region: region, key: note.key, start: start, release: release, gain: region.velocityGain(velocity)))
                } else if region.trigger == .release {
                    let decay = pow(10, -region.releaseDecay * note.duration / 20)
                    var voice = Voice(region: region, key: note.key, start: release, release: release, gain: region.velocityGain(velocity) * decay)
                    voice.ignoresRelease = true
                    voices.append(voice)
                }
            }
        }
        for voice in voices {
            try play(voice, detuneCents: performance.detuneCents, vibrato: performance.vibrato, into: &signal)
        }
        return signal
    }

    /// One sounding region.
    struct Voice {
        let region: SfzRegion
        let key: Int
        let start: Int
        /// Frame at which the key is released (the envelope's release begins).
        var release: Int
        let gain: Double
        /// Release-trigger voices play their sample out whatever the key does.
        var ignoresRelease = false
        /// Where another region's group cuts this one short (`off_by`), whatever its loop
        /// mode: an open hi-hat closed by the pedal.
        var choke: Int?
    }

    private func play(_ voice: Voice, detuneCents: Double, vibrato: Int, into signal: inout StereoSignal) throws {
        let region = voice.region
        let sample = try load(region.sample)
        let frames = sample.left.count
        let end = min(frames, (region.end.map { $0 + 1 }) ?? frames)
        guard voice.start < signal.frames, region.offset < end else { return }
        let loop: Range<Int>? = {
            let stored = sample.loop
            let start = region.loopStart ?? stored?.lowerBound, stop = region.loopEnd.map { $0 + 1 } ?? stored?.upperBound
            guard let start, let stop, start >= 0, stop <= end, stop - start >= 2 else { return nil }
            return start..<stop
        }()
        let mode = region.loopMode ?? (loop == nil ? .noLoop : .continuous)
        let cents = (Double(voice.key - region.pitchKeycenter) * region.pitchKeytrack / 100 + Double(region.transpose)) * 100 + region.tune + detuneCents
        // At most six octaves up: a step past that would skip most of the sample.
        let baseStep = min(64, pow(2, cents / 1200) * Double(sample.rate) / Double(sampleRate))
        let level = pow(10, region.volume / 20) * region.amplitude / 100 * voice.gain
        let angle = (max(-100, min(100, region.pan)) + 100) / 200 * Double.pi / 2
        let (leftGain, rightGain) = (Float(level * cos(angle) * 2.squareRoot()), Float(level * sin(angle) * 2.squareRoot()))
        let keyRelease = (mode == .oneShot || voice.ignoresRelease) ? Int.max : voice.release
        let releaseFrame = min(keyRelease, voice.choke ?? Int.max)
        var envelope = EnvelopeState(region.envelope, sampleRate: sampleRate)
        if voice.choke.map({ $0 < keyRelease }) == true { envelope.releaseFactor = exp(log(0.001) / (0.005 * Double(sampleRate))) }
        // A slight vibrato for wind and string lines: depth from the performance (its
        // modulation wheel), 5.5 Hz.
        let vibratoCents = Double(vibrato) / 127 * 35
        let vibratoStep = 2 * Double.pi * 5.5 / Double(sampleRate)
        var position = Double(region.offset)
        var frame = voice.start
        sample.left.withUnsafeBufferPointer { left in
            sample.right.withUnsafeBufferPointer { right in
                signal.left.withUnsafeMutableBufferPointer { outLeft in
                    signal.right.withUnsafeMutableBufferPointer { outRight in
                        while frame < outLeft.count {
                            let held = frame < releaseFrame
                            guard let amplitude = envelope.next(held: held) else { break }
                            let looping = loop != nil && (mode == .continuous || (mode == .sustain && held))
                            if looping, let loop, position >= Double(loop.upperBound) {
                                position = Double(loop.lowerBound) + (position - Double(loop.lowerBound)).truncatingRemainder(dividingBy: Double(loop.count))
                            }
                            guard position < Double(end - 1) || looping else { break }
                            let base = Int(position), t = Float(position - Double(base))
                            let a = Float(amplitude)
                            if looping, let loop, base + 2 >= loop.upperBound {
                                // The interpolation reads across the loop's seam.
                                func wrapped(_ i: Int) -> Int { i >= loop.upperBound ? i - loop.count : i }
                                outLeft[frame] += leftGain * a * SfzInstrument.cubic(left, base, t, end, index: wrapped)
                                outRight[frame] += rightGain * a * SfzInstrument.cubic(right, base, t, end, index: wrapped)
                            } else {
                                outLeft[frame] += leftGain * a * SfzInstrument.cubic(left, base, t, end)
                                outRight[frame] += rightGain * a * SfzInstrument.cubic(right, base, t, end)
                            }
                            let step = vibratoCents > 0 ? baseStep * pow(2, vibratoCents * sin(vibratoStep * Double(frame - voice.start)) / 1200) : baseStep
                            position += step
                            frame += 1
                        }
                    }
                }
            }
        }
    }

    /// Catmull-Rom interpolation between samples `i` and `i + 1` at fraction `t`; `index`
    /// maps the neighbours' positions (across a loop's seam).
    @inline(__always)
    static func cubic(_ x: UnsafeBufferPointer<Float>, _ i: Int, _ t: Float, _ count: Int, index: (Int) -> Int = { $0 }) -> Float {
        let p0 = x[max(0, index(i - 1))], p1 = x[min(count - 1, index(i))]
        let p2 = x[min(count - 1, index(i + 1))], p3 = x[min(count - 1, index(i + 2))]
        return p1 + 0.5 * t * (p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0)))
    }

    /// The sample at `path` (relative to the sample folder), decoded and cached.
    func load(_ path: String) throws -> LoadedSample {
        if let cached = cache[path] { return cached }
        let url = sampleFolder.appendingPathComponent(path).resolvingSymlinksInPath()
        guard url.path.hasPrefix(root.resolvingSymlinksInPath().path + "/") else {
            throw FileError(path: self.url.path, reason: "sample \"\(path)\" lies outside the instrument's folder")
        }
        let reader = try AudioFileReader(url: url)
        let interleaved = try reader.readAllInterleaved()
        let channels = reader.info.channels
        let frames = interleaved.count / channels
        var left = [Float](repeating: 0, count: frames), right = left
        for i in 0..<frames {
            left[i] = interleaved[i * channels]
            right[i] = interleaved[i * channels + (channels > 1 ? 1 : 0)]
        }
        let loop = reader.storedLoop ?? (reader.info.container == "FLAC" ? SampleLoop.flacLoop(url) : nil)
        let sample = LoadedSample(left: left, right: right, rate: reader.info.sampleRate, loop: loop)
        if cachedValues + 2 * frames > SfzInstrument.cacheLimit {
            cache.removeAll()
            cachedValues = 0
        }
        cache[path] = sample
        cachedValues += 2 * frames
        return sample
    }
}

/// The SFZ amplitude envelope (delay, attack, hold, decay, sustain, release), one value
/// per frame. Attack is linear; decay and release fall exponentially (−60 dB over their
/// time), as hardware samplers do. A release shorter than 5 ms is taken as 5 ms, so a
/// note never ends in a click.
struct EnvelopeState {
    let delay: Int, attack: Int, hold: Int
    let decayFactor: Double, sustain: Double
    var releaseFactor: Double
    var frame = 0
    var level = 0.0
    var releasing = false

    init(_ envelope: SfzRegion.Envelope, sampleRate: Int) {
        let rate = Double(sampleRate)
        delay = Int(envelope.delay * rate)
        attack = Int(envelope.attack * rate)
        hold = Int(envelope.hold * rate)
        sustain = envelope.sustain / 100
        decayFactor = envelope.decay > 0 ? exp(log(0.001) / (envelope.decay * rate)) : 0
        releaseFactor = exp(log(0.001) / (max(0.005, envelope.release) * rate))
    }

    /// The next frame's gain, or nil when the note has died away.
    mutating func next(held: Bool) -> Double? {
        defer { frame += 1 }
        if !held && !releasing { releasing = true }
        if releasing {
            level *= releaseFactor
            return level < 1e-4 ? nil : level
        }
        if frame < delay { level = 0; return 0 }
        if frame < delay + attack { level = Double(frame - delay + 1) / Double(attack + 1); return level }
        if frame < delay + attack + hold { level = 1; return 1 }
        // Decay from full level towards sustain.
        if frame == delay + attack + hold { level = 1 }
        level = sustain + (level - sustain) * decayFactor
        return level
    }
}
