import Foundation
import TimbreCore

/// A layer that gives its own parameters their starting values (a batch-norm scale starts
/// at 1, a convolution's kernel at He-normal values), so a graph initialises any mix of
/// layers by asking each in turn.
public protocol ParameterInitializing: AnyObject {
    func initializeParameters(using generator: inout SeededGenerator)
}

enum Initializers {
    /// He-normal values, N(0, 2 / fanIn) truncated at two standard deviations (Keras's `he_normal`).
    static func heNormal(_ values: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, generator: inout SeededGenerator) {
        let deviation = (2 / Double(max(fanIn, 1))).squareRoot()
        for i in 0..<count {
            var draw = generator.nextNormal()
            while abs(draw) > 2 { draw = generator.nextNormal() }
            values[i] = Float(draw * deviation)
        }
    }

    /// Glorot-uniform values in ±√(6 / (fanIn + fanOut)).
    static func glorotUniform(_ values: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, fanOut: Int, generator: inout SeededGenerator) {
        let limit = Float((6 / Double(max(fanIn + fanOut, 1))).squareRoot())
        for i in 0..<count { values[i] = (generator.nextUnit() * 2 - 1) * limit }
    }
}
