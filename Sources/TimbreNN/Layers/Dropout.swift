import TimbreCore

/// Inverted dropout: while training, each value is zeroed with probability `rate` and the
/// survivors are scaled by 1/(1 − rate), so inference needs no rescaling; at inference it
/// is the identity.
///
/// Masks come from the seed, the step and the batch item, so a run is reproducible, a
/// resumed run draws exactly the masks the uninterrupted one would have, and items can be
/// masked in parallel.
public final class Dropout: Layer {
    public let rate: Float
    /// Distinguishes the masks of different dropout layers in one model.
    public let salt: UInt64
    /// 1 where the value was kept.
    private var kept: [UInt8] = []
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
        // Keep a value when its 24-bit uniform draw is at least rate · 2²⁴.
        let threshold = UInt64((Double(rate) * Double(1 << 24)).rounded(.up))
        let seed = context.seed ^ (salt &* 0x2545_F491_4F6C_DD1D), step = context.step, offset = UInt64(context.itemOffset)
        if kept.count != input.count { kept = [UInt8](repeating: 0, count: input.count) }
        var output = Tensor(uninitialized: input.shape)
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                kept.withUnsafeMutableBufferPointer { mask in
                    let xBase = x.baseAddress!, yBase = y.baseAddress!, maskBase = mask.baseAddress!
                    Parallel.forEachRange(input.batch) { _, items in
                        for item in items {
                            var generator = SeededGenerator(seed: seed, stream: step &* 65_536 &+ offset &+ UInt64(item))
                            let start = item * itemSize, end = start + itemSize
                            var i = start
                            // Two 24-bit draws from each 64-bit value.
                            while i < end {
                                let bits = generator.next()
                                for draw in 0..<2 where i < end {
                                    let keep = (bits >> (40 - 24 * UInt64(draw))) & 0xFF_FFFF >= threshold
                                    maskBase[i] = keep ? 1 : 0
                                    yBase[i] = keep ? xBase[i] * scale : 0
                                    i += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard active else { return outputGradient }
        var gradient = Tensor(uninitialized: outputGradient.shape)
        let scale = 1 / (1 - rate), itemSize = gradient.itemSize
        outputGradient.data.withUnsafeBufferPointer { dy in
            gradient.data.withUnsafeMutableBufferPointer { dx in
                kept.withUnsafeBufferPointer { mask in
                    let dyBase = dy.baseAddress!, dxBase = dx.baseAddress!, maskBase = mask.baseAddress!
                    Parallel.forEachRange(outputGradient.batch) { _, items in
                        for i in (items.lowerBound * itemSize)..<(items.upperBound * itemSize) {
                            dxBase[i] = maskBase[i] != 0 ? dyBase[i] * scale : 0
                        }
                    }
                }
            }
        }
        return gradient
    }
}
