import Foundation
import TimbreCore

/// Adam (Kingma & Ba) exactly as Keras 3 applies it: with t = step + 1,
/// α = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), m += (g − m)(1 − β₁), v += (g² − v)(1 − β₂),
/// θ −= α·m/(√v + ε). Bias correction is folded into α; ε = 1e-7 as in Keras.
public final class Adam {
    public struct State: Codable, Equatable, Sendable {
        public var step = 0
        public var m: [Float]
        public var v: [Float]

        public init(step: Int, m: [Float], v: [Float]) {
            self.step = step
            self.m = m
            self.v = v
        }
    }

    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Float
    private var step = 0
    private var m: [Float]
    private var v: [Float]

    /// Step count and moment estimates, for checkpoints.
    public var state: State { State(step: step, m: m, v: v) }

    public init(parameterCount: Int, learningRate: Double = 1e-4, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        m = [Float](repeating: 0, count: parameterCount)
        v = [Float](repeating: 0, count: parameterCount)
    }

    /// Restores moments and step from a checkpoint.
    public func restore(_ state: State) {
        precondition(state.m.count == m.count && state.v.count == v.count, "optimizer state does not match the model")
        step = state.step
        m = state.m
        v = state.v
    }

    /// Applies one update from the store's gradients.
    public func update(_ parameters: ParameterStore) {
        precondition(parameters.count == m.count, "optimizer built for another model")
        let t = Double(step + 1)
        let alpha = Float(learningRate * (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t)))
        let oneMinusBeta1 = Float(1 - beta1), oneMinusBeta2 = Float(1 - beta2), epsilon = self.epsilon
        let values = parameters.values, gradients = parameters.gradients
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                let shared = UncheckedBox((m, v, values, gradients))
                // Each value on its own: workers take ranges of them.
                Parallel.forEachRange(parameters.count) { _, range in
                    let (m, v, values, gradients) = shared.value
                    for i in range {
                        let g = gradients[i]
                        m[i] += (g - m[i]) * oneMinusBeta1
                        v[i] += (g * g - v[i]) * oneMinusBeta2
                        values[i] -= alpha * m[i] / (v[i].squareRoot() + epsilon)
                    }
                }
            }
        }
        step += 1
    }
}
