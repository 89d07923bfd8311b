/// The running mean of a network's weights over training steps: stochastic weight
/// averaging taken densely, after every step, as SWAD (Cha et al., 2021) does for models
/// that must hold on data sources they never saw. Averaging smooths the step-to-step and
/// epoch-to-epoch wander of the weights and lands in flatter regions of the loss, which
/// generalise better to a shifted domain. The classifier has no batch normalisation, so the
/// average needs no recomputed statistics.
public struct WeightAverage: Equatable, Sendable {
    /// The mean of every weight vector added so far.
    public private(set) var values: [Float]
    /// How many weight vectors that mean is over.
    public private(set) var count: Int

    public init(values: [Float] = [], count: Int = 0) {
        self.values = values
        self.count = count
    }

    /// Adds one weight vector: mean += (weights − mean) / count, in double precision per
    /// step so that thousands of steps add no drift.
    public mutating func add(_ weights: UnsafeBufferPointer<Float>) {
        if count == 0 { values = Array(weights) } else {
            precondition(weights.count == values.count, "weights of another network")
            let share = 1 / Double(count + 1)
            values.withUnsafeMutableBufferPointer { mean in
                for i in 0..<mean.count { mean[i] = Float(Double(mean[i]) + (Double(weights[i]) - Double(mean[i])) * share) }
            }
        }
        count += 1
    }
}
