import Foundation
import Testing
import TimbreVectorKernels
@testable import TimbreNN

/// The vector sigmoid against σ computed in Double with the C library's exponential, on
/// whichever vector unit the tests run on (`make test` runs them on all three).
@Suite struct SigmoidKernelTests {
    @Test func matchesTheDefinitionAcrossTheRange() {
        // −90 to 88 in uneven steps; 13,001 values, so the last vector is a partial one.
        let xs = (0..<13_001).map { Float(-90 + 0.0137 * Double($0)) }
        var ys = xs
        ys.withUnsafeMutableBufferPointer { timbre_sigmoid($0.baseAddress!, $0.count) }
        var worst = 0.0
        for (x, y) in zip(xs, ys) {
            let reference = 1 / (1 + exp(-Double(x)))
            // Where e^x leaves Float's normal range the kernel gives 0.
            guard reference > 1e-37 else {
                #expect(y >= 0 && y < 1e-37, "σ(\(x))")
                continue
            }
            worst = max(worst, abs(Double(y) - reference) / reference)
        }
        #expect(worst < 3e-7)
    }

    @Test func specialValues() {
        var values: [Float] = [0, -0.0, .infinity, -.infinity, .nan, 1e-30, -1e-30, 100, -100, 30]
        values.withUnsafeMutableBufferPointer { timbre_sigmoid($0.baseAddress!, $0.count) }
        #expect(values[0] == 0.5 && values[1] == 0.5)
        #expect(values[2] == 1 && values[3] == 0)
        #expect(values[4].isNaN)
        #expect(values[5] == 0.5 && values[6] == 0.5)
        #expect(values[7] == 1 && values[8] == 0 && values[9] == 1)
    }
}
