import TimbreCore

/// A network as a directed acyclic graph of named tensors: layers may take several inputs
/// (skip connections, attention) and the graph may have several outputs (one decoder per
/// source). Where one tensor feeds several layers, their gradients are summed.
///
/// Nodes are added in an order where every input already exists, which is the order of
/// the forward pass; backward walks it in reverse. A graph with one input and one output
/// is itself a `Layer` (`asLayer`), so graphs nest. Parameter names are whatever the
/// layers were given; `Scope` builds hierarchical ones (`encoder/block3/conv/kernel`).
public final class Graph {
    enum Operation {
        case single(Layer)
        case multiple(MultiInputLayer)
    }

    struct Node {
        let name: String
        let operation: Operation
        let inputs: [String]
    }

    public let inputNames: [String]
    public private(set) var outputNames: [String] = []
    /// Shape of every tensor (without batch), by name.
    public private(set) var shapes: [String: [Int]]
    private var nodes: [Node] = []

    /// - Parameter inputs: the graph's inputs and their shapes (without batch), in order.
    public init(inputs: [(name: String, shape: [Int])]) {
        inputNames = inputs.map(\.name)
        shapes = Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, $0.shape) })
    }

    /// Adds `layer` on tensor `input`; its output is the tensor `name`.
    @discardableResult
    public func add(_ name: String, _ layer: Layer, input: String) -> String {
        let shape = layer.outputShape(for: self.shape(of: input))
        return append(Node(name: name, operation: .single(layer), inputs: [input]), shape: shape)
    }

    /// Adds a layer of several inputs; its output is the tensor `name`.
    @discardableResult
    public func add(_ name: String, _ layer: MultiInputLayer, inputs: [String]) -> String {
        let shape = layer.outputShape(for: inputs.map { self.shape(of: $0) })
        return append(Node(name: name, operation: .multiple(layer), inputs: inputs), shape: shape)
    }

    /// Names the tensors the forward pass returns.
    public func setOutputs(_ names: [String]) {
        for name in names { _ = shape(of: name) }
        outputNames = names
    }

    private func shape(of tensor: String) -> [Int] {
        guard let shape = shapes[tensor] else { preconditionFailure("no tensor named '\(tensor)' yet") }
        return shape
    }

    private func append(_ node: Node, shape: [Int]) -> String {
        precondition(shapes[node.name] == nil, "a tensor named '\(node.name)' exists already")
        nodes.append(node)
        shapes[node.name] = shape
        return node.name
    }

    /// Gives every layer that sets its own starting values (nested graphs included) its turn.
    public func initializeParameters(using generator: inout SeededGenerator) {
        for node in nodes {
            switch node.operation {
            case .single(let layer): (layer as? ParameterInitializing)?.initializeParameters(using: &generator)
            case .multiple(let layer): (layer as? ParameterInitializing)?.initializeParameters(using: &generator)
            }
        }
    }

    /// Runs every node; returns the output tensors by name.
    public func forward(_ inputs: [String: Tensor], context: ForwardContext) -> [String: Tensor] {
        var values = inputs
        for name in inputNames { precondition(values[name] != nil, "the input '\(name)' is missing") }
        for node in nodes {
            switch node.operation {
            case .single(let layer): values[node.name] = layer.forward(values[node.inputs[0]]!, context: context)
            case .multiple(let layer): values[node.name] = layer.forward(node.inputs.map { values[$0]! }, context: context)
            }
        }
        return values.filter { outputNames.contains($0.key) }
    }

    /// Takes the loss gradient of each output (missing ones count as zero) and returns the
    /// gradient of each input; parameter gradients are added into the layers' stores.
    public func backward(_ outputGradients: [String: Tensor]) -> [String: Tensor] {
        var gradients = outputGradients
        func accumulate(_ gradient: Tensor, into name: String) {
            if var existing = gradients[name] {
                for i in existing.data.indices { existing.data[i] += gradient.data[i] }
                gradients[name] = existing
            } else {
                gradients[name] = gradient
            }
        }
        for node in nodes.reversed() {
            // A tensor nothing downstream used sends nothing back.
            guard let gradient = gradients.removeValue(forKey: node.name) else { continue }
            switch node.operation {
            case .single(let layer):
                accumulate(layer.backward(gradient), into: node.inputs[0])
            case .multiple(let layer):
                for (input, inputGradient) in zip(node.inputs, layer.backward(gradient)) { accumulate(inputGradient, into: input) }
            }
        }
        return gradients.filter { inputNames.contains($0.key) }
    }

    /// This graph as one layer, for nesting: one input, one output.
    public var asLayer: Layer {
        precondition(inputNames.count == 1 && outputNames.count == 1, "only a graph of one input and one output is a layer")
        return GraphLayer(graph: self)
    }
}

/// A one-input, one-output graph seen as a layer.
final class GraphLayer: Layer, ParameterInitializing {
    let graph: Graph

    init(graph: Graph) { self.graph = graph }

    func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape == graph.shapes[graph.inputNames[0]], "the graph expects \(graph.shapes[graph.inputNames[0]]!), got \(inputShape)")
        return graph.shapes[graph.outputNames[0]]!
    }

    func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        graph.forward([graph.inputNames[0]: input], context: context)[graph.outputNames[0]]!
    }

    func backward(_ outputGradient: Tensor) -> Tensor {
        let gradients = graph.backward([graph.outputNames[0]: outputGradient])
        return gradients[graph.inputNames[0]] ?? Tensor(zeros: [outputGradient.batch] + graph.shapes[graph.inputNames[0]]!)
    }

    func initializeParameters(using generator: inout SeededGenerator) { graph.initializeParameters(using: &generator) }
}

/// Hierarchical parameter names: `Scope("encoder").child("block3")("conv")` is `encoder/block3/conv`.
public struct Scope: Sendable {
    public let path: String

    public init(_ path: String = "") { self.path = path }

    public func child(_ name: String) -> Scope { Scope(callAsFunction(name)) }

    public func callAsFunction(_ name: String) -> String { path.isEmpty ? name : "\(path)/\(name)" }
}
