import TimbreCore

/// A layer graph described as data, stored as JSON in version-2 model files and rebuilt
/// from it. Node names are hierarchical (`encoder/block2/conv`), and a node's parameters
/// are named after it (`encoder/block2/conv/kernel`), so inserting a node renames nothing.
///
/// A description read from a file is untrusted: `shapes()` checks every node (known inputs,
/// sizes that fit, bounded parameter counts) and throws a one-line reason before any layer
/// is built.
public struct GraphSpec: Codable, Equatable, Sendable {
    public enum LayerSpec: Codable, Equatable, Sendable {
        case convolution(filters: Int, kernel: [Int], stride: [Int], padding: [Int], dilation: [Int], groups: Int)
        case transposedConvolution(filters: Int, kernel: [Int], stride: [Int], padding: [Int], outputPadding: [Int])
        case upsample(factor: [Int])
        case averagePool(size: [Int], stride: [Int])
        case maxPool(size: Int)
        case relu
        case leakyReLU(slope: Double)
        case sigmoid
        case tanh
        case standardize
        case batchNorm
        case layerNorm
        case dense(units: Int)
        case attention(heads: Int)
        case slicedAttention(heads: Int, chunk: Int)
        case dropout(rate: Double)
        case concat
        case add
        case reshape(shape: [Int])
    }

    public struct Input: Codable, Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public init(name: String, shape: [Int]) { self.name = name; self.shape = shape }
    }

    public struct Node: Codable, Equatable, Sendable {
        public var name: String
        public var layer: LayerSpec
        public var inputs: [String]
        public init(_ name: String, _ layer: LayerSpec, inputs: [String]) { self.name = name; self.layer = layer; self.inputs = inputs }
    }

    public var inputs: [Input]
    public var nodes: [Node]
    public var outputs: [String]

    public init(inputs: [Input], nodes: [Node], outputs: [String]) {
        self.inputs = inputs
        self.nodes = nodes
        self.outputs = outputs
    }

    /// Why a description cannot be built, in one line.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Values per tensor and parameters per graph that a description may ask for.
    public static let maximumTensorSize = 1 << 28
    public static let maximumParameters = 1 << 28

    /// The shape of every tensor (without batch), checking the whole description.
    public func shapes() throws -> [String: [Int]] { try analysed().shapes }

    /// The number of parameters the graph needs, checking the whole description without
    /// allocating anything.
    public func parameterCount() throws -> Int { try analysed().parameters }

    private func analysed() throws -> (shapes: [String: [Int]], parameters: Int) {
        var shapes: [String: [Int]] = [:]
        func fail(_ reason: String) -> Invalid { Invalid(description: reason) }
        func checked(_ shape: [Int], _ owner: String) throws -> [Int] {
            guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 && $0 <= Self.maximumTensorSize }),
                  UntrustedSize.product(shape) <= Self.maximumTensorSize else {
                throw fail("'\(owner)' has the impossible shape \(shape)")
            }
            return shape
        }
        guard !inputs.isEmpty, !outputs.isEmpty else { throw fail("the graph needs inputs and outputs") }
        for input in inputs {
            guard shapes[input.name] == nil else { throw fail("two tensors are named '\(input.name)'") }
            shapes[input.name] = try checked(input.shape, input.name)
        }
        var parameters = 0
        for node in nodes {
            guard shapes[node.name] == nil else { throw fail("two tensors are named '\(node.name)'") }
            let inputShapes = try node.inputs.map { name -> [Int] in
                guard let shape = shapes[name] else { throw fail("'\(node.name)' reads '\(name)', which does not exist before it") }
                return shape
            }
            let (shape, count) = try Self.outputShape(of: node, inputShapes)
            parameters = count > Self.maximumParameters ? Int.max : parameters + count
            guard parameters <= Self.maximumParameters else { throw fail("more than \(Self.maximumParameters) parameters") }
            shapes[node.name] = try checked(shape, node.name)
        }
        for output in outputs where shapes[output] == nil { throw fail("the output '\(output)' does not exist") }
        return (shapes, parameters)
    }

    private static func positive(_ values: [Int], count: Int, _ what: String, _ node: String, allowZero: Bool = false) throws -> [Int] {
        guard values.count == count, values.allSatisfy({ allowZero ? $0 >= 0 : $0 > 0 }), values.allSatisfy({ $0 <= 1 << 16 }) else {
            throw Invalid(description: "'\(node)' has an invalid \(what) \(values)")
        }
        return values
    }

    /// A product that saturates instead of overflowing: untrusted sizes only compare with limits.
    static func product(_ values: Int...) -> Int { product(values) }

    static func product(_ values: [Int]) -> Int { UntrustedSize.product(values) }

    /// Output shape and parameter count of one node, or why it cannot be.
    static func outputShape(of node: Node, _ inputs: [[Int]]) throws -> ([Int], Int) {
        func fail(_ reason: String) -> Invalid { Invalid(description: "'\(node.name)': \(reason)") }
        let multiple: Bool = { if case .concat = node.layer { return true }; if case .add = node.layer { return true }; return false }()
        guard multiple ? inputs.count >= 2 : inputs.count == 1 else { throw fail("wrong number of inputs (\(inputs.count))") }
        let x = inputs[0]
        func image() throws -> (Int, Int, Int) {
            guard x.count == 3 else { throw fail("expects [C, H, W], got \(x)") }
            return (x[0], x[1], x[2])
        }
        switch node.layer {
        case .convolution(let filters, let kernel, let stride, let padding, let dilation, let groups):
            let (c, h, w) = try image()
            let k = try positive(kernel, count: 2, "kernel", node.name), s = try positive(stride, count: 2, "stride", node.name)
            let p = try positive(padding, count: 2, "padding", node.name, allowZero: true), d = try positive(dilation, count: 2, "dilation", node.name)
            guard filters > 0, filters <= 1 << 16, groups > 0, c % groups == 0, filters % groups == 0 else { throw fail("invalid filters or groups") }
            let g = ConvolutionGeometry(channels: c / groups, height: h, width: w, kernel: (k[0], k[1]), stride: (s[0], s[1]),
                                        padding: (p[0], p[1]), dilation: (d[0], d[1]))
            guard g.isValid else { throw fail("a \(k) kernel does not fit in \(x)") }
            return ([filters, g.outputHeight, g.outputWidth], min(product(filters, c / groups, k[0], k[1]), Int.max - filters) + filters)
        case .transposedConvolution(let filters, let kernel, let stride, let padding, let outputPadding):
            let (c, h, w) = try image()
            let k = try positive(kernel, count: 2, "kernel", node.name), s = try positive(stride, count: 2, "stride", node.name)
            let p = try positive(padding, count: 2, "padding", node.name, allowZero: true)
            let o = try positive(outputPadding, count: 2, "output padding", node.name, allowZero: true)
            guard filters > 0, filters <= 1 << 16, o[0] < s[0], o[1] < s[1] else { throw fail("invalid filters or output padding") }
            let height = (h - 1) * s[0] - 2 * p[0] + k[0] + o[0], width = (w - 1) * s[1] - 2 * p[1] + k[1] + o[1]
            guard height > 0, width > 0 else { throw fail("no output fits \(x)") }
            return ([filters, height, width], min(product(c, filters, k[0], k[1]), Int.max - filters) + filters)
        case .upsample(let factor):
            let (c, h, w) = try image()
            let f = try positive(factor, count: 2, "factor", node.name)
            return ([c, h * f[0], w * f[1]], 0)
        case .averagePool(let size, let stride):
            let (c, h, w) = try image()
            let k = try positive(size, count: 2, "size", node.name), s = try positive(stride, count: 2, "stride", node.name)
            guard h >= k[0], w >= k[1] else { throw fail("cannot pool \(x) by \(k)") }
            return ([c, (h - k[0]) / s[0] + 1, (w - k[1]) / s[1] + 1], 0)
        case .maxPool(let size):
            let (c, h, w) = try image()
            guard size > 0, h >= size, w >= size else { throw fail("cannot pool \(x) by \(size)") }
            return ([c, h / size, w / size], 0)
        case .relu, .sigmoid, .tanh, .standardize:
            return (x, 0)
        case .leakyReLU(let slope):
            guard slope.isFinite else { throw fail("the slope is not a number") }
            return (x, 0)
        case .dropout(let rate):
            guard rate >= 0, rate < 1 else { throw fail("dropout rate \(rate) is outside [0, 1)") }
            return (x, 0)
        case .batchNorm:
            return (x, 2 * x[0])
        case .layerNorm:
            return (x, 2 * x[x.count - 1])
        case .dense(let units):
            guard units > 0, units <= 1 << 20 else { throw fail("invalid units \(units)") }
            return (Array(x.dropLast()) + [units], min(product(x[x.count - 1], units), Int.max - units) + units)
        case .attention(let heads):
            guard x.count == 2, heads > 0, x[1] % heads == 0 else { throw fail("attention needs [T, D] with D divisible by \(heads) heads, got \(x)") }
            return (x, product(4, x[1], x[1] + 1))
        case .slicedAttention(let heads, let chunk):
            guard x.count == 3, heads > 0, x[1] % heads == 0, chunk > 0, x[2] % chunk == 0 else {
                throw fail("sliced attention needs [C, F, T] with F divisible by \(heads) heads and T by chunks of \(chunk), got \(x)")
            }
            return (x, product(4, x[1], x[1] + 1))
        case .reshape(let shape):
            guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), product(shape) == product(x) else { throw fail("cannot reshape \(x) to \(shape)") }
            return (shape, 0)
        case .concat:
            guard inputs.allSatisfy({ $0.count == x.count && $0.dropFirst() == x.dropFirst() }) else { throw fail("inputs differ beyond their channels: \(inputs)") }
            return ([inputs.reduce(0) { $0 + $1[0] }] + x.dropFirst(), 0)
        case .add:
            guard inputs.allSatisfy({ $0 == x }) else { throw fail("inputs of different shapes: \(inputs)") }
            return (x, 0)
        }
    }

    /// The graph, its layers' parameters added to `store` under the nodes' names, and its
    /// batch-norm layers by node name (their running statistics are stored with the model).
    public func build(store: ParameterStore) throws -> (graph: Graph, batchNorms: [String: BatchNorm]) {
        let shapes = try shapes()
        let graph = Graph(inputs: inputs.map { ($0.name, $0.shape) })
        var batchNorms: [String: BatchNorm] = [:]
        for (index, node) in nodes.enumerated() {
            let x = shapes[node.inputs[0]]!
            let layer: Layer
            switch node.layer {
            case .convolution(let filters, let k, let s, let p, let d, let groups):
                layer = Convolution2D(inChannels: x[0], filters: filters, kernel: (k[0], k[1]), stride: (s[0], s[1]), padding: (p[0], p[1]),
                                      dilation: (d[0], d[1]), groups: groups, store: store, name: node.name)
            case .transposedConvolution(let filters, let k, let s, let p, let o):
                layer = TransposedConvolution2D(inChannels: x[0], filters: filters, kernel: (k[0], k[1]), stride: (s[0], s[1]), padding: (p[0], p[1]),
                                                outputPadding: (o[0], o[1]), store: store, name: node.name)
            case .upsample(let f): layer = Upsample(factor: (f[0], f[1]))
            case .averagePool(let k, let s): layer = AveragePool2D(size: (k[0], k[1]), stride: (s[0], s[1]))
            case .maxPool(let size): layer = MaxPool2D(size: size)
            case .relu: layer = ReLU()
            case .leakyReLU(let slope): layer = LeakyReLU(slope: Float(slope))
            case .sigmoid: layer = Sigmoid()
            case .tanh: layer = Tanh()
            case .standardize: layer = Standardize()
            case .batchNorm:
                let norm = BatchNorm(channels: x[0], store: store, name: node.name)
                batchNorms[node.name] = norm
                layer = norm
            case .layerNorm: layer = LayerNorm(features: x[x.count - 1], store: store, name: node.name)
            case .dense(let units): layer = DenseOverLastAxis(inputs: x[x.count - 1], outputs: units, store: store, name: node.name)
            case .attention(let heads): layer = MultiHeadAttention(features: x[1], heads: heads, store: store, name: node.name)
            case .slicedAttention(let heads, let chunk): layer = SlicedAttention(frequencies: x[1], heads: heads, chunk: chunk, store: store, name: node.name)
            case .reshape(let shape): layer = Reshape(shape)
            case .dropout(let rate): layer = Dropout(rate: Float(rate), salt: UInt64(index))
            case .concat:
                graph.add(node.name, Concat(), inputs: node.inputs)
                continue
            case .add:
                graph.add(node.name, Add(), inputs: node.inputs)
                continue
            }
            graph.add(node.name, layer, input: node.inputs[0])
        }
        graph.setOutputs(outputs)
        return (graph, batchNorms)
    }
}
