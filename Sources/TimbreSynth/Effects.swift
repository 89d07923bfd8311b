import Foundation
import TimbreAudio
import TimbreCore
import TimbreDSP

/// A guitar or bass amplifier and its cabinet: drive into an asymmetric soft clipper
/// (the even and odd harmonics of an overdriven valve stage), a three-band tone stack,
/// then the cabinet, either a measured impulse response or a built-in approximation of a
/// closed speaker cabinet (resonance near 100 Hz, presence near 2.5 kHz and a steep
/// roll-off above 4–6 kHz).
public struct AmpSimulator: Sendable, Equatable {
    /// Gain into the clipper, dB (0: nearly clean, 40: heavy distortion).
    public var driveDB: Double
    /// Tone stack: bass, middle and treble, dB.
    public var bassDB: Double
    public var middleDB: Double
    public var trebleDB: Double
    /// Upper edge of the built-in cabinet, Hz.
    public var cabinetCutoff: Double
    /// Asymmetry of the clipper, which makes even harmonics: the input is offset by
    /// bias × its peak, and negative peaks saturate at 1 − 2·bias of the positive ones.
    public var bias: Double

    public init(driveDB: Double, bassDB: Double = 0, middleDB: Double = 0, trebleDB: Double = 0, cabinetCutoff: Double = 5_000, bias: Double = 0.15) {
        self.driveDB = driveDB
        self.bassDB = bassDB
        self.middleDB = middleDB
        self.trebleDB = trebleDB
        self.cabinetCutoff = cabinetCutoff
        self.bias = bias
    }

    /// Runs one channel through the amplifier; `cabinet` replaces the built-in cabinet.
    public func apply(to samples: inout [Float], sampleRate: Int, cabinet: [Float]? = nil) {
        let peak = samples.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 0 else { return }
        // The drive is relative to a full-scale input so the result does not depend on
        // the level the part was rendered at.
        let gain = pow(10, driveDB / 20) / Double(peak)
        // Guitar amplifiers cut lows before the clipper (tighter distortion).
        Biquad(.highPass, frequency: 90, sampleRate: sampleRate).apply(to: &samples)
        // A valve stage biased off centre clips one half-wave earlier and lower than the
        // other: the offset moves the clipping points (so the half-waves differ in length)
        // and negative peaks saturate at 1 − 2·bias; both give even harmonics. The
        // cabinet's high-pass removes the DC.
        let floor = max(0.2, 1 - 2 * bias)
        // Louder drive, lower output, so the clipped signal stays near full scale.
        let outputGain = 1 / max(1, pow(10, driveDB / 20) * 0.25)
        let offset = bias * Double(peak)
        for i in samples.indices {
            let x = gain * (Double(samples[i]) + offset)
            samples[i] = Float((x >= 0 ? tanh(x) : floor * tanh(x / floor)) * outputGain)
        }
        Biquad(.lowShelf, frequency: 120, gainDB: bassDB, sampleRate: sampleRate).apply(to: &samples)
        Biquad(.peak, frequency: 650, gainDB: middleDB, q: 0.8, sampleRate: sampleRate).apply(to: &samples)
        Biquad(.highShelf, frequency: 2_800, gainDB: trebleDB, sampleRate: sampleRate).apply(to: &samples)
        if let cabinet {
            samples = FastConvolution.apply(samples, response: cabinet)
        } else {
            Biquad(.highPass, frequency: 70, sampleRate: sampleRate).apply(to: &samples)
            Biquad(.peak, frequency: 110, gainDB: 4, q: 1.2, sampleRate: sampleRate).apply(to: &samples)
            Biquad(.peak, frequency: 2_500, gainDB: 3, q: 1, sampleRate: sampleRate).apply(to: &samples)
            Biquad(.lowPass, frequency: cabinetCutoff, q: 0.9, sampleRate: sampleRate).apply(to: &samples)
            Biquad(.lowPass, frequency: cabinetCutoff * 1.2, q: 0.6, sampleRate: sampleRate).apply(to: &samples)
        }
    }
}

/// A feed-forward compressor with an RMS detector: above `thresholdDB` (relative to the
/// signal's own peak RMS, so the setting means the same at any level) the level grows
/// only 1/`ratio` dB per dB, with the detector's attack and release smoothing.
public struct Compressor: Sendable, Equatable {
    public var thresholdDB: Double
    public var ratio: Double
    public var attack: Double
    public var release: Double

    public init(thresholdDB: Double, ratio: Double, attack: Double = 0.005, release: Double = 0.12) {
        self.thresholdDB = thresholdDB
        self.ratio = ratio
        self.attack = attack
        self.release = release
    }

    public func apply(to signal: inout StereoSignal) {
        let rate = Double(signal.sampleRate)
        let attackCoefficient = exp(-1 / (attack * rate)), releaseCoefficient = exp(-1 / (release * rate))
        var envelope = 0.0
        var levels = [Double](repeating: 0, count: signal.frames)
        for i in 0..<signal.frames {
            let power = 0.5 * Double(signal.left[i] * signal.left[i] + signal.right[i] * signal.right[i])
            let coefficient = power > envelope ? attackCoefficient : releaseCoefficient
            envelope = coefficient * envelope + (1 - coefficient) * power
            levels[i] = 10 * log10(max(envelope, 1e-20))
        }
        guard let loudest = levels.max(), loudest > -200 else { return }
        let threshold = loudest + thresholdDB
        for i in 0..<signal.frames where levels[i] > threshold {
            let reduction = (levels[i] - threshold) * (1 - 1 / ratio)
            let gain = Float(pow(10, -reduction / 20))
            signal.left[i] *= gain
            signal.right[i] *= gain
        }
    }
}

/// A tape-style echo: the signal repeated every `delay` seconds, each repeat `feedback`
/// times the last and darker, mixed in at `mix`. Slapback (one short repeat) and longer
/// rhythmic delays are how vocals are treated in most mixes.
public struct Echo: Sendable, Equatable {
    public var delay: Double
    public var feedback: Double
    public var mix: Double

    public init(delay: Double, feedback: Double, mix: Double) {
        self.delay = delay
        self.feedback = feedback
        self.mix = mix
    }

    public func apply(to signal: inout StereoSignal) {
        let lag = max(1, Int(delay * Double(signal.sampleRate)))
        guard lag < signal.frames else { return }
        for channel in 0..<2 {
            var x = channel == 0 ? signal.left : signal.right
            var wet = [Float](repeating: 0, count: x.count)
            var damped = 0.0
            for i in lag..<x.count {
                // One-pole low-pass in the loop: each repeat duller than the last.
                damped = 0.6 * (Double(x[i - lag]) + feedback * Double(wet[i - lag])) + 0.4 * damped
                wet[i] = Float(damped)
            }
            for i in x.indices { x[i] += Float(mix) * wet[i] }
            if channel == 0 { signal.left = x } else { signal.right = x }
        }
    }
}

/// Impulse responses of real rooms and guitar cabinets, read from a folder of audio files
/// (mono or the first channel), resampled to the render rate and trimmed of silence.
/// Where none are installed the chains fall back to the artificial room and cabinet.
public final class ImpulseResponses: @unchecked Sendable {
    public let rooms: [[Float]]
    public let cabinets: [[Float]]
    public let roomNames: [String]
    public let cabinetNames: [String]

    /// Reads `folder/rooms/*` and `folder/cabinets/*`; a missing folder gives none.
    public init(folder: URL?, sampleRate: Int) {
        func load(_ name: String) -> (names: [String], responses: [[Float]]) {
            guard let folder else { return ([], []) }
            let directory = folder.appendingPathComponent(name)
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
                .filter { ["wav", "flac", "aif", "aiff"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            var names: [String] = [], responses: [[Float]] = []
            for file in files {
                guard var response = try? ImpulseResponses.read(directory.appendingPathComponent(file), sampleRate: sampleRate) else { continue }
                ImpulseResponses.normalise(&response)
                names.append(file)
                responses.append(response)
            }
            return (names, responses)
        }
        (roomNames, rooms) = load("rooms")
        (cabinetNames, cabinets) = load("cabinets")
    }

    /// The file's first channel (the omnidirectional W of an ambisonic recording) at
    /// `sampleRate`.
    static func read(_ url: URL, sampleRate: Int) throws -> [Float] {
        let reader = try AudioFileReader(url: url)
        let channels = reader.info.channels
        let interleaved = try reader.readAllInterleaved()
        let first = stride(from: 0, to: interleaved.count, by: channels).map { interleaved[$0] }
        guard reader.info.sampleRate != sampleRate else { return first }
        let converter = try Resampler(from: reader.info.sampleRate, to: sampleRate, quality: .best)
        return try converter.process(first) + converter.finish()
    }

    /// Drops leading silence (so the direct sound comes first) and scales to unit energy.
    static func normalise(_ response: inout [Float]) {
        let peak = response.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 0 else { return }
        if let first = response.firstIndex(where: { abs($0) > 0.05 * peak }) { response.removeFirst(max(0, first - 8)) }
        let energy = response.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
        for i in response.indices { response[i] /= Float(energy) }
    }
}
