import COpenBLAS
import TimbreCore

/// 2-D convolution with any kernel height and width, stride, zero padding, dilation and
/// channel groups: y[f, oy, ox] = b[f] + Σ w[f, c, i, j] · x[g·C/G + c, oy·sy − py + i·dy, ox·sx − px + j·dx]
/// over the input channels of f's group. Kernels are [filters, inChannels / groups, kh, kw]
/// (PyTorch's layout). Groups equal to the input channels make a depthwise convolution; a
/// 1×1 kernel a pointwise one.
///
/// The plain path: per item and group, im2col (`StridedIm2Col`) and one `cblas_sgemm`. Chandna's
/// 1×513 and 12×1 kernels and strided U-Net encoders run here; the 3×3 "same" classifier
/// keeps its Winograd and direct kernels in `Conv2D`.
public final class Convolution2D: Layer, ParameterInitializing {
    public let inChannels: Int, filters: Int, groups: Int
    public let kernel: (height: Int, width: Int), stride: (y: Int, x: Int), padding: (y: Int, x: Int), dilation: (y: Int, x: Int)
    let weight: ParameterStore.Slice
    let bias: ParameterStore.Slice
    private let store: ParameterStore
    private var input: Tensor?

    public init(inChannels: Int, filters: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                dilation: (Int, Int) = (1, 1), groups: Int = 1, store: ParameterStore, name: String) {
        precondition(groups > 0 && inChannels % groups == 0 && filters % groups == 0, "channels and filters must divide into the groups")
        precondition(kernel.0 > 0 && kernel.1 > 0 && stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0 && padding.0 >= 0 && padding.1 >= 0,
                     "kernel, stride and dilation must be positive, padding not negative")
        self.inChannels = inChannels
        self.filters = filters
        self.groups = groups
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.store = store
        weight = store.add("\(name)/kernel", shape: [filters, inChannels / groups, kernel.0, kernel.1])
        bias = store.add("\(name)/bias", shape: [filters])
    }

    func geometry(height: Int, width: Int) -> ConvolutionGeometry {
        ConvolutionGeometry(channels: inChannels / groups, height: height, width: width, kernel: (kernel.height, kernel.width),
                            stride: (stride.y, stride.x), padding: (padding.y, padding.x), dilation: (dilation.y, dilation.x))
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 3 && inputShape[0] == inChannels, "Convolution2D expects [\(inChannels), H, W], got \(inputShape)")
        let g = geometry(height: inputShape[1], width: inputShape[2])
        precondition(g.isValid, "the kernel does not fit in \(inputShape)")
        return [filters, g.outputHeight, g.outputWidth]
    }

    public func initializeParameters(using generator: inout SeededGenerator) {
        Initializers.heNormal(store.values(weight), count: weight.count, fanIn: weight.count / filters, generator: &generator)
        store.values(bias).update(repeating: 0, count: filters)
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let shape = outputShape(for: Array(input.shape.dropFirst()))
        let g = geometry(height: input.shape[2], width: input.shape[3])
        let groupFilters = filters / groups, pixels = g.outputPixels, transposedImage = StridedIm2Col.columnsAreTransposedImage(g)
        var output = Tensor(uninitialized: [input.batch] + shape)
        let w = store.values(weight), b = store.values(bias)
        let (groups, inChannels, filters) = (self.groups, self.inChannels, self.filters)
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                let (x, y) = (UncheckedBox(x), UncheckedBox(y))
                // Items in parallel, each worker with its own columns (OpenBLAS on one thread).
                Parallel.forEachRange(input.batch) { _, items in
                    var columns = [Float](repeating: 0, count: transposedImage ? 0 : g.patch * pixels)
                    columns.withUnsafeMutableBufferPointer { columns in
                        for item in items {
                            for group in 0..<groups {
                                let image = x.value.baseAddress! + (item * inChannels + group * g.channels) * g.height * g.width
                                let target = y.value.baseAddress! + (item * filters + group * groupFilters) * pixels
                                for f in 0..<groupFilters { (target + f * pixels).update(repeating: b[group * groupFilters + f], count: pixels) }
                                if transposedImage {
                                    // y += W · imageᵀ
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(groupFilters), Int32(pixels), Int32(g.patch), 1,
                                                w + group * groupFilters * g.patch, Int32(g.patch), image, Int32(g.patch), 1, target, Int32(pixels))
                                    continue
                                }
                                StridedIm2Col.lower(image, g, into: columns.baseAddress!)
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(groupFilters), Int32(pixels), Int32(g.patch), 1,
                                            w + group * groupFilters * g.patch, Int32(g.patch), columns.baseAddress, Int32(pixels), 1, target, Int32(pixels))
                            }
                        }
                    }
                }
            }
        }
        self.input = input
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("backward before forward") }
        let g = geometry(height: input.shape[2], width: input.shape[3])
        let groupFilters = filters / groups, pixels = g.outputPixels, transposedImage = StridedIm2Col.columnsAreTransposedImage(g)
        var inputGradient = Tensor(zeros: input.shape)
        let w = store.values(weight), dw = store.gradients(weight), db = store.gradients(bias)
        let (groups, inChannels, filters, weightCount) = (self.groups, self.inChannels, self.filters, weight.count)
        // Each worker sums its items' weight and bias gradients apart; the parts are added
        // in worker order, so the result does not depend on scheduling.
        let parts = UncheckedBox(PartialGradients(workers: Parallel.workers, weights: weightCount, biases: filters))
        input.data.withUnsafeBufferPointer { x in
            outputGradient.data.withUnsafeBufferPointer { dy in
                inputGradient.data.withUnsafeMutableBufferPointer { dx in
                    let (x, dy, dx) = (UncheckedBox(x), UncheckedBox(dy), UncheckedBox(dx))
                    Parallel.forEachRange(input.batch) { worker, items in
                        var columns = [Float](repeating: 0, count: transposedImage ? 0 : g.patch * pixels), columnGradient = columns
                        let dwPart = parts.value.weights[worker], dbPart = parts.value.biases[worker]
                        columns.withUnsafeMutableBufferPointer { columns in
                            columnGradient.withUnsafeMutableBufferPointer { columnGradient in
                                for item in items {
                                    for group in 0..<groups {
                                        let offset = (item * inChannels + group * g.channels) * g.height * g.width
                                        let gradient = dy.value.baseAddress! + (item * filters + group * groupFilters) * pixels
                                        for f in 0..<groupFilters {
                                            var sum: Float = 0
                                            for p in 0..<pixels { sum += gradient[f * pixels + p] }
                                            dbPart[group * groupFilters + f] += sum
                                        }
                                        if transposedImage {
                                            // dW += dy · image; dx += dyᵀ · W
                                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(groupFilters), Int32(g.patch), Int32(pixels), 1,
                                                        gradient, Int32(pixels), x.value.baseAddress! + offset, Int32(g.patch), 1, dwPart + group * groupFilters * g.patch, Int32(g.patch))
                                            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(pixels), Int32(g.patch), Int32(groupFilters), 1,
                                                        gradient, Int32(pixels), w + group * groupFilters * g.patch, Int32(g.patch), 1, dx.value.baseAddress! + offset, Int32(g.patch))
                                            continue
                                        }
                                        StridedIm2Col.lower(x.value.baseAddress! + offset, g, into: columns.baseAddress!)
                                        // dW += dy · columnsᵀ
                                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(groupFilters), Int32(g.patch), Int32(pixels), 1,
                                                    gradient, Int32(pixels), columns.baseAddress, Int32(pixels), 1, dwPart + group * groupFilters * g.patch, Int32(g.patch))
                                        // dcolumns = Wᵀ · dy, then back onto the pixels.
                                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(g.patch), Int32(pixels), Int32(groupFilters), 1,
                                                    w + group * groupFilters * g.patch, Int32(g.patch), gradient, Int32(pixels), 0, columnGradient.baseAddress, Int32(pixels))
                                        StridedIm2Col.accumulate(columnGradient.baseAddress!, g, into: dx.value.baseAddress! + offset)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        parts.value.add(into: dw, db)
        return inputGradient
    }
}

/// Transposed 2-D convolution (a "deconvolution"): the input-gradient map of the
/// convolution with the same kernel, stride, padding and dilation, so it grows the image
/// by the stride. Output size (H − 1)·s − 2p + d·(k − 1) + 1 + outputPadding, as PyTorch's
/// ConvTranspose2d. Kernels are [inChannels, filters, kh, kw] (PyTorch's layout).
public final class TransposedConvolution2D: Layer, ParameterInitializing {
    public let inChannels: Int, filters: Int
    public let kernel: (height: Int, width: Int), stride: (y: Int, x: Int), padding: (y: Int, x: Int), dilation: (y: Int, x: Int)
    public let outputPadding: (y: Int, x: Int)
    let weight: ParameterStore.Slice
    let bias: ParameterStore.Slice
    private let store: ParameterStore
    private var input: Tensor?

    public init(inChannels: Int, filters: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                dilation: (Int, Int) = (1, 1), outputPadding: (Int, Int) = (0, 0), store: ParameterStore, name: String) {
        precondition(kernel.0 > 0 && kernel.1 > 0 && stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0 && padding.0 >= 0 && padding.1 >= 0,
                     "kernel, stride and dilation must be positive, padding not negative")
        precondition(outputPadding.0 >= 0 && outputPadding.0 < max(stride.0, dilation.0) && outputPadding.1 >= 0 && outputPadding.1 < max(stride.1, dilation.1),
                     "output padding must be smaller than the stride or the dilation")
        self.inChannels = inChannels
        self.filters = filters
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.outputPadding = outputPadding
        self.store = store
        weight = store.add("\(name)/kernel", shape: [inChannels, filters, kernel.0, kernel.1])
        bias = store.add("\(name)/bias", shape: [filters])
    }

    /// The geometry of the convolution this layer transposes: from the output image to the input's size.
    func geometry(inputHeight: Int, inputWidth: Int) -> ConvolutionGeometry {
        let height = (inputHeight - 1) * stride.y - 2 * padding.y + dilation.y * (kernel.height - 1) + 1 + outputPadding.y
        let width = (inputWidth - 1) * stride.x - 2 * padding.x + dilation.x * (kernel.width - 1) + 1 + outputPadding.x
        return ConvolutionGeometry(channels: filters, height: height, width: width, kernel: (kernel.height, kernel.width),
                                   stride: (stride.y, stride.x), padding: (padding.y, padding.x), dilation: (dilation.y, dilation.x))
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 3 && inputShape[0] == inChannels, "TransposedConvolution2D expects [\(inChannels), H, W], got \(inputShape)")
        let g = geometry(inputHeight: inputShape[1], inputWidth: inputShape[2])
        precondition(g.height > 0 && g.width > 0 && g.outputHeight == inputShape[1] && g.outputWidth == inputShape[2], "no output size fits \(inputShape)")
        return [filters, g.height, g.width]
    }

    public func initializeParameters(using generator: inout SeededGenerator) {
        Initializers.heNormal(store.values(weight), count: weight.count, fanIn: inChannels * kernel.height * kernel.width, generator: &generator)
        store.values(bias).update(repeating: 0, count: filters)
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let shape = outputShape(for: Array(input.shape.dropFirst()))
        let g = geometry(inputHeight: input.shape[2], inputWidth: input.shape[3])
        let pixels = g.outputPixels, image = g.height * g.width, transposedImage = StridedIm2Col.columnsAreTransposedImage(g)
        var output = Tensor(zeros: [input.batch] + shape)
        let w = store.values(weight), b = store.values(bias)
        let (inChannels, filters) = (self.inChannels, self.filters)
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                let (x, y) = (UncheckedBox(x), UncheckedBox(y))
                Parallel.forEachRange(input.batch) { _, items in
                    var columns = [Float](repeating: 0, count: transposedImage ? 0 : g.patch * pixels)
                    columns.withUnsafeMutableBufferPointer { columns in
                        for item in items {
                            let target = y.value.baseAddress! + item * filters * image
                            if transposedImage {
                                // image = xᵀ · W, the columns' transpose.
                                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(pixels), Int32(g.patch), Int32(inChannels), 1,
                                            x.value.baseAddress! + item * inChannels * pixels, Int32(pixels), w, Int32(g.patch), 0, target, Int32(g.patch))
                            } else {
                                // columns = Wᵀ · x with W as [inChannels × filters·kh·kw].
                                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(g.patch), Int32(pixels), Int32(inChannels), 1,
                                            w, Int32(g.patch), x.value.baseAddress! + item * inChannels * pixels, Int32(pixels), 0, columns.baseAddress, Int32(pixels))
                                StridedIm2Col.accumulate(columns.baseAddress!, g, into: target)
                            }
                            for f in 0..<filters { for p in 0..<image { target[f * image + p] += b[f] } }
                        }
                    }
                }
            }
        }
        self.input = input
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("backward before forward") }
        let g = geometry(inputHeight: input.shape[2], inputWidth: input.shape[3])
        let pixels = g.outputPixels, image = g.height * g.width, transposedImage = StridedIm2Col.columnsAreTransposedImage(g)
        var inputGradient = Tensor(zeros: input.shape)
        let w = store.values(weight), dw = store.gradients(weight), db = store.gradients(bias)
        let (inChannels, filters) = (self.inChannels, self.filters)
        let parts = UncheckedBox(PartialGradients(workers: Parallel.workers, weights: weight.count, biases: filters))
        input.data.withUnsafeBufferPointer { x in
            outputGradient.data.withUnsafeBufferPointer { dy in
                inputGradient.data.withUnsafeMutableBufferPointer { dx in
                    let (x, dy, dx) = (UncheckedBox(x), UncheckedBox(dy), UncheckedBox(dx))
                    Parallel.forEachRange(input.batch) { worker, items in
                        var columns = [Float](repeating: 0, count: transposedImage ? 0 : g.patch * pixels)
                        let dwPart = parts.value.weights[worker], dbPart = parts.value.biases[worker]
                        columns.withUnsafeMutableBufferPointer { columns in
                            for item in items {
                                let gradient = dy.value.baseAddress! + item * filters * image
                                let xItem = x.value.baseAddress! + item * inChannels * pixels, dxItem = dx.value.baseAddress! + item * inChannels * pixels
                                if transposedImage {
                                    // The columns are the gradient image transposed: dW += x · gradient; dx = W · gradientᵀ.
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(inChannels), Int32(g.patch), Int32(pixels), 1,
                                                xItem, Int32(pixels), gradient, Int32(g.patch), 1, dwPart, Int32(g.patch))
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(inChannels), Int32(pixels), Int32(g.patch), 1,
                                                w, Int32(g.patch), gradient, Int32(g.patch), 0, dxItem, Int32(pixels))
                                } else {
                                    StridedIm2Col.lower(gradient, g, into: columns.baseAddress!)
                                    // dW += x · columnsᵀ; dx = W · columns.
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(inChannels), Int32(g.patch), Int32(pixels), 1,
                                                xItem, Int32(pixels), columns.baseAddress, Int32(pixels), 1, dwPart, Int32(g.patch))
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(inChannels), Int32(pixels), Int32(g.patch), 1,
                                                w, Int32(g.patch), columns.baseAddress, Int32(pixels), 0, dxItem, Int32(pixels))
                                }
                                for f in 0..<filters {
                                    var sum: Float = 0
                                    for p in 0..<image { sum += gradient[f * image + p] }
                                    dbPart[f] += sum
                                }
                            }
                        }
                    }
                }
            }
        }
        parts.value.add(into: dw, db)
        return inputGradient
    }
}

/// Weight and bias gradients summed per worker, then added into the store in worker order.
final class PartialGradients {
    let weights: [UnsafeMutablePointer<Float>]
    let biases: [UnsafeMutablePointer<Float>]
    private let weightCount: Int, biasCount: Int

    init(workers: Int, weights: Int, biases: Int) {
        weightCount = weights
        biasCount = biases
        self.weights = (0..<workers).map { _ in
            let part = UnsafeMutablePointer<Float>.allocate(capacity: weights)
            part.initialize(repeating: 0, count: weights)
            return part
        }
        self.biases = (0..<workers).map { _ in
            let part = UnsafeMutablePointer<Float>.allocate(capacity: biases)
            part.initialize(repeating: 0, count: biases)
            return part
        }
    }

    deinit {
        for part in weights + biases { part.deallocate() }
    }

    func add(into dw: UnsafeMutablePointer<Float>, _ db: UnsafeMutablePointer<Float>) {
        for part in weights { for i in 0..<weightCount { dw[i] += part[i] } }
        for part in biases { for i in 0..<biasCount { db[i] += part[i] } }
    }
}
