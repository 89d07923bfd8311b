/// A network described as data: stored as JSON in model files and rebuilt from it.
public struct Architecture: Codable, Equatable, Sendable {
    public enum LayerSpec: Codable, Equatable, Sendable {
        case standardize
        case conv2d(filters: Int, kernel: Int)
        case relu
        case maxPool(size: Int)
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

    public init(inputShape: [Int], layers: [LayerSpec], output: OutputActivation = .softmax) {
        self.inputShape = inputShape
        self.layers = layers
        self.output = output
    }

    private enum CodingKeys: String, CodingKey { case inputShape, layers, output }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        inputShape = try container.decode([Int].self, forKey: .inputShape)
        layers = try container.decode([LayerSpec].self, forKey: .layers)
        output = try container.decodeIfPresent(OutputActivation.self, forKey: .output) ?? .softmax
    }

    /// Timbre's instrument classifier: per-clip standardisation; four blocks of 3×3
    /// convolution with `filters` filters, ReLU and 2×2 max-pooling, with dropout 0.5
    /// after blocks 2, 3 and 4; a fully connected ReLU layer of `hidden` units with
    /// dropout 0.5; and one output per class (softmax or sigmoid is applied by the loss).
    public static func instrumentCNN(classes: Int, inputShape: [Int] = [1, 128, 130], filters: Int = 64, hidden: Int = 256, dropout: Double = 0.5,
                                     output: OutputActivation = .softmax) -> Architecture {
        var layers: [LayerSpec] = [.standardize]
        for block in 1...4 {
            layers += [.conv2d(filters: filters, kernel: 3), .relu, .maxPool(size: 2)]
            if block >= 2 { layers.append(.dropout(rate: dropout)) }
        }
        layers += [.flatten, .dense(units: hidden), .relu, .dropout(rate: dropout), .dense(units: classes)]
        return Architecture(inputShape: inputShape, layers: layers, output: output)
    }
}
