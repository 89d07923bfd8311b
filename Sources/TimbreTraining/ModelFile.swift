import Foundation
import TimbreDSP
import TimbreHDF5
import TimbreNN
import TimbreStore
import TimbreCore

/// A trained classifier as stored on disk (DESIGN.md, "Model file"): weights under
/// `/weights/<layer>/<name>`, the architecture as JSON, the class vocabulary and the
/// feature settings it was trained on, and a training summary; batch norms' running
/// statistics under `/state/<layer>/running_mean|running_variance`. Checkpoints also carry the
/// optimiser state and the trainer's position so training resumes exactly.
public struct ModelFile {
    public var architecture: Architecture
    /// Class vocabulary and feature settings, as in the feature file it was trained on.
    public var features: FeatureFileMetadata
    /// Flat parameter values in the order of the model's `ParameterStore`.
    public var weights: [Float]
    /// Every batch norm's running mean then variance, in layer order (`Sequential.batchNormState`);
    /// empty for networks without batch norms.
    public var batchNormState: [Float] = []
    /// Free-form JSON describing how the model was trained (data, recipe, metrics).
    public var trainingSummary: String = "{}"
    /// Present in checkpoints only.
    public var checkpoint: Checkpoint?

    public struct Checkpoint: Equatable {
        public var optimizer: Adam.State
        /// JSON of the trainer's own state (epoch, best score, history...).
        public var trainerState: String
        /// The running weight average when the recipe averages (`averageFrom`).
        public var average: WeightAverage?

        public init(optimizer: Adam.State, trainerState: String, average: WeightAverage? = nil) {
            self.optimizer = optimizer
            self.trainerState = trainerState
            self.average = average
        }

        /// Writes the optimizer's moments under `optimizer/` and the step and trainer state as
        /// root attributes (shared by both model file versions).
        func write(to file: HDF5File) throws {
            try file.createGroup("optimizer")
            try file.createDataset("optimizer/m", of: Float.self, shape: [optimizer.m.count]).writeRows(optimizer.m)
            try file.createDataset("optimizer/v", of: Float.self, shape: [optimizer.v.count]).writeRows(optimizer.v)
            try file.setAttribute("optimizer_step", .int(optimizer.step))
            try file.setAttribute("trainer_state", .string(trainerState))
            if let average, average.count > 0 {
                try file.createGroup("average")
                try file.createDataset("average/weights", of: Float.self, shape: [average.values.count]).writeRows(average.values)
                try file.setAttribute("average_count", .int(average.count))
            }
        }

        /// The checkpoint part of `file`, nil in a plain model; moments that do not match the
        /// model's `parameterCount` are a one-line error naming `path`.
        static func read(from file: HDF5File, parameterCount: Int, path: String) throws -> Checkpoint? {
            guard file.exists("optimizer/m") else { return nil }
            let moments = try [file.dataset("optimizer/m"), file.dataset("optimizer/v")]
            guard moments.allSatisfy({ $0.valueCount == parameterCount }) else {
                throw FileError(path: path, reason: "optimizer state holds \(moments[0].shape) and \(moments[1].shape) values, the model has \(parameterCount) parameters")
            }
            let m = try moments[0].readRows(as: Float.self), v = try moments[1].readRows(as: Float.self)
            var average: WeightAverage?
            if file.exists("average/weights") {
                let dataset = try file.dataset("average/weights")
                guard dataset.valueCount == parameterCount, let count = try file.attribute("average_count")?.intValue, count > 0 else {
                    throw FileError(path: path, reason: "the weight average holds \(dataset.shape) values over a missing or impossible count, the model has \(parameterCount) parameters")
                }
                average = WeightAverage(values: try dataset.readRows(as: Float.self), count: count)
            }
            return Checkpoint(optimizer: Adam.State(step: try file.attribute("optimizer_step")?.intValue ?? 0, m: m, v: v),
                              trainerState: try file.attribute("trainer_state")?.stringValue ?? "{}", average: average)
        }
    }

    public init(architecture: Architecture, features: FeatureFileMetadata, weights: [Float], batchNormState: [Float] = []) {
        self.architecture = architecture
        self.features = features
        self.weights = weights
        self.batchNormState = batchNormState
    }

    /// The values of a built network: its weights and its batch norms' statistics.
    public init(architecture: Architecture, features: FeatureFileMetadata, model: Sequential) {
        self.init(architecture: architecture, features: features, weights: model.parameters.valueArray, batchNormState: model.batchNormState)
    }

    /// Builds the network and loads the weights into it.
    public func makeModel() throws -> Sequential {
        let model = Sequential(architecture)
        guard model.parameters.count == weights.count else {
            throw FileError(path: "model", reason: "holds \(weights.count) weights, its architecture needs \(model.parameters.count)")
        }
        model.parameters.setValues(weights)
        guard model.batchNormStateCount == batchNormState.count else {
            throw FileError(path: "model", reason: "holds \(batchNormState.count) batch-norm statistics, its architecture needs \(model.batchNormStateCount)")
        }
        model.batchNormState = batchNormState
        return model
    }

    /// Writes atomically (`FileSystemName.replace`): `url` is the old file or the whole new one.
    public func write(to url: URL, slices: [ParameterStore.Slice]) throws {
        try FileSystemName.replace(url) { partial in
            let file = try HDF5File(creating: partial)
            try features.write(to: file)
            try file.setAttribute("architecture", .string(String(decoding: try JSONEncoder().encode(architecture), as: UTF8.self)))
            try file.setAttribute("training_summary", .string(trainingSummary))
            try file.setAttribute("model_format_version", .int(1))
            for slice in slices {
                let name = "weights/\(slice.name)"
                try file.createGroup((name as NSString).deletingLastPathComponent)
                let dataset = try file.createDataset(name, of: Float.self, shape: slice.shape)
                try dataset.writeRows(Array(weights[slice.offset..<slice.offset + slice.count]))
            }
            let norms = architecture.layers.contains(.batchNorm) ? Sequential(architecture).batchNorms : []
            let needed = norms.reduce(0) { $0 + 2 * $1.channels }
            guard batchNormState.count == needed else {
                throw FileError(path: url.path, reason: "\(batchNormState.count) batch-norm statistics for a network that needs \(needed)")
            }
            var offset = 0
            for norm in norms {
                for (part, count) in [("running_mean", norm.channels), ("running_variance", norm.channels)] {
                    try file.createGroup("state/\(norm.name)")
                    try file.createDataset("state/\(norm.name)/\(part)", of: Float.self, shape: [count]).writeRows(Array(batchNormState[offset..<offset + count]))
                    offset += count
                }
            }
            try checkpoint?.write(to: file)
            try file.flush()
        }
    }

    /// Reads a model or checkpoint file.
    public static func read(from url: URL) throws -> ModelFile {
        let file = try HDF5File(opening: url)
        guard let json = try file.attribute("architecture")?.stringValue else {
            // Separators are model files of version 2, named as such when given where a
            // classifier is wanted.
            if try file.attribute("model_format_version")?.intValue == GraphModelFile.formatVersion {
                throw FileError(path: url.path, reason: "is a separator model, not an instrument classifier")
            }
            throw FileError(path: url.path, reason: "is not a Timbre model (no architecture attribute)")
        }
        let architecture: Architecture
        do {
            architecture = try JSONDecoder().decode(Architecture.self, from: Data(json.utf8))
            try architecture.validate()
        } catch let invalid as Architecture.Invalid {
            throw FileError(path: url.path, reason: "invalid architecture: \(invalid.description)")
        } catch {
            throw FileError(path: url.path, reason: "the architecture cannot be read (an unknown layer kind or a missing attribute)")
        }
        let features = try FeatureFileMetadata.read(from: file)
        guard case .dense(let units) = architecture.layers.last, units == features.classCodes.count else {
            throw FileError(path: url.path, reason: "the network's outputs do not match its \(features.classCodes.count) classes")
        }
        try checkHoldsWeights(url, parameterCount: try architecture.validate())
        let model = Sequential(architecture)
        var weights = [Float](repeating: 0, count: model.parameters.count)
        for slice in model.parameters.slices {
            guard file.exists("weights/\(slice.name)") else { throw FileError(path: url.path, reason: "weights/\(slice.name) is missing") }
            let dataset = try file.dataset("weights/\(slice.name)")
            guard dataset.valueCount == slice.count else {
                throw FileError(path: url.path, reason: "weights/\(slice.name) has shape \(dataset.shape), expected \(slice.shape)")
            }
            let values = try dataset.readRows(as: Float.self)
            guard values.count == slice.count else {
                throw FileError(path: url.path, reason: "weights/\(slice.name) has \(values.count) values, expected \(slice.count)")
            }
            weights.replaceSubrange(slice.offset..<slice.offset + slice.count, with: values)
        }
        var state: [Float] = []
        for norm in model.batchNorms {
            for part in ["running_mean", "running_variance"] {
                let name = "state/\(norm.name)/\(part)"
                guard file.exists(name) else { throw FileError(path: url.path, reason: "\(name) is missing") }
                let dataset = try file.dataset(name)
                let values = dataset.valueCount == norm.channels ? try dataset.readRows(as: Float.self) : []
                guard values.count == norm.channels, values.allSatisfy(\.isFinite), part == "running_mean" || values.allSatisfy({ $0 >= 0 }) else {
                    throw FileError(path: url.path, reason: "\(name) holds \(dataset.shape) values, expected \(norm.channels) finite ones (a variance none negative)")
                }
                state += values
            }
        }
        var result = ModelFile(architecture: architecture, features: features, weights: weights, batchNormState: state)
        result.trainingSummary = try file.attribute("training_summary")?.stringValue ?? "{}"
        result.checkpoint = try Checkpoint.read(from: file, parameterCount: weights.count, path: url.path)
        return result
    }

    /// Weights are stored as uncompressed 32-bit floats, so a file smaller than its declared
    /// parameters is refused before the network (up to a gigabyte) is allocated for them.
    static func checkHoldsWeights(_ url: URL, parameterCount: Int) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard parameterCount <= size / MemoryLayout<Float>.size else {
            throw FileError(path: url.path, reason: "declares \(parameterCount) parameters, more than its \(size) bytes can hold")
        }
    }

    /// The thresholds to decide presence with: `override` for every class when given;
    /// otherwise the per-class thresholds chosen on validation data at training time, or
    /// the single one recorded by older models, or 0.5.
    public func decisionThresholds(override: Double?) -> (threshold: Double, classThresholds: [Double]?) {
        if let override { return (override, nil) }
        let single = ThresholdSearch.recorded(in: trainingSummary) ?? 0.5
        let perClass = ThresholdSearch.recordedPerClass(in: trainingSummary)
        return (single, perClass?.count == features.classCodes.count ? perClass : nil)
    }

    /// Refuses features computed differently (anything that changes a clip's log-mel; the
    /// RMS gate and clip hop do not) or labelled with another class vocabulary.
    public func checkCompatible(with other: FeatureFileMetadata, source: String) throws {
        let differences = features.settings.logMelDifferences(from: other.settings, mineCalled: "model")
        if !differences.isEmpty {
            throw FileError(path: source, reason: "features made with other settings than the model's: \(differences.joined(separator: ", "))")
        }
        if other.classCodes != features.classCodes {
            throw FileError(path: source, reason: "class codes \(other.classCodes) differ from the model's \(features.classCodes)")
        }
    }
}
