import Foundation

/// Slaney's mel scale (librosa's default, `htk=False`): linear below 1 kHz at 200/3 Hz per
/// mel, logarithmic above with 27 mels per factor of 6.4.
public enum MelScale {
    private static let hzPerMel = 200.0 / 3
    private static let breakHz = 1000.0
    private static let breakMel = breakHz / hzPerMel
    private static let logStep = log(6.4) / 27

    public static func mel(fromHz hz: Double) -> Double {
        hz >= breakHz ? breakMel + log(hz / breakHz) / logStep : hz / hzPerMel
    }

    public static func hz(fromMel mel: Double) -> Double {
        mel >= breakMel ? breakHz * exp(logStep * (mel - breakMel)) : hzPerMel * mel
    }

    /// `count` frequencies evenly spaced on the mel scale from `fmin` to `fmax`, inclusive.
    public static func frequencies(count: Int, fmin: Double, fmax: Double) -> [Double] {
        let low = mel(fromHz: fmin), high = mel(fromHz: fmax)
        return (0..<count).map { index in
            let fraction = count > 1 ? Double(index) / Double(count - 1) : 0
            return hz(fromMel: low + (high - low) * fraction)
        }
    }
}
