import Foundation
import TimbreCore
@testable import TimbreSeparation

/// Small multitracks made of tones and noise bursts, one source per stem.
func syntheticSongs(count: Int, seconds: Double, sampleRate: Int = 22_050, seed: UInt64 = 1) -> [Multitrack] {
    (0..<count).map { index in
        var generator = SeededGenerator(seed: seed, stream: UInt64(index))
        let n = Int(seconds * Double(sampleRate))
        let rate = Double(sampleRate)
        let pitch = 110 * pow(2, Double(generator.integer(0...12)) / 12)
        let bass = (0..<n).map { Float(0.3 * sin(2 * .pi * pitch / 2 * Double($0) / rate)) }
        let vocals = (0..<n).map { i -> Float in
            let t = Double(i) / rate
            return Float(0.2 * sin(2 * .pi * pitch * 4 * t + 3 * sin(2 * .pi * 5 * t)) * (0.6 + 0.4 * sin(2 * .pi * 0.5 * t)))
        }
        var noise = SeededGenerator(seed: seed ^ 0xD5, stream: UInt64(index))
        let drums = (0..<n).map { i -> Float in
            let phase = i % (sampleRate / 4)
            return phase < sampleRate / 40 ? Float(noise.nextNormal() * 0.3 * exp(-Double(phase) / Double(sampleRate / 200))) : 0
        }
        let other = (0..<n).map { i -> Float in
            let t = Double(i) / rate
            return Float(0.1 * (sin(2 * .pi * pitch * 2 * t) + sin(2 * .pi * pitch * 3 * t)))
        }
        return Multitrack(name: "song\(index)", sampleRate: sampleRate, sources: [
            .init(stem: .vocals, instrument: "female singer", samples: vocals),
            .init(stem: .drums, instrument: "drum set", samples: drums),
            .init(stem: .bass, instrument: "electric bass", samples: bass),
            .init(stem: .other, instrument: "piano", samples: other),
        ])
    }
}
