import TimbreCore
import Foundation

/// A stack of layers built from an `Architecture`, owning its parameters.
public final class Sequential {
    public let architecture: Architecture
    public let parameters = ParameterStore()
    public private(set) var layers: [Layer] = []
    /// Output shape of every layer (without batch), for checks and summaries.
    public private(set) var shapes: [[Int]] = []
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

    /// He initialisation for the layers that feed a ReLU: weights ~ N(0, 2 / fan_in),
    /// truncated at two standard deviations (Keras's `he_normal`). The output layer, which
    /// feeds the softmax, gets Glorot-uniform weights (Keras's default for Dense), so the
    /// first logits are small and the starting loss is near ln(classes). Biases are zero.
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
