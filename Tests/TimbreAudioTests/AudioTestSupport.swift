import Foundation
import TimbreTestSupport

/// A fresh temporary folder per test, removed when the value is released.
final class TemporaryFolder {
    let url: URL

    init() {
        url = scratchFolder("audio")
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
}

func sine(frequency: Double, sampleRate: Int, seconds: Double, amplitude: Double = 0.5) -> [Float] {
    (0..<Int(seconds * Double(sampleRate))).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(sampleRate))) }
}

func rms(_ x: ArraySlice<Float>) -> Double {
    (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(x.count, 1))).squareRoot()
}

/// Frequency of the strongest component, by a fine DFT scan around `near` (Hz).
func dominantFrequency(_ x: ArraySlice<Float>, sampleRate: Int, near: Double, span: Double = 20, step: Double = 0.05) -> Double {
    var best = (frequency: near, power: -1.0)
    var f = near - span
    let samples = Array(x)
    while f <= near + span {
        var re = 0.0, im = 0.0
        let w = 2 * Double.pi * f / Double(sampleRate)
        for (n, v) in samples.enumerated() {
            re += Double(v) * cos(w * Double(n))
            im -= Double(v) * sin(w * Double(n))
        }
        let power = re * re + im * im
        if power > best.power { best = (f, power) }
        f += step
    }
    return best.frequency
}
