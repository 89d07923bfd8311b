/// A network described as data: stored as JSON in model files and rebuilt from it.
public struct Architecture: Codable, Equatable, Sendable {
    public enum LayerSpec: Codable, Equatable, Sendable {
        case standardize
        case centreBands
        case conv2d(filters: Int, kernel: Int)
        /// Batch normalisation per channel (`BatchNorm`), its running statistics stored with
        /// the weights.
        case batchNorm
        case relu
        case maxPool(size: Int)
        case maxOverTime
        case dropout(rate: Double)
        case flatten
        case dense(units: Int)
    }

    /// Shape of one input item, e.g. [1, 128, 130].
    public var inputShape: [Int]
    public var layers: [LayerSpec]
    /// How the last layer's outputs become probabilities, and which loss trains them.
    /// Files written before this field existed hold softmax classifiers.
    public var output: OutputActivation
    /// Temperature the logits are divided by before `output` (temperature scaling, fitted
    /// on validation clips after training); nil means 1.
    public var temperature: Double?

    public init(inputShape: [Int], layers: [LayerSpec], output: OutputActivation = .softmax) {
        self.inputShape = inputShape
        self.layers = layers
        self.output = output
    }

    private enum CodingKeys: String, CodingKey { case inputShape, layers, output, temperature }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        inputShape = try container.decode([Int].self, forKey: .inputShape)
        layers = try container.decode([LayerSpec].self, forKey: .layers)
        output = try container.decodeIfPresent(OutputActivation.self, forKey: .output) ?? .softmax
        temperature = try container.decodeIfPresent(Double.self, forKey: .temperature)
    }

    /// Calibrated class probabilities from [N, classes] logits.
    public func probabilities(_ logits: Tensor) -> Tensor {
        guard let temperature, temperature != 1 else { return output.probabilities(logits) }
        return output.probabilities(TemperatureScaling.scaled(logits, by: temperature))
    }

    /// Timbre's instrument classifier: per-clip standardisation (after removing each
    /// band's mean when `centresBands`); four blocks of 3×3
    /// convolution with `filters` filters (batch-normalised when `normalisesBatches`),
    /// ReLU and 2×2 max-pooling, with dropout 0.5
    /// after blocks 2, 3 and 4; a fully connected ReLU layer of `hidden` units with
    /// dropout 0.5; and one output per class (softmax or sigmoid is applied by the loss).
    public static func instrumentCNN(classes: Int, inputShape: [Int] = [1, 128, 130], filters: Int = 64, hidden: Int = 256, dropout: Double = 0.5,
                                     output: OutputActivation = .softmax, centresBands: Bool = false, poolsTime: Bool = false,
                                     normalisesBatches: Bool = false) -> Architecture {
        var layers: [LayerSpec] = centresBands ? [.centreBands, .standardize] : [.standardize]
        for block in 1...4 {
            layers += [.conv2d(filters: filters, kernel: 3)] + (normalisesBatches ? [.batchNorm] : []) + [.relu, .maxPool(size: 2)]
            if block >= 2 { layers.append(.dropout(rate: dropout)) }
        }
        if poolsTime { layers.append(.maxOverTime) }
        layers += [.flatten, .dense(units: hidden), .relu, .dropout(rate: dropout), .dense(units: classes)]
        return Architecture(inputShape: inputShape, layers: layers, output: output)
    }
}

extension Architecture {
    /// Why a description read from a file cannot be built, in one line.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Checks every layer against the shape reaching it (sizes that fit, odd kernels,
    /// bounded tensors and parameters) so that an untrusted file is refused before any
    /// layer is built; returns the parameter count.
    @discardableResult
    public func validate() throws -> Int {
        let limit = GraphSpec.maximumTensorSize
        func fail(_ reason: String) -> Invalid { Invalid(description: reason) }
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 && $0 <= limit }),
              GraphSpec.product(inputShape[0], inputShape[1], inputShape[2]) <= limit else {
            throw fail("the input shape \(inputShape) is impossible")
        }
        guard !layers.isEmpty, layers.count <= 1_000 else { throw fail("\(layers.count) layers") }
        if let temperature, !(temperature >= 0.01 && temperature <= 100) { throw fail("temperature \(temperature)") }
        var shape = inputShape, parameters = 0
        for (index, layer) in layers.enumerated() {
            let size = shape.reduce(1) { GraphSpec.product($0, $1) }
            var added = 0
            switch layer {
            case .standardize, .relu:
                break
            case .centreBands:
                guard shape.count == 3 else { throw fail("layer \(index): centring bands of \(shape)") }
            case .batchNorm:
                guard shape.count == 3 || shape.count == 1 else { throw fail("layer \(index): batch normalisation of \(shape)") }
                added = 2 * shape[0]
            case .conv2d(let filters, let kernel):
                guard shape.count == 3, filters > 0, filters <= 1 << 16, kernel > 0, kernel % 2 == 1, kernel <= 63 else {
                    throw fail("layer \(index): a convolution of \(filters) filters of \(kernel)×\(kernel) on \(shape)")
                }
                added = GraphSpec.product(filters, shape[0], kernel, kernel) + filters
                shape = [filters, shape[1], shape[2]]
            case .maxPool(let poolSize):
                guard shape.count == 3, poolSize > 0, shape[1] >= poolSize, shape[2] >= poolSize else {
                    throw fail("layer \(index): max-pooling \(shape) by \(poolSize)")
                }
                shape = [shape[0], shape[1] / poolSize, shape[2] / poolSize]
            case .maxOverTime:
                guard shape.count == 3 else { throw fail("layer \(index): max over time of \(shape)") }
                shape = [shape[0], shape[1]]
            case .dropout(let rate):
                guard rate >= 0, rate < 1 else { throw fail("layer \(index): dropout rate \(rate)") }
            case .flatten:
                shape = [size]
            case .dense(let units):
                guard units > 0, units <= 1 << 20 else { throw fail("layer \(index): \(units) units") }
                added = GraphSpec.product(size, units) + units
                shape = [units]
            }
            parameters = added > GraphSpec.maximumParameters ? Int.max : parameters + added
            guard parameters <= GraphSpec.maximumParameters, shape.reduce(1, { GraphSpec.product($0, $1) }) <= limit else {
                throw fail("layer \(index): more than \(GraphSpec.maximumParameters) parameters or values")
            }
        }
        return parameters
    }
}
