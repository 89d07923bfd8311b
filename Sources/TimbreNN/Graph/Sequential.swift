import TimbreCore
import Foundation

/// A stack of layers built from an `Architecture`, owning its parameters.
public final class Sequential {
    public let architecture: Architecture
    public let parameters = ParameterStore()
    public private(set) var layers: [Layer] = []
    /// Output shape of every layer (without batch), for checks and summaries.
    public private(set) var shapes: [[Int]] = []
    /// The batch-norm layers, in order: their running statistics are state that is not a
    /// parameter, saved and restored beside the weights (`batchNormState`).
    public private(set) var batchNorms: [BatchNorm] = []
    /// Index of the first layer with parameters; nothing below it needs a gradient.
    private var firstWeightedLayer = 0
    /// Per-worker room for one image's activations between fused inference blocks.
    private let blockScratch = WorkerScratch()
    /// Which layers run fused (see `FusionPass`).
    private let fusion: FusionPass

    /// Whether `backward` carries the gradient all the way to the input (only gradient
    /// checks need it; training stops at the first layer with parameters).
    public var computesInputGradient = false {
        didSet { (layers[firstWeightedLayer] as? Conv2D)?.computesInputGradient = computesInputGradient }
    }

    public init(_ architecture: Architecture) {
        self.architecture = architecture
        fusion = FusionPass(architecture.layers)
        var shape = architecture.inputShape
        var isFirstWeightedLayer = true
        for (index, spec) in architecture.layers.enumerated() {
            let layer: Layer
            switch spec {
            case .standardize:
                layer = Standardize()
            case .centreBands:
                layer = CentreBands()
            case .conv2d(let filters, let kernel):
                let conv = Conv2D(inChannels: shape[0], filters: filters, kernel: kernel, fusedReLU: fusion.convolutionsWithReLU.contains(index),
                                  store: parameters, name: "conv\(index)")
                if isFirstWeightedLayer {
                    conv.computesInputGradient = false
                    firstWeightedLayer = index
                }
                isFirstWeightedLayer = false
                layer = conv
            case .batchNorm:
                let norm = BatchNorm(channels: shape[0], store: parameters, name: "batchnorm\(index)")
                batchNorms.append(norm)
                layer = norm
            case .relu:
                layer = fusion.identityReLUs.contains(index) ? Identity() : ReLU()
            case .maxPool(let size):
                layer = MaxPool2D(size: size)
            case .maxOverTime:
                layer = TimeMaxPool()
            case .dropout(let rate):
                layer = Dropout(rate: Float(rate), salt: UInt64(index))
            case .flatten:
                layer = Flatten()
            case .dense(let units):
                layer = Dense(inputs: shape.reduce(1, *), outputs: units, store: parameters, name: "dense\(index)")
                if isFirstWeightedLayer { firstWeightedLayer = index }
                isFirstWeightedLayer = false
            }
            if fusion.maskingPools.contains(index), let pool = layer as? MaxPool2D, let conv = layers[index - 2] as? Conv2D {
                pool.masksNonPositive = true
                conv.outputGradientIsMasked = true
            }
            shape = layer.outputShape(for: shape)
            layers.append(layer)
            shapes.append(shape)
        }
    }

    public var outputShape: [Int] { shapes.last ?? architecture.inputShape }

    /// Every batch norm's running mean then running variance, in layer order (empty
    /// without batch norms).
    public var batchNormState: [Float] {
        get { batchNorms.flatMap { $0.runningMean + $0.runningVariance } }
        set {
            precondition(newValue.count == batchNormStateCount, "\(newValue.count) batch-norm statistics for \(batchNormStateCount)")
            var offset = 0
            for norm in batchNorms {
                norm.runningMean = Array(newValue[offset..<offset + norm.channels])
                norm.runningVariance = Array(newValue[offset + norm.channels..<offset + 2 * norm.channels])
                offset += 2 * norm.channels
            }
        }
    }

    public var batchNormStateCount: Int { batchNorms.reduce(0) { $0 + 2 * $1.channels } }

    /// Re-estimates every batch norm's running statistics on the items of `batches` (of
    /// `batchCount`), as AdaBN (Li et al., 2016) adapts a network to another domain
    /// without labels: each batch norm in turn takes the mean and unbiased variance, over
    /// all items and positions, of what reaches it with the batch norms before it already
    /// adapted and dropout off. Weights do not change. The batches are read again for each
    /// batch norm, so memory stays one batch whatever the collection's size.
    public func adaptBatchNorms(batchCount: Int, batch: (Int) throws -> Tensor) rethrows {
        let inference = ForwardContext(training: false)
        for norm in batchNorms {
            guard let index = layers.firstIndex(where: { $0 === norm }) else { continue }
            var sums = [Double](repeating: 0, count: norm.channels), squares = sums, count = 0
            for b in 0..<batchCount {
                let values = layers[..<index].reduce(try batch(b)) { $1.forward($0, context: inference) }
                let inner = values.shape.dropFirst(2).reduce(1, *)
                for n in 0..<values.batch {
                    for c in 0..<norm.channels {
                        let start = (n * norm.channels + c) * inner
                        for x in values.data[start..<start + inner] { sums[c] += Double(x); squares[c] += Double(x) * Double(x) }
                    }
                }
                count += values.batch * inner
            }
            guard count > 1 else { continue }
            for c in 0..<norm.channels {
                let mean = sums[c] / Double(count)
                norm.runningMean[c] = Float(mean)
                norm.runningVariance[c] = Float(max(0, (squares[c] - Double(count) * mean * mean) / Double(count - 1)))
            }
        }
    }

    /// He initialisation for the layers that feed a ReLU: weights ~ N(0, 2 / fan_in),
    /// truncated at two standard deviations (Keras's `he_normal`). The output layer, which
    /// feeds the softmax, gets Glorot-uniform weights (Keras's default for Dense), so the
    /// first logits are small and the starting loss is near ln(classes). Biases are zero;
    /// batch norms start as the identity (scale 1, shift 0, running statistics 0 and 1).
    public func initialize(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let outputKernel = parameters.slices.last { $0.name.hasSuffix("/kernel") }?.name
        for slice in parameters.slices {
            let values = parameters.values(slice)
            guard slice.name.hasSuffix("/kernel") else {
                values.update(repeating: 0, count: slice.count)
                continue
            }
            // Kernels are [filters, in, k, k] (conv) or [in, out] (dense).
            let fanIn = slice.shape.count == 4 ? slice.shape[1] * slice.shape[2] * slice.shape[3] : slice.shape[0]
            if slice.name == outputKernel && slice.shape.count == 2 {
                let limit = Float((6.0 / Double(slice.shape[0] + slice.shape[1])).squareRoot())
                for i in 0..<slice.count { values[i] = (generator.nextUnit() * 2 - 1) * limit }
                continue
            }
            // A normal truncated at ±2σ has standard deviation 0.8796σ; compensate.
            let deviation = (2.0 / Double(fanIn)).squareRoot() / 0.879_625_661_034_239_8
            for i in 0..<slice.count {
                var z = generator.nextNormal()
                while abs(z) > 2 { z = generator.nextNormal() }
                values[i] = Float(z * deviation)
            }
        }
        // After the loop above, which zeroes every non-kernel, batch-norm scales included.
        for norm in batchNorms { norm.initializeParameters(using: &generator) }
    }

    /// Runs the batch through every layer; outputs are logits.
    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        precondition(Array(input.shape.dropFirst()) == architecture.inputShape, "input items must be \(architecture.inputShape), got \(input.shape)")
        guard !context.training else { return layers.reduce(input) { $1.forward($0, context: context) } }
        // Inference runs conv → ReLU → 2×2 max-pool as one pass where the convolution can,
        // and takes each image through a whole run of such blocks before the next.
        var values = input, index = 0
        while index < layers.count {
            let (blocks, next) = pooledBlocks(from: index, inputShape: Array(values.shape.dropFirst()))
            if blocks.isEmpty {
                values = layers[index].forward(values, context: context)
                index += 1
            } else {
                values = PooledBlock.run(blocks, on: values, scratch: blockScratch)
                index = next
            }
        }
        return values
    }

    /// The fused blocks of the planned run starting at layer `start`, as far as each
    /// convolution has a fused kernel for its input size, and the index after them.
    private func pooledBlocks(from start: Int, inputShape: [Int]) -> ([PooledBlock], Int) {
        guard let run = fusion.pooledRuns[start] else { return ([], start) }
        var blocks = [PooledBlock](), shape = inputShape, next = start
        for (position, index) in run.enumerated() {
            guard let conv = layers[index] as? Conv2D, let block = conv.pooledBlock(height: shape[1], width: shape[2]) else {
                next = index
                break
            }
            blocks.append(block)
            shape = block.outputShape
            next = position + 1 < run.count ? run[position + 1] : index + 3
        }
        return (blocks, next)
    }

    /// Back-propagates the gradient of the loss with respect to the logits, adding into
    /// the parameter gradients. Returns the gradient with respect to the input when
    /// `computesInputGradient` is set, else the gradient at the first weighted layer's output.
    @discardableResult
    public func backward(_ gradient: Tensor) -> Tensor {
        let lowest = computesInputGradient ? 0 : firstWeightedLayer
        var gradient = gradient
        for index in stride(from: layers.count - 1, through: lowest, by: -1) {
            if index == firstWeightedLayer && !computesInputGradient {
                _ = layers[index].backward(gradient)
                break
            }
            gradient = layers[index].backward(gradient)
        }
        return gradient
    }
}
