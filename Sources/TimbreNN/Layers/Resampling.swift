/// Nearest-neighbour upsampling by whole factors: y[c, i, j] = x[c, i / fy, j / fx]. The
/// U-Net decoder's way up (no checkerboard artefacts, unlike a strided transpose).
public final class Upsample: Layer {
    public let factor: (y: Int, x: Int)
    private var inputShape: [Int] = []

    public init(factor: (Int, Int)) {
        precondition(factor.0 > 0 && factor.1 > 0, "upsampling factors must be positive")
        self.factor = factor
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 3, "Upsample expects [C, H, W], got \(inputShape)")
        return [inputShape[0], inputShape[1] * factor.y, inputShape[2] * factor.x]
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        inputShape = input.shape
        let (planes, h, w) = (input.shape[0] * input.shape[1], input.shape[2], input.shape[3])
        let (oh, ow) = (h * factor.y, w * factor.x)
        var output = Tensor(uninitialized: [input.shape[0], input.shape[1], oh, ow])
        for p in 0..<planes {
            for i in 0..<oh {
                for j in 0..<ow { output.data[(p * oh + i) * ow + j] = input.data[(p * h + i / factor.y) * w + j / factor.x] }
            }
        }
        return output
    }

    /// Each input value receives the sum of the gradients of the values copied from it.
    public func backward(_ outputGradient: Tensor) -> Tensor {
        var gradient = Tensor(zeros: inputShape)
        let (planes, h, w) = (inputShape[0] * inputShape[1], inputShape[2], inputShape[3])
        let (oh, ow) = (h * factor.y, w * factor.x)
        for p in 0..<planes {
            for i in 0..<oh {
                for j in 0..<ow { gradient.data[(p * h + i / factor.y) * w + j / factor.x] += outputGradient.data[(p * oh + i) * ow + j] }
            }
        }
        return gradient
    }
}

/// Average pooling over size.y × size.x windows every stride (default: the size); windows
/// that do not fit are dropped ("valid").
public final class AveragePool2D: Layer {
    public let size: (y: Int, x: Int), stride: (y: Int, x: Int)
    private var inputShape: [Int] = []

    public init(size: (Int, Int), stride: (Int, Int)? = nil) {
        let stride = stride ?? size
        precondition(size.0 > 0 && size.1 > 0 && stride.0 > 0 && stride.1 > 0, "pool sizes and strides must be positive")
        self.size = size
        self.stride = stride
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 3 && inputShape[1] >= size.y && inputShape[2] >= size.x, "AveragePool2D cannot pool \(inputShape)")
        return [inputShape[0], (inputShape[1] - size.y) / stride.y + 1, (inputShape[2] - size.x) / stride.x + 1]
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        inputShape = input.shape
        let shape = outputShape(for: Array(input.shape.dropFirst()))
        let (planes, h, w, oh, ow) = (input.shape[0] * input.shape[1], input.shape[2], input.shape[3], shape[1], shape[2])
        var output = Tensor(zeros: [input.shape[0]] + shape)
        let scale = 1 / Float(size.y * size.x)
        for p in 0..<planes {
            for i in 0..<oh {
                for j in 0..<ow {
                    var sum: Float = 0
                    for a in 0..<size.y { for b in 0..<size.x { sum += input.data[(p * h + i * stride.y + a) * w + j * stride.x + b] } }
                    output.data[(p * oh + i) * ow + j] = sum * scale
                }
            }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        var gradient = Tensor(zeros: inputShape)
        let (planes, h, w) = (inputShape[0] * inputShape[1], inputShape[2], inputShape[3])
        let (oh, ow) = (outputGradient.shape[2], outputGradient.shape[3])
        let scale = 1 / Float(size.y * size.x)
        for p in 0..<planes {
            for i in 0..<oh {
                for j in 0..<ow {
                    let share = outputGradient.data[(p * oh + i) * ow + j] * scale
                    for a in 0..<size.y { for b in 0..<size.x { gradient.data[(p * h + i * stride.y + a) * w + j * stride.x + b] += share } }
                }
            }
        }
        return gradient
    }
}
