import Foundation

/// Analysis windows for the short-time Fourier transform.
public enum Window {
    /// Periodic Hann window of `length` samples, 0.5 − 0.5·cos(2πn/length): the DFT-even
    /// window that scipy's `get_window("hann", length)` and so librosa use.
    public static func hann(_ length: Int) -> [Double] {
        (0..<length).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(length)) }
    }
}
