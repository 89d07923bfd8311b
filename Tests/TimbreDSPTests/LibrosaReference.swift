import Foundation

/// Reference values computed once with librosa 0.11 by Fixtures/make_librosa_fixtures.py.
struct LibrosaReference: Decodable {
    struct Row: Decodable {
        let first_bin: Int
        let weights: [Double]
    }
    struct Filterbank: Decodable {
        let shape: [Int]
        let row_sums: [Double]
        let first_bin: [Int]
        let last_bin: [Int]
        let rows: [String: Row]
        let mel_frequencies: [Double]
    }
    struct SignalValues: Decodable {
        let frames: Int
        let power: [String: [Double]]
        let db: [String: [Double]]
        let power_sum: Double
        let db_mean: Double
        let db_max: Double
        let db_min: Double
    }

    let librosa_version: String
    let filterbank: Filterbank
    let frames_kept: [Int]
    let signals: [String: SignalValues]

    static let shared: LibrosaReference = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/librosa_reference.json")
        do {
            return try JSONDecoder().decode(LibrosaReference.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot read \(url.path): \(error)")
        }
    }()
}

/// The fixture script's test signals, rebuilt the same way: float64 maths, float32 samples.
enum TestSignals {
    static let sampleRate = 22_050
    static let count = 66_150

    static func named(_ name: String) -> [Float] {
        let duration = Double(count) / Double(sampleRate)
        return (0..<count).map { n -> Float in
            let t = Double(n) / Double(sampleRate)
            switch name {
            case "impulse": return n == 30_000 ? 1 : 0
            case "sine440": return Float(0.5 * sin(2 * Double.pi * 440 * t))
            case "chirp": return Float(0.25 * sin(2 * Double.pi * (50 * t + (10_000 - 50) * t * t / (2 * duration))))
            default: fatalError("unknown test signal \(name)")
            }
        }
    }
}

/// |a − b| ≤ atol + rtol·|b|, as numpy's `isclose`.
func isClose(_ a: Double, _ b: Double, rtol: Double, atol: Double = 0) -> Bool {
    abs(a - b) <= atol + rtol * abs(b)
}
