/// The network-free floor a separator has to beat: one fixed mask per stem and frequency
/// bin, each stem's share of the training songs' power in that bin. It knows the typical
/// spectrum of each stem and nothing about the music at hand.
public enum FrequencyMaskFloor {
    /// Masks learned from `songs` (mono, at `settings.sampleRate`): Σ|Sᵢ|² / Σⱼ Σ|Sⱼ|² per bin,
    /// summed over every frame of every song; they sum to one in each bin.
    public static func learn(from songs: [Multitrack], settings: SeparatorSettings) -> [[Float]] {
        let frames = SpectralFrames(fftSize: settings.fftSize, hopLength: settings.hopLength)
        let bins = settings.bins
        var power = [[Double]](repeating: [Double](repeating: 0, count: bins), count: settings.stems.count)
        var real: [Float] = [], imaginary: [Float] = []
        for song in songs {
            let grouped = song.groupedStems()
            for (s, stem) in settings.stems.enumerated() {
                guard let signal = grouped[stem] else { continue }
                let count = 1 + signal.count / settings.hopLength
                signal.withUnsafeBufferPointer { frames.analyse($0, origin: 0, length: signal.count, frames: 0..<count, real: &real, imaginary: &imaginary) }
                for frame in 0..<count {
                    for f in 0..<bins {
                        let index = frame * frames.bins + f
                        power[s][f] += Double(real[index] * real[index] + imaginary[index] * imaginary[index])
                    }
                }
            }
        }
        return power.indices.map { s in
            (0..<bins).map { f in
                let total = power.reduce(0) { $0 + $1[f] }
                return total > 0 ? Float(power[s][f] / total) : 1 / Float(settings.stems.count)
            }
        }
    }
}
