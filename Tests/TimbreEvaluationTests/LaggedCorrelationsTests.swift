import Foundation
import Testing
@testable import TimbreEvaluation

@Suite struct LaggedCorrelationsTests {
    /// Block by block (FFTs of 256 over 3,001 samples) equals the direct sum at every lag.
    @Test func blocksGiveTheLinearCorrelation() {
        let length = 3_001, maxLag = 20
        let x: [Double] = (0..<length).map { n in sin(Double(n) * 0.37) + Double(n % 13) / 13 }
        let y: [Double] = (0..<length).map { n -> Double in
            let weight = Double((n * 7) % 17) / 17
            return cos(Double(n) * 0.11) * weight
        }
        let blocked = LaggedCorrelations(signals: [x, y], pairs: [(0, 1), (1, 1)], maxLag: maxLag, largestFFT: 256)
        for lag in -(maxLag - 1)...(maxLag - 1) {
            var xy = 0.0, yy = 0.0
            for n in 0..<length where n + lag >= 0 && n + lag < length {
                xy += x[n] * y[n + lag]
                yy += y[n] * y[n + lag]
            }
            #expect(abs(blocked.value(0, 1, lag: lag) - xy) < 1e-9 * abs(xy) + 1e-9, "lag \(lag)")
            #expect(abs(blocked.value(1, 1, lag: lag) - yy) < 1e-9 * abs(yy) + 1e-9, "lag \(lag)")
        }
    }
}
