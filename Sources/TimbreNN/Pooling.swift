/// Max pooling over non-overlapping size × size windows (stride = size); rows and columns
/// that do not fill a window are dropped, as Keras's "valid" padding does (65 → 32).
public final class MaxPool2D: Layer {
    public let size: Int
    private var inputShape: [Int] = []
    /// For each output value, the flat input index that held the maximum.
    private var winners: [Int32] = []

    public init(size: Int = 2) { self.size = size }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        [inputShape[0], inputShape[1] / size, inputShape[2] / size]
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (oh, ow) = (h / size, w / size)
        inputShape = input.shape
        var output = Tensor(uninitialized: [n, c, oh, ow])
        winners = [Int32](repeating: 0, count: output.count)
        let size = self.size
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                winners.withUnsafeMutableBufferPointer { win in
                    let xBase = x.baseAddress!, yBase = y.baseAddress!, winBase = win.baseAddress!
                    Parallel.forEachRange(n * c) { _, planes in
                        for plane in planes {
                            let inBase = plane &* h &* w, outBase = plane &* oh &* ow
                            for oy in 0..<oh {
                                for ox in 0..<ow {
                                    var best = inBase &+ oy &* size &* w &+ ox &* size
                                    var value = xBase[best]
                                    for dy in 0..<size {
                                        let row = inBase &+ (oy &* size &+ dy) &* w &+ ox &* size
                                        for dx in 0..<size where xBase[row &+ dx] > value {
                                            best = row &+ dx
                                            value = xBase[best]
                                        }
                                    }
                                    yBase[outBase &+ oy &* ow &+ ox] = value
                                    winBase[outBase &+ oy &* ow &+ ox] = Int32(best)
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
        var inputGradient = Tensor(zeros: inputShape)
        inputGradient.data.withUnsafeMutableBufferPointer { dx in
            for (index, winner) in winners.enumerated() { dx[Int(winner)] += outputGradient.data[index] }
        }
        return inputGradient
    }
}
