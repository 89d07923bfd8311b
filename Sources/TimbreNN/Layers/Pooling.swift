/// Max pooling over non-overlapping size × size windows (stride = size); rows and columns
/// that do not fill a window are dropped, as Keras's "valid" padding does (65 → 32).
///
/// The backward pass finds each window's winner again from the input (the first maximum in
/// row-major order) rather than storing an index per output, which would cost as much
/// memory traffic as the pooling itself.
public final class MaxPool2D: Layer {
    public let size: Int
    /// Set when the input is a ReLU's output whose gradient mask has not been applied:
    /// the backward pass then also sends nothing through windows whose maximum is 0 (the
    /// ReLU's own backward pass is skipped), saving a pass over the largest tensor.
    public var masksNonPositive = false
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
        // The 2 × 2 path writes every value itself; other sizes add into zeros.
        var inputGradient = size == 2 ? Tensor(uninitialized: input.shape) : Tensor(zeros: input.shape)
        let size = self.size, masksNonPositive = self.masksNonPositive
        input.data.withUnsafeBufferPointer { x in
            outputGradient.data.withUnsafeBufferPointer { dy in
                inputGradient.data.withUnsafeMutableBufferPointer { dx in
                    let xBase = x.baseAddress!, dyBase = dy.baseAddress!, dxBase = dx.baseAddress!
                    Parallel.forEachRange(n * c) { _, planes in
                        for plane in planes {
                            let inOffset: Int = plane &* h &* w, outOffset: Int = plane &* oh &* ow
                            let source = xBase + inOffset, gradient = dxBase + inOffset
                            let incoming = dyBase + outOffset
                            guard size == 2 else {
                                Self.scatterToWinners(source, incoming, gradient, size: size, height: h, width: w, masksNonPositive: masksNonPositive)
                                continue
                            }
                            for oy in 0..<oh {
                                let topOffset: Int = (2 &* oy) &* w
                                let top = source + topOffset, bottom = top + w
                                let gTop = gradient + topOffset, gBottom = gTop + w
                                let row = incoming + oy &* ow
                                var ox = 0
                                // Eight windows at a time: even and odd columns of two rows.
                                while ox &+ 8 <= ow {
                                    let i = 2 &* ox
                                    let upper = UnsafeRawPointer(top + i).loadUnaligned(as: SIMD16<Float>.self)
                                    let lower = UnsafeRawPointer(bottom + i).loadUnaligned(as: SIMD16<Float>.self)
                                    var g = UnsafeRawPointer(row + ox).loadUnaligned(as: SIMD8<Float>.self)
                                    let a = upper.evenHalf, b = upper.oddHalf, c = lower.evenHalf, d = lower.oddHalf
                                    let best = a.larger(b).larger(c.larger(d))
                                    if masksNonPositive { g.replace(with: 0, where: .!(best .> 0)) }
                                    // The first maximum in row-major order, as the forward max.
                                    let isA = a .== best, isB = .!isA .& (b .== best), isC = .!isA .& .!isB .& (c .== best)
                                    let isD = .!(isA .| isB .| isC)
                                    let zero = SIMD8<Float>()
                                    let ga = zero.replacing(with: g, where: isA), gb = zero.replacing(with: g, where: isB)
                                    let gc = zero.replacing(with: g, where: isC), gd = zero.replacing(with: g, where: isD)
                                    for lane in 0..<8 {
                                        gTop[i &+ 2 &* lane] = ga[lane]; gTop[i &+ 2 &* lane &+ 1] = gb[lane]
                                        gBottom[i &+ 2 &* lane] = gc[lane]; gBottom[i &+ 2 &* lane &+ 1] = gd[lane]
                                    }
                                    ox &+= 8
                                }
                                while ox < ow {
                                    let i = 2 &* ox
                                    let a = top[i], b = top[i &+ 1], c = bottom[i], d = bottom[i &+ 1]
                                    let best = max(max(a, b), max(c, d))
                                    var g = row[ox]
                                    if masksNonPositive && !(best > 0) { g = 0 }
                                    let winner = a == best ? 0 : b == best ? 1 : c == best ? 2 : 3
                                    gTop[i] = winner == 0 ? g : 0
                                    gTop[i &+ 1] = winner == 1 ? g : 0
                                    gBottom[i] = winner == 2 ? g : 0
                                    gBottom[i &+ 1] = winner == 3 ? g : 0
                                    ox &+= 1
                                }
                                if w > 2 &* ow { gTop[w &- 1] = 0; gBottom[w &- 1] = 0 }
                            }
                            if h > 2 &* oh { (gradient + (h &- 1) &* w).update(repeating: 0, count: w) }
                        }
                    }
                }
            }
        }
        return inputGradient
    }

    /// General window sizes: adds each output's gradient to its window's first maximum.
    private static func scatterToWinners(_ source: UnsafePointer<Float>, _ incoming: UnsafePointer<Float>, _ gradient: UnsafeMutablePointer<Float>,
                                         size: Int, height h: Int, width w: Int, masksNonPositive: Bool) {
        let (oh, ow) = (h / size, w / size)
        for oy in 0..<oh {
            for ox in 0..<ow {
                var best = (oy &* size) &* w &+ ox &* size
                for ddy in 0..<size {
                    let row = (oy &* size &+ ddy) &* w &+ ox &* size
                    for ddx in 0..<size where source[row &+ ddx] > source[best] { best = row &+ ddx }
                }
                if masksNonPositive && !(source[best] > 0) { continue }
                gradient[best] += incoming[oy &* ow &+ ox]
            }
        }
    }
}

/// The maximum of each row over the last axis: [N, C, H, W] → [N, C, H]. After the
/// convolution blocks it keeps where in frequency a feature fires and drops when in the
/// clip it did (global max-pooling over time, as in Han et al.'s predominant-instrument
/// network), so the dense layer sees far fewer values and no position in time.
public final class TimeMaxPool: Layer {
    private var winners: [Int32] = []
    private var inputShape: [Int] = []

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { Array(inputShape.dropLast()) }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let length = input.shape.last ?? 1
        let rows = input.data.count / max(1, length)
        var output = Tensor(uninitialized: Array(input.shape.dropLast()))
        var winners = [Int32](repeating: 0, count: rows)
        input.data.withUnsafeBufferPointer { x in
            for row in 0..<rows {
                var best = 0, value = x[row * length]
                for t in 1..<max(1, length) where x[row * length + t] > value {
                    value = x[row * length + t]
                    best = t
                }
                output.data[row] = value
                winners[row] = Int32(best)
            }
        }
        if context.training {
            self.winners = winners
            inputShape = input.shape
        }
        return output
    }

    /// The gradient goes to each row's winner; the other values get none.
    public func backward(_ outputGradient: Tensor) -> Tensor {
        let length = inputShape.last ?? 1
        var gradient = Tensor(zeros: inputShape)
        for (row, winner) in winners.enumerated() { gradient.data[row * length + Int(winner)] = outputGradient.data[row] }
        return gradient
    }
}
