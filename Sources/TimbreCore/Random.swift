import Foundation

/// A small, fast, seedable generator (SplitMix64) so that initialisation, dropout masks
/// and shuffling are reproducible from one seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for a numbered sub-stream, independent of how many values any other
    /// stream has drawn (used per step and per sample so parallel work stays reproducible).
    public init(seed: UInt64, stream: UInt64) {
        var mixer = SeededGenerator(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Standard normal (Box–Muller).
    public mutating func nextNormal() -> Double {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), .leastNonzeroMagnitude)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

/// Draws every sampler in Timbre uses, so renders and training examples stay reproducible.
public extension SeededGenerator {
    mutating func uniform(_ low: Double, _ high: Double) -> Double { low + Double(nextUnit()) * (high - low) }
    mutating func chance(_ probability: Double) -> Bool { Double(nextUnit()) < probability }
    mutating func integer(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
    /// Gamma(shape, 1), by Marsaglia and Tsang's method (shape < 1 through
    /// Gamma(shape + 1) · U^(1/shape)).
    mutating func gamma(_ shape: Double) -> Double {
        precondition(shape > 0)
        if shape < 1 {
            let u = max(Double(next() >> 11) / Double(1 << 53), .leastNonzeroMagnitude)
            return gamma(shape + 1) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            let x = nextNormal(), v = pow(1 + c * x, 3)
            guard v > 0 else { continue }
            let u = max(Double(next() >> 11) / Double(1 << 53), .leastNonzeroMagnitude)
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
        }
    }
    /// Beta(a, b), as the share of the first of two Gamma draws.
    mutating func beta(_ a: Double, _ b: Double) -> Double {
        let x = gamma(a), y = gamma(b)
        return x + y > 0 ? x / (x + y) : (chance(a / (a + b)) ? 1 : 0)
    }
    /// An index drawn with probability proportional to its weight.
    mutating func weighted(_ weights: [Double]) -> Int {
        var target = uniform(0, weights.reduce(0, +))
        for (index, weight) in weights.enumerated() {
            target -= weight
            if target < 0 { return index }
        }
        return weights.count - 1
    }
}
