import Foundation
import TimbreCore
import TimbreDSP

/// A second-order IIR filter (Robert Bristow-Johnson's audio EQ cookbook designs), run
/// in direct form I per channel.
struct Biquad {
    var b0, b1, b2, a1, a2: Double

    enum Kind: String { case lowShelf, highShelf, peak, lowPass, highPass }

    init(_ kind: Kind, frequency: Double, gainDB: Double = 0, q: Double = 0.707, sampleRate: Int) {
        let w = 2 * Double.pi * min(frequency, 0.45 * Double(sampleRate)) / Double(sampleRate)
        let cosw = cos(w), alpha = sin(w) / (2 * q)
        let a = pow(10, gainDB / 40)
        var c: (b0: Double, b1: Double, b2: Double, a0: Double, a1: Double, a2: Double)
        switch kind {
        case .peak:
            c = (1 + alpha * a, -2 * cosw, 1 - alpha * a, 1 + alpha / a, -2 * cosw, 1 - alpha / a)
        case .lowShelf:
            let s = 2 * a.squareRoot() * alpha
            c = (a * ((a + 1) - (a - 1) * cosw + s), 2 * a * ((a - 1) - (a + 1) * cosw), a * ((a + 1) - (a - 1) * cosw - s),
                 (a + 1) + (a - 1) * cosw + s, -2 * ((a - 1) + (a + 1) * cosw), (a + 1) + (a - 1) * cosw - s)
        case .highShelf:
            let s = 2 * a.squareRoot() * alpha
            c = (a * ((a + 1) + (a - 1) * cosw + s), -2 * a * ((a - 1) + (a + 1) * cosw), a * ((a + 1) + (a - 1) * cosw - s),
                 (a + 1) - (a - 1) * cosw + s, 2 * ((a - 1) - (a + 1) * cosw), (a + 1) - (a - 1) * cosw - s)
        case .lowPass:
            c = ((1 - cosw) / 2, 1 - cosw, (1 - cosw) / 2, 1 + alpha, -2 * cosw, 1 - alpha)
        case .highPass:
            c = ((1 + cosw) / 2, -(1 + cosw), (1 + cosw) / 2, 1 + alpha, -2 * cosw, 1 - alpha)
        }
        b0 = c.b0 / c.a0; b1 = c.b1 / c.a0; b2 = c.b2 / c.a0; a1 = c.a1 / c.a0; a2 = c.a2 / c.a0
    }

    func apply(to samples: inout [Float]) {
        var x1 = 0.0, x2 = 0.0, y1 = 0.0, y2 = 0.0
        for i in samples.indices {
            let x = Double(samples[i])
            let y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2 = x1; x1 = x; y2 = y1; y1 = y
            samples[i] = Float(y)
        }
    }
}

/// A small artificial room: parallel damped feedback combs into series all-passes
/// (Schroeder–Moorer), with channel-specific delays for a wide image.
struct Reverb {
    let decaySeconds: Double
    let wet: Float
    let damping: Double
    let size: Double

    func apply(to signal: inout StereoSignal) {
        let rate = Double(signal.sampleRate)
        for channel in 0..<2 {
            let dry = channel == 0 ? signal.left : signal.right
            let spread = channel == 0 ? 1.0 : 1.037
            var sum = [Float](repeating: 0, count: dry.count)
            for milliseconds in [29.7, 37.1, 41.1, 43.7, 31.3, 47.9] {
                let delay = max(1, Int(milliseconds * size * spread * rate / 1000))
                let feedback = pow(10, -3 * Double(delay) / rate / decaySeconds)
                var line = [Float](repeating: 0, count: delay)
                var index = 0
                var low = 0.0
                for i in 0..<dry.count {
                    let out = Double(line[index])
                    low = out * (1 - damping) + low * damping
                    line[index] = dry[i] + Float(feedback * low)
                    sum[i] += Float(out)
                    index += 1
                    if index == delay { index = 0 }
                }
            }
            for milliseconds in [5.0, 1.7] {
                let delay = max(1, Int(milliseconds * spread * rate / 1000))
                var line = [Float](repeating: 0, count: delay)
                var index = 0
                for i in 0..<sum.count {
                    let delayed = line[index]
                    let input = sum[i]
                    let out = -0.7 * input + delayed
                    line[index] = input + 0.7 * out
                    sum[i] = out
                    index += 1
                    if index == delay { index = 0 }
                }
            }
            let gain = wet / 6
            if channel == 0 {
                for i in 0..<dry.count { signal.left[i] = (1 - wet) * dry[i] + gain * sum[i] }
            } else {
                for i in 0..<dry.count { signal.right[i] = (1 - wet) * dry[i] + gain * sum[i] }
            }
        }
    }
}

/// A recording chain drawn at random: an amplifier for electric guitar and bass,
/// equalisation or band limiting, compression, an echo (mostly on voices), a room
/// (measured or artificial), background noise and an output level. Applied to rendered
/// parts so the model learns instruments, not one source's studio.
public struct AugmentationChain: Sendable, CustomStringConvertible {
    struct Filter: Sendable {
        let kind: String
        let frequency: Double
        let gainDB: Double
        let q: Double
    }
    var amp: AmpSimulator?
    /// Which measured cabinet to use when some are installed (taken modulo their number).
    var cabinetChoice: UInt32 = 0
    var filters: [Filter] = []
    var compressor: Compressor?
    var echo: Echo?
    var reverb: (decay: Double, wet: Float, damping: Double, size: Double)?
    /// A measured room instead of the artificial one, when rooms are installed: which
    /// one (modulo their number) and how much of it.
    var room: (choice: UInt32, wet: Float)?
    /// Signal-to-noise ratio in dB and the noise colour.
    var noise: (snrDB: Double, colour: String)?
    /// RMS level of the result in dBFS.
    var levelDB: Double = -20

    /// No processing except setting the level: for stems that must add up to a mix.
    public static func levelOnly(_ levelDB: Double) -> AugmentationChain {
        var chain = AugmentationChain()
        chain.levelDB = levelDB
        return chain
    }

    /// A random chain for a part of class `code`; `strength` 0...1 scales how often and
    /// how much each stage acts.
    public static func random(using rng: inout SeededGenerator, strength: Double = 1, code: String = "") -> AugmentationChain {
        var chain = AugmentationChain()
        // Electric guitar and bass are recorded direct or through an amplifier, clean or driven.
        if code == "gel" && rng.chance(0.5) {
            chain.amp = AmpSimulator(driveDB: rng.uniform(0, 36), bassDB: rng.uniform(-6, 6), middleDB: rng.uniform(-8, 6), trebleDB: rng.uniform(-6, 6),
                                     cabinetCutoff: rng.uniform(3_500, 6_500), bias: rng.uniform(0.05, 0.25))
            chain.cabinetChoice = UInt32(truncatingIfNeeded: rng.next())
        } else if code == "bas" && rng.chance(0.3) {
            chain.amp = AmpSimulator(driveDB: rng.uniform(0, 18), bassDB: rng.uniform(-3, 6), middleDB: rng.uniform(-6, 6), trebleDB: rng.uniform(-6, 3),
                                     cabinetCutoff: rng.uniform(2_500, 5_000), bias: rng.uniform(0.05, 0.2))
            chain.cabinetChoice = UInt32(truncatingIfNeeded: rng.next())
        }
        if rng.chance(0.6 * strength) {
            for _ in 0..<rng.integer(1...3) {
                switch rng.integer(0...2) {
                case 0: chain.filters.append(Filter(kind: "lowShelf", frequency: rng.uniform(80, 300), gainDB: rng.uniform(-8, 8) * strength, q: 0.707))
                case 1: chain.filters.append(Filter(kind: "peak", frequency: exp(rng.uniform(log(250), log(6000))), gainDB: rng.uniform(-9, 9) * strength, q: rng.uniform(0.5, 2.5)))
                default: chain.filters.append(Filter(kind: "highShelf", frequency: rng.uniform(2500, 8000), gainDB: rng.uniform(-10, 6) * strength, q: 0.707))
                }
            }
        }
        if rng.chance(0.25 * strength) { chain.filters.append(Filter(kind: "lowPass", frequency: rng.uniform(3500, 10000), gainDB: 0, q: 0.707)) }
        if rng.chance(0.25 * strength) { chain.filters.append(Filter(kind: "highPass", frequency: rng.uniform(40, 250), gainDB: 0, q: 0.707)) }
        if rng.chance((["voi", "bas"].contains(code) ? 0.5 : 0.25) * strength) {
            chain.compressor = Compressor(thresholdDB: rng.uniform(-24, -6), ratio: rng.uniform(2, 8), attack: rng.uniform(0.002, 0.03), release: rng.uniform(0.05, 0.3))
        }
        if rng.chance((code == "voi" ? 0.4 : 0.08) * strength) {
            chain.echo = Echo(delay: rng.uniform(0.08, 0.45), feedback: rng.uniform(0, 0.45), mix: rng.uniform(0.1, 0.35))
        }
        if rng.chance(0.6 * strength) {
            chain.reverb = (rng.uniform(0.3, 2.2), Float(rng.uniform(0.1, 0.45) * strength), rng.uniform(0.1, 0.6), rng.uniform(0.7, 1.6))
            if rng.chance(0.5) { chain.room = (UInt32(truncatingIfNeeded: rng.next()), Float(rng.uniform(0.1, 0.5) * strength)) }
        }
        if rng.chance(0.5 * strength) { chain.noise = (rng.uniform(20, 50), rng.pick(["white", "pink", "hum"])) }
        chain.levelDB = rng.uniform(-32, -12)
        return chain
    }

    /// Runs the chain over `signal` in place; measured rooms and cabinets come from
    /// `responses` where installed.
    public func apply(to signal: inout StereoSignal, rng: inout SeededGenerator, responses: ImpulseResponses? = nil) {
        if let amp {
            let cabinets = responses?.cabinets ?? []
            let cabinet = cabinets.isEmpty ? nil : cabinets[Int(cabinetChoice % UInt32(cabinets.count))]
            amp.apply(to: &signal.left, sampleRate: signal.sampleRate, cabinet: cabinet)
            amp.apply(to: &signal.right, sampleRate: signal.sampleRate, cabinet: cabinet)
        }
        for filter in filters {
            let biquad = Biquad(Biquad.Kind(rawValue: filter.kind)!, frequency: filter.frequency, gainDB: filter.gainDB, q: filter.q, sampleRate: signal.sampleRate)
            biquad.apply(to: &signal.left)
            biquad.apply(to: &signal.right)
        }
        compressor?.apply(to: &signal)
        echo?.apply(to: &signal)
        if let room, let rooms = responses?.rooms, !rooms.isEmpty {
            let response = rooms[Int(room.choice % UInt32(rooms.count))]
            let dryRMS = signal.rms
            var wet = StereoSignal(frames: 0, sampleRate: signal.sampleRate)
            wet.left = FastConvolution.apply(signal.left, response: response)
            wet.right = FastConvolution.apply(signal.right, response: response)
            let wetRMS = wet.rms
            if wetRMS > 0 {
                signal.scale(by: 1 - room.wet)
                signal.add(wet, gain: room.wet * dryRMS / wetRMS)
            }
        } else if let reverb {
            Reverb(decaySeconds: reverb.decay, wet: reverb.wet, damping: reverb.damping, size: reverb.size).apply(to: &signal)
        }
        let rms = signal.rms
        guard rms > 0 else { return }
        if let noise {
            let noiseRMS = rms * Float(pow(10, -noise.snrDB / 20))
            var added = AugmentationChain.noise(noise.colour, frames: signal.frames, sampleRate: signal.sampleRate, rng: &rng)
            let level = added.rms
            if level > 0 { signal.add(added, gain: noiseRMS / level) }
            added = StereoSignal(frames: 0, sampleRate: signal.sampleRate)
        }
        signal.scale(by: Float(pow(10, levelDB / 20)) / signal.rms)
        let peak = signal.peak
        if peak > 0.98 { signal.scale(by: 0.98 / peak) }
    }

    static func noise(_ colour: String, frames: Int, sampleRate: Int, rng: inout SeededGenerator) -> StereoSignal {
        var out = StereoSignal(frames: frames, sampleRate: sampleRate)
        switch colour {
        case "hum":
            let mains = rng.chance(0.5) ? 50.0 : 60.0
            for i in 0..<frames {
                let t = Double(i) / Double(sampleRate)
                var v = 0.0
                for harmonic in 1...5 { v += sin(2 * .pi * mains * Double(harmonic) * t) / Double(harmonic) }
                out.left[i] = Float(v + 0.05 * rng.nextNormal())
                out.right[i] = out.left[i]
            }
        case "pink":
            // Sum of three leaky integrators of white noise: roughly −3 dB per octave
            // across the audible band.
            var state = [[Double]](repeating: [0, 0, 0], count: 2)
            let poles = [0.997, 0.963, 0.57], weights = [0.029, 0.032, 0.1]
            for i in 0..<frames {
                for channel in 0..<2 {
                    let white = rng.nextNormal()
                    var v = 0.0
                    for k in 0..<3 {
                        state[channel][k] = poles[k] * state[channel][k] + weights[k] * white
                        v += state[channel][k]
                    }
                    v += 0.05 * white
                    if channel == 0 { out.left[i] = Float(v) } else { out.right[i] = Float(v) }
                }
            }
        default:
            for i in 0..<frames {
                out.left[i] = Float(rng.nextNormal())
                out.right[i] = Float(rng.nextNormal())
            }
        }
        return out
    }

    public var description: String {
        var parts: [String] = []
        if let amp { parts.append(String(format: "amp drive %.0fdB", amp.driveDB)) }
        parts += filters.map { "\($0.kind)@\(Int($0.frequency))Hz\($0.gainDB != 0 ? String(format: "%+.1fdB", $0.gainDB) : "")" }
        if let compressor { parts.append(String(format: "compressor %.0f:1", compressor.ratio)) }
        if let echo { parts.append(String(format: "echo %.2fs", echo.delay)) }
        if let room { parts.append(String(format: "measured room wet %.2f", room.wet)) } else if let reverb { parts.append(String(format: "reverb %.1fs wet %.2f", reverb.decay, reverb.wet)) }
        if let noise { parts.append("\(noise.colour) noise " + String(format: "%.0fdB SNR", noise.snrDB)) }
        parts.append(String(format: "level %.1fdBFS", levelDB))
        return parts.joined(separator: "; ")
    }
}
