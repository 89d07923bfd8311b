import TimbreCore

/// Inverted dropout: while training, each value is zeroed with probability `rate` and the
/// survivors are scaled by 1/(1 − rate), so inference needs no rescaling; at inference it
/// is the identity.
///
/// Masks come from the seed, the step and the batch item, so a run is reproducible and a
/// resumed run draws exactly the masks the uninterrupted one would have.
public final class Dropout: Layer {
    public let rate: Float
    /// Distinguishes the masks of different dropout layers in one model.
    public let salt: UInt64
    private var mask: [Float] = []
    private var active = false

    public init(rate: Float, salt: UInt64) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1)")
        self.rate = rate
        self.salt = salt
    }

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        active = context.training && rate > 0
        guard active else { return input }
        let itemSize = input.itemSize, scale = 1 / (1 - rate)
        mask = [Float](repeating: 0, count: input.count)
        var output = input
        for item in 0..<input.batch {
            var generator = SeededGenerator(seed: context.seed ^ (salt &* 0x2545_F491_4F6C_DD1D), stream: context.step &* 65_536 &+ UInt64(item))
            for i in (item * itemSize)..<((item + 1) * itemSize) {
                let keep: Float = generator.nextUnit() >= rate ? scale : 0
                mask[i] = keep
                output.data[i] *= keep
            }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard active else { return outputGradient }
        var gradient = outputGradient
        for i in gradient.data.indices { gradient.data[i] *= mask[i] }
        return gradient
    }
}
