/// Max pooling over non-overlapping size × size windows (stride = size); rows and columns
/// that do not fill a window are dropped, as Keras's "valid" padding does (65 → 32).
///
/// The backward pass finds each window's winner again from the input (the first maximum in
/// row-major order) rather than storing an index per output, which would cost as much
/// memory traffic as the pooling itself.
public final class MaxPool2D: Layer {
    public let size: Int
    private var input: Tensor?

    public init(size: Int = 2) { self.size = size }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        [inputShape[0], inputShape[1] / size, inputShape[2] / size]
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (oh, ow) = (h / size, w / size)
        self.input = input
        var output = Tensor(uninitialized: [n, c, oh, ow])
        let size = self.size
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                let xBase = x.baseAddress!, yBase = y.baseAddress!
                Parallel.forEachRange(n * c) { _, planes in
                    for plane in planes {
                        let inOffset: Int = plane &* h &* w, outOffset: Int = plane &* oh &* ow
                        let source = xBase + inOffset, target = yBase + outOffset
                        for oy in 0..<oh {
                            let rowOffset: Int = oy &* ow
                            let out = target + rowOffset
                            if size == 2 {
                                let topOffset: Int = (2 &* oy) &* w
                                let top = source + topOffset, bottom = top + w
                                for ox in 0..<ow {
                                    let i = 2 &* ox
                                    let upper: Float = max(top[i], top[i &+ 1])
                                    let lower: Float = max(bottom[i], bottom[i &+ 1])
                                    out[ox] = max(upper, lower)
                                }
                            } else {
                                for ox in 0..<ow {
                                    var value = source[(oy &* size) &* w &+ ox &* size]
                                    for dy in 0..<size {
                                        let rowOffset: Int = (oy &* size &+ dy) &* w &+ ox &* size
                                        for dx in 0..<size { value = max(value, source[rowOffset &+ dx]) }
                                    }
                                    out[ox] = value
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
        guard let input else { preconditionFailure("backward before forward") }
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (oh, ow) = (h / size, w / size)
        var inputGradient = Tensor(zeros: input.shape)
        let size = self.size
        input.data.withUnsafeBufferPointer { x in
            outputGradient.data.withUnsafeBufferPointer { dy in
                inputGradient.data.withUnsafeMutableBufferPointer { dx in
                    let xBase = x.baseAddress!, dyBase = dy.baseAddress!, dxBase = dx.baseAddress!
                    Parallel.forEachRange(n * c) { _, planes in
                        for plane in planes {
                            let inOffset: Int = plane &* h &* w, outOffset: Int = plane &* oh &* ow
                            let source = xBase + inOffset, gradient = dxBase + inOffset
                            let incoming = dyBase + outOffset
                            for oy in 0..<oh {
                                for ox in 0..<ow {
                                    // The first maximum in row-major order, as the forward max.
                                    var best = (oy &* size) &* w &+ ox &* size
                                    for ddy in 0..<size {
                                        let row = (oy &* size &+ ddy) &* w &+ ox &* size
                                        for ddx in 0..<size where source[row &+ ddx] > source[best] { best = row &+ ddx }
                                    }
                                    gradient[best] += incoming[oy &* ow &+ ox]
                                }
                            }
                        }
                    }
                }
            }
        }
        return inputGradient
    }
}
