import COpenBLAS

/// 2-D convolution, stride 1, "same" zero padding: output[f, y, x] = bias[f] +
/// Σ_c,dy,dx weight[f, c, dy, dx] · input[c, y + dy − k/2, x + dx − k/2].
///
/// Lowered per batch item to im2col + one `cblas_sgemm` ([F × C·k²] · [C·k² × H·W]); the
/// backward pass recomputes the columns instead of storing them for the whole batch.
/// Weights are [filters, inChannels, k, k], as Keras's "channels_first" kernels transposed.
/// With `fusedReLU` the layer also applies max(0, ·) to its output (and masks the
/// gradient) inside its parallel loop, saving a full pass over the largest activations.
public final class Conv2D: Layer {
    public let inChannels: Int
    public let filters: Int
    public let kernel: Int
    /// The first layer's input gradient is never used; skipping it saves a third of the work.
    public var computesInputGradient = true
    public let fusedReLU: Bool
    /// Set when the next layer already zeroes the output gradient where the fused ReLU
    /// clipped (see `MaxPool2D.masksNonPositive`), so backward need not mask it again.
    public var outputGradientIsMasked = false
    let weight: ParameterStore.Slice
    let bias: ParameterStore.Slice
    private let store: ParameterStore
    private var input: Tensor?
    private var output: Tensor?
    /// Per-worker im2col buffers and weight/bias gradient partials.
    private let columns = WorkerScratch()
    private let columnGradients = WorkerScratch()
    private let partials = WorkerScratch()
    private let maskedGradients = WorkerScratch()
    /// The kernel that lowers this convolution (see `ConvolutionAlgorithm`).
    private var algorithm: ConvolutionAlgorithm { ConvolutionAlgorithm.choose(kernel: kernel, inChannels: inChannels) }
    private var usesWinograd: Bool { algorithm == .winograd }
    private var usesDirect: Bool { algorithm == .direct }
    private let paddedImages = WorkerScratch()
    private let blockScratch = WorkerScratch()
    private lazy var workspaces: [Winograd.Workspace] = (0..<Parallel.workers).map { _ in Winograd.Workspace() }

    public init(inChannels: Int, filters: Int, kernel: Int = 3, fusedReLU: Bool = false, store: ParameterStore, name: String) {
        precondition(kernel % 2 == 1, "'same' padding needs an odd kernel")
        self.fusedReLU = fusedReLU
        self.inChannels = inChannels
        self.filters = filters
        self.kernel = kernel
        self.store = store
        weight = store.add("\(name)/kernel", shape: [filters, inChannels, kernel, kernel])
        bias = store.add("\(name)/bias", shape: [filters])
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 3 && inputShape[0] == inChannels, "Conv2D expects [\(inChannels), H, W], got \(inputShape)")
        return [filters, inputShape[1], inputShape[2]]
    }

    private var patch: Int { inChannels * kernel * kernel }

    /// Rows per band: about 1 MB of im2col columns. Small enough to stay in the core's
    /// 2 MB cache between being written and multiplied, large enough that the weight
    /// gradient's matrix product has a long inner dimension (measured: 1 MB trains 8–23%
    /// faster than 256 KB bands, which hold a single row of the 64-channel layers).
    static func bandRows(patch: Int, width: Int, height: Int) -> Int {
        max(1, min(height, (1 << 18) / max(1, patch * width)))
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let pixels = h * w
        self.input = input
        let patch = self.patch, filters = self.filters, inChannels = self.inChannels, kernel = self.kernel
        let band = Self.bandRows(patch: patch, width: w, height: h)
        let winograd = usesWinograd
        let col = winograd ? [] : columns.buffers(size: patch * band * w)
        let weights = UnsafePointer(store.values(weight)), biases = UnsafePointer(store.values(bias))
        let transformed = winograd ? Winograd.transformFilters(weights, filters: filters, channels: inChannels, flipped: false) : []
        let workspaces = winograd ? self.workspaces : []
        let relu = fusedReLU
        var output = Tensor(uninitialized: [n, filters, h, w])
        if usesDirect {
            let padded = paddedImages.buffers(size: DirectConvolution.PaddedImage.capacity(height: h, width: w))
            input.data.withUnsafeBufferPointer { x in
                output.data.withUnsafeMutableBufferPointer { y in
                    let xBase = x.baseAddress!, yBase = y.baseAddress!
                    Parallel.forEachRange(n) { worker, items in
                        for item in items {
                            let image = DirectConvolution.PaddedImage(xBase + item * pixels, height: h, width: w, buffer: padded[worker])
                            DirectConvolution.forward(image, height: h, width: w, weights: weights, biases: biases, filters: filters,
                                                      relu: relu, into: yBase + item * filters * pixels)
                        }
                    }
                }
            }
            if relu && !outputGradientIsMasked { self.output = output }
            return output
        }
        input.data.withUnsafeBufferPointer { x in
          transformed.withUnsafeBufferPointer { u in
            output.data.withUnsafeMutableBufferPointer { y in
                let xBase = x.baseAddress!, yBase = y.baseAddress!, uBase = winograd ? u.baseAddress : nil
                Parallel.forEachRange(n) { worker, items in
                    for item in items {
                        let image = xBase + item * inChannels * pixels
                        let out = yBase + item * filters * pixels
                        if winograd, let uBase {
                            Winograd.convolve(image, channels: inChannels, height: h, width: w, u: uBase, outputs: filters,
                                              into: out, bias: biases, relu: relu, workspace: workspaces[worker])
                            continue
                        }
                        for f in 0..<filters { (out + f * pixels).update(repeating: biases[f], count: pixels) }
                        // A band of rows at a time, so its columns stay in cache for the sgemm.
                        for top in stride(from: 0, to: h, by: band) {
                            let rows = top..<min(h, top + band), span = rows.count * w
                            Im2Col.fill(col[worker], from: image, channels: inChannels, height: h, width: w, kernel: kernel, rows: rows)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(filters), Int32(span), Int32(patch),
                                        1, weights, Int32(patch), col[worker], Int32(span), 1, out + top * w, Int32(pixels))
                        }
                        if relu { for i in 0..<(filters * pixels) { out[i] = max(out[i], 0) } }
                    }
                }
            }
          }
        }
        if relu && !outputGradientIsMasked { self.output = output }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("backward before forward") }
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let pixels = h * w
        let patch = self.patch, filters = self.filters, inChannels = self.inChannels, kernel = self.kernel
        let weights = UnsafePointer(store.values(weight))
        let needInput = computesInputGradient
        if usesDirect && !needInput {
            directWeightGradient(input: input, outputGradient: outputGradient)
            return Tensor(zeros: [0])
        }
        let band = Self.bandRows(patch: patch, width: w, height: h)
        // One more row than the patch: ones, so the weight-gradient product also sums the
        // bias gradient (its last column).
        let winograd = usesWinograd
        let col = winograd ? [] : columns.buffers(size: (patch + 1) * band * w)
        let dCol = needInput && !winograd ? columnGradients.buffers(size: patch * band * w) : []
        let flipped = winograd && needInput ? Winograd.transformFilters(weights, filters: filters, channels: inChannels, flipped: true) : []
        let workspaces = winograd ? self.workspaces : []
        let relu = fusedReLU && !outputGradientIsMasked
        let masked = relu ? maskedGradients.buffers(size: filters * pixels) : []
        let reluOutput = relu ? output : nil
        // Per-worker weight and bias gradients, added to the store in worker order:
        // Winograd's transformed [36][filters][inChannels] then [filters], or im2col's
        // [filters × (patch + 1)].
        let transformedSize = Winograd.tileElements * filters * inChannels
        let partialSize = winograd ? transformedSize + filters : filters * (patch + 1)
        let grads = partials.buffers(size: partialSize)
        for buffer in grads { buffer.update(repeating: 0, count: partialSize) }
        // Winograd overwrites every input-gradient value; col2im adds into zeros.
        var inputGradient = winograd ? Tensor(uninitialized: needInput ? input.shape : [0]) : Tensor(zeros: needInput ? input.shape : [0])
        input.data.withUnsafeBufferPointer { x in
            outputGradient.data.withUnsafeBufferPointer { dy in
                inputGradient.data.withUnsafeMutableBufferPointer { dx in
                  (reluOutput?.data ?? []).withUnsafeBufferPointer { y in
                    let xBase = x.baseAddress!, dyBase = dy.baseAddress!, dxBase = needInput ? dx.baseAddress : nil
                    let yBase = relu ? y.baseAddress : nil
                    Parallel.forEachRange(n) { worker, items in
                        let partial = grads[worker]
                        for item in items {
                            var dOut = UnsafePointer(dyBase + item * filters * pixels)
                            if let yBase {
                                // Through the fused ReLU: zero where the output was clipped.
                                let outputs = yBase + item * filters * pixels, target = masked[worker]
                                for i in 0..<(filters * pixels) { target[i] = outputs[i] > 0 ? dOut[i] : 0 }
                                dOut = UnsafePointer(target)
                            }
                            let image = xBase + item * inChannels * pixels
                            if winograd {
                                Winograd.accumulateFilterGradient(image, channels: inChannels, height: h, width: w, outputGradient: dOut, outputs: filters,
                                                                  into: partial, biasGradient: partial + transformedSize, workspace: workspaces[worker])
                                if let dxBase {
                                    // The input gradient is the convolution of dOut with the flipped kernels.
                                    flipped.withUnsafeBufferPointer { u in
                                        Winograd.convolve(dOut, channels: filters, height: h, width: w, u: u.baseAddress!, outputs: inChannels,
                                                          into: dxBase + item * inChannels * pixels, bias: nil, relu: false, workspace: workspaces[worker])
                                    }
                                }
                                continue
                            }
                            for top in stride(from: 0, to: h, by: band) {
                                let rows = top..<min(h, top + band), span = rows.count * w
                                let dOutBand = dOut + top * w
                                Im2Col.fill(col[worker], from: image, channels: inChannels, height: h, width: w, kernel: kernel, rows: rows)
                                (col[worker] + patch * span).update(repeating: 1, count: span)
                                // [dW | db] += dOut · [col; 1]ᵀ
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(filters), Int32(patch + 1), Int32(span),
                                            1, dOutBand, Int32(pixels), col[worker], Int32(span), 1, partial, Int32(patch + 1))
                                if let dxBase {
                                    // dCol = Wᵀ · dOut, then scatter back onto the image.
                                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(patch), Int32(span), Int32(filters),
                                                1, weights, Int32(patch), dOutBand, Int32(pixels), 0, dCol[worker], Int32(span))
                                    Im2Col.accumulate(dCol[worker], into: dxBase + item * inChannels * pixels, channels: inChannels, height: h, width: w, kernel: kernel, rows: rows)
                                }
                            }
                        }
                    }
                  }
                }
            }
        }
        let weightGradient = store.gradients(weight), biasGradient = store.gradients(bias)
        for partial in grads.prefix(min(Parallel.workers, max(n, 1))) {
            if winograd {
                Winograd.addFilterGradient(partial, filters: filters, channels: inChannels, to: weightGradient)
                for f in 0..<filters { biasGradient[f] += partial[transformedSize + f] }
                continue
            }
            for f in 0..<filters {
                for k in 0..<patch { weightGradient[f * patch + k] += partial[f * (patch + 1) + k] }
                biasGradient[f] += partial[f * (patch + 1) + patch]
            }
        }
        return inputGradient
    }
}

extension Conv2D {
    /// Inference's conv → ReLU → 2×2 max-pool in one pass, never storing the full-size
    /// output; the values of the three layers run one after another (within
    /// single-precision rounding). Nil when this layer has no fused path (see `pooledBlock`).
    public func forwardPooled(_ input: Tensor) -> Tensor? {
        guard let block = pooledBlock(height: input.shape[2], width: input.shape[3]) else { return nil }
        return PooledBlock.run([block], on: input, scratch: blockScratch)
    }

    /// This layer's fused conv → ReLU → 2×2 max-pool for single channels-last images, with
    /// the filters prepared once. Nil without a fused ReLU, for kernels other than 3×3, or
    /// when the channel counts are not multiples of 8 (one input channel is fine).
    func pooledBlock(height: Int, width: Int) -> PooledBlock? {
        guard fusedReLU, kernel == 3, filters % 8 == 0, inChannels == 1 || inChannels % 8 == 0 else { return nil }
        let biases = UnsafePointer(store.values(bias)), filters = self.filters, channels = inChannels
        if usesDirect {
            let taps = DirectConvolution.tapMajor(store.values(weight), filters: filters)
            let padded = paddedImages.buffers(size: DirectConvolution.PaddedImage.capacity(height: height, width: width))
            return PooledBlock(channels: channels, filters: filters, height: height, width: width, prepared: taps) { image, output, worker, taps in
                let paddedImage = DirectConvolution.PaddedImage(image, height: height, width: width, buffer: padded[worker])
                DirectConvolution.forwardPooledChannelsLast(paddedImage, height: height, width: width, taps: taps, biases: biases, filters: filters, into: output)
            }
        }
        let u = Winograd.transformFilters(store.values(weight), filters: filters, channels: channels, flipped: false, inputMajor: true)
        let workspaces = self.workspaces
        return PooledBlock(channels: channels, filters: filters, height: height, width: width, prepared: u) { image, output, worker, u in
            Winograd.convolvePooledChannelsLast(image, channels: channels, height: height, width: width, u: u, outputs: filters,
                                                bias: biases, into: output, workspace: workspaces[worker])
        }
    }

    /// Weight and bias gradients of a single-channel 3×3 layer, per worker, then added to
    /// the store in worker order.
    private func directWeightGradient(input: Tensor, outputGradient: Tensor) {
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let pixels = h * w, filters = self.filters
        let padded = paddedImages.buffers(size: DirectConvolution.PaddedImage.capacity(height: h, width: w))
        let grads = partials.buffers(size: filters * 10)
        for buffer in grads { buffer.update(repeating: 0, count: filters * 10) }
        let clippedOutput = fusedReLU && !outputGradientIsMasked ? output : nil
        input.data.withUnsafeBufferPointer { x in
            outputGradient.data.withUnsafeBufferPointer { dy in
                (clippedOutput?.data ?? []).withUnsafeBufferPointer { y in
                    let xBase = x.baseAddress!, dyBase = dy.baseAddress!, yBase = clippedOutput == nil ? nil : y.baseAddress
                    Parallel.forEachRange(n) { worker, items in
                        for item in items {
                            let image = DirectConvolution.PaddedImage(xBase + item * pixels, height: h, width: w, buffer: padded[worker])
                            DirectConvolution.weightGradient(image, height: h, width: w, outputGradient: dyBase + item * filters * pixels,
                                                             output: yBase.map { UnsafePointer($0 + item * filters * pixels) }, filters: filters,
                                                             weightGradient: grads[worker], biasGradient: grads[worker] + 9 * filters)
                        }
                    }
                }
            }
        }
        let weightGradient = store.gradients(weight), biasGradient = store.gradients(bias)
        for partial in grads.prefix(min(Parallel.workers, max(n, 1))) {
            for k in 0..<(9 * filters) { weightGradient[k] += partial[k] }
            for f in 0..<filters { biasGradient[f] += partial[9 * filters + f] }
        }
    }
}

/// One reusable buffer per worker thread, grown on demand and owned by a layer.
final class WorkerScratch {
    private var storage: [UnsafeMutablePointer<Float>] = []
    private var size = 0

    /// Pointers to `Parallel.workers` buffers of at least `size` floats.
    func buffers(size: Int) -> [UnsafeMutablePointer<Float>] {
        if size > self.size {
            release()
            storage = (0..<Parallel.workers).map { _ in
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: size)
                buffer.initialize(repeating: 0, count: size)
                return buffer
            }
            self.size = size
        }
        return storage
    }

    private func release() {
        for buffer in storage { buffer.deallocate() }
        storage = []
    }

    deinit { release() }
}

/// The im2col lowering for stride-1 "same" convolutions: one row per (channel, dy, dx),
/// one column per output pixel of a band of image rows.
enum Im2Col {
    /// Fills `col` ([C·k² × rows.count·width]) for output rows `rows`.
    static func fill(_ col: UnsafeMutablePointer<Float>, from image: UnsafePointer<Float>, channels: Int, height: Int, width: Int, kernel: Int, rows: Range<Int>) {
        let pad = kernel / 2, pixels = height * width, columns = rows.count * width
        var row = 0
        for c in 0..<channels {
            let plane = image + c * pixels
            for dy in 0..<kernel {
                for dx in 0..<kernel {
                    let out = col + row * columns
                    let shift = dx - pad
                    let first = max(0, -shift), last = min(width, width - shift)
                    for y in rows {
                        let target = out + (y - rows.lowerBound) * width
                        let sy = y + dy - pad
                        if sy < 0 || sy >= height || first >= last {
                            target.update(repeating: 0, count: width)
                            continue
                        }
                        if first > 0 { target.update(repeating: 0, count: first) }
                        (target + first).update(from: plane + sy * width + first + shift, count: last - first)
                        if last < width { (target + last).update(repeating: 0, count: width - last) }
                    }
                    row += 1
                }
            }
        }
    }

    /// Adds the column gradients of output rows `rows` back onto the image (col2im).
    static func accumulate(_ col: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int, kernel: Int, rows: Range<Int>) {
        let pad = kernel / 2, pixels = height * width, columns = rows.count * width
        var row = 0
        for c in 0..<channels {
            let plane = image + c * pixels
            for dy in 0..<kernel {
                for dx in 0..<kernel {
                    let source = col + row * columns
                    let shift = dx - pad
                    let first = max(0, -shift), last = min(width, width - shift)
                    if first < last {
                        for y in rows {
                            let sy = y + dy - pad
                            guard sy >= 0 && sy < height else { continue }
                            let from = source + (y - rows.lowerBound) * width, to = plane + sy * width + shift
                            for x in first..<last { to[x] += from[x] }
                        }
                    }
                    row += 1
                }
            }
        }
    }
}
