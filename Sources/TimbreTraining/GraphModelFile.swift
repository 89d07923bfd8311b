import Foundation
import TimbreCore
import TimbreHDF5
import TimbreNN

/// A layer-graph model on disk, format version 2 (separators, and any network `GraphSpec`
/// describes): root attributes `model_format_version` = 2, `graph` (the description as
/// JSON), `model_info` (free-form JSON: what the inputs mean, the STFT, the sources) and
/// `training_summary`; each parameter under `weights/<its hierarchical name>` in its own
/// shape; batch-norm running statistics under `state/<node>/running_mean|running_variance`.
/// Version-1 files (the classifier, `ModelFile`) are read as before.
public struct GraphModelFile {
    public static let formatVersion = 2

    public var graph: GraphSpec
    /// Parameter values by name.
    public var weights: [String: [Float]]
    /// Running statistics by batch-norm node: (mean, variance).
    public var state: [String: (mean: [Float], variance: [Float])]
    public var modelInfo: String = "{}"
    public var trainingSummary: String = "{}"
    /// Present in checkpoints only: the optimizer's state and the trainer's (as in `ModelFile`).
    public var checkpoint: ModelFile.Checkpoint?

    public init(graph: GraphSpec, weights: [String: [Float]], state: [String: (mean: [Float], variance: [Float])] = [:]) {
        self.graph = graph
        self.weights = weights
        self.state = state
    }

    /// The values of a built model: its parameters and its batch norms' statistics.
    public init(graph: GraphSpec, store: ParameterStore, batchNorms: [String: BatchNorm]) {
        var weights: [String: [Float]] = [:]
        for slice in store.slices { weights[slice.name] = Array(UnsafeBufferPointer(start: store.values(slice), count: slice.count)) }
        self.init(graph: graph, weights: weights, state: batchNorms.mapValues { ($0.runningMean, $0.runningVariance) })
    }

    /// Builds the graph and loads every value into it.
    public func makeModel() throws -> (graph: Graph, store: ParameterStore) {
        let store = ParameterStore()
        let (built, batchNorms) = try graph.build(store: store)
        try loadValues(into: store, batchNorms: batchNorms)
        return (built, store)
    }

    /// Copies the weights and running statistics into a graph built from this description
    /// elsewhere (e.g. by a model type that wraps the graph).
    public func loadValues(into store: ParameterStore, batchNorms: [String: BatchNorm]) throws {
        for slice in store.slices {
            guard let values = weights[slice.name], values.count == slice.count else {
                throw FileError(path: "model", reason: "weights/\(slice.name): \(weights[slice.name].map { "\($0.count) values" } ?? "missing"), the graph needs \(slice.count)")
            }
            store.values(slice).update(from: values, count: values.count)
        }
        for (name, norm) in batchNorms {
            guard let statistics = state[name], statistics.mean.count == norm.channels, statistics.variance.count == norm.channels else {
                throw FileError(path: "model", reason: "state/\(name): running statistics missing or of the wrong size")
            }
            norm.runningMean = statistics.mean
            norm.runningVariance = statistics.variance
        }
    }

    /// Writes atomically (`FileSystemName.replace`): `url` is the old file or the whole new one.
    public func write(to url: URL) throws {
        let store = ParameterStore()
        _ = try graph.build(store: store)
        try FileSystemName.replace(url) { partial in
            let file = try HDF5File(creating: partial)
            try file.setAttribute("model_format_version", .int(Self.formatVersion))
            try file.setAttribute("graph", .string(String(decoding: try JSONEncoder().encode(graph), as: UTF8.self)))
            try file.setAttribute("model_info", .string(modelInfo))
            try file.setAttribute("training_summary", .string(trainingSummary))
            for slice in store.slices {
                guard let values = weights[slice.name], values.count == slice.count else {
                    throw FileError(path: url.path, reason: "no values of the right size for \(slice.name)")
                }
                try write(values, shape: slice.shape, as: "weights/\(slice.name)", in: file)
            }
            for (name, statistics) in state.sorted(by: { $0.key < $1.key }) {
                try write(statistics.mean, shape: [statistics.mean.count], as: "state/\(name)/running_mean", in: file)
                try write(statistics.variance, shape: [statistics.variance.count], as: "state/\(name)/running_variance", in: file)
            }
            try checkpoint?.write(to: file)
            try file.flush()
        }
    }

    private func write(_ values: [Float], shape: [Int], as name: String, in file: HDF5File) throws {
        try file.createGroup((name as NSString).deletingLastPathComponent)
        try file.createDataset(name, of: Float.self, shape: shape).writeRows(values)
    }

    /// Reads a version-2 file; anything that does not fit its own description is a one-line
    /// error naming the file.
    public static func read(from url: URL) throws -> GraphModelFile {
        let file = try HDF5File(opening: url)
        func fail(_ reason: String) -> FileError { FileError(path: url.path, reason: reason) }
        guard let version = try file.attribute("model_format_version")?.intValue else { throw fail("is not a Timbre model (no format version)") }
        guard version == formatVersion else { throw fail("is a version-\(version) model; this reader takes version \(formatVersion)") }
        guard let json = try file.attribute("graph")?.stringValue else { throw fail("has no graph description") }
        let graph: GraphSpec
        do {
            graph = try JSONDecoder().decode(GraphSpec.self, from: Data(json.utf8))
        } catch {
            throw fail("the graph description cannot be read (an unknown layer kind or a missing attribute)")
        }
        let store = ParameterStore(), batchNorms: [String: BatchNorm]
        do {
            try ModelFile.checkHoldsWeights(url, parameterCount: try graph.parameterCount())
            batchNorms = try graph.build(store: store).batchNorms
        } catch let invalid as GraphSpec.Invalid {
            throw fail("invalid graph: \(invalid.description)")
        }
        func values(_ name: String, count: Int) throws -> [Float] {
            guard file.exists(name) else { throw fail("\(name) is missing") }
            let dataset = try file.dataset(name)
            guard dataset.valueCount == count else { throw fail("\(name) has shape \(dataset.shape), the graph needs \(count) values") }
            return try dataset.readRows(as: Float.self)
        }
        var weights: [String: [Float]] = [:]
        for slice in store.slices { weights[slice.name] = try values("weights/\(slice.name)", count: slice.count) }
        var state: [String: (mean: [Float], variance: [Float])] = [:]
        for (name, norm) in batchNorms {
            state[name] = (try values("state/\(name)/running_mean", count: norm.channels), try values("state/\(name)/running_variance", count: norm.channels))
        }
        var result = GraphModelFile(graph: graph, weights: weights, state: state)
        result.modelInfo = try file.attribute("model_info")?.stringValue ?? "{}"
        result.trainingSummary = try file.attribute("training_summary")?.stringValue ?? "{}"
        result.checkpoint = try ModelFile.Checkpoint.read(from: file, parameterCount: store.count, path: url.path)
        return result
    }
}
