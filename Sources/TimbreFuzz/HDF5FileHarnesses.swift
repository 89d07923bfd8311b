import Foundation
import TimbreHDF5
import TimbreNN
import TimbreSeparation
import TimbreStore
import TimbreTraining

/// Feature files: a crafted file (`CraftedHDF5File`) read as the file probe reads one
/// before `train`, `evaluate`, `merge` or `calibrate` use it.
enum FeatureFileHarness {
    /// Whether the crafted file was read whole (the seeds must be).
    @discardableResult
    static func run(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let url = scratchFile
        do {
            var crafted = CraftedHDF5File(file: try HDF5File(creating: url), choices: FuzzedChoices(bytes))
            let classes = crafted.choices.pick([3, 1, 0, 2, 11, 300])
            let settings = try crafted.writeMetadata(classes: classes, bands: 8)
            let count = crafted.choices.pick(FuzzedChoices.extents)
            let perClip: [(String, [Int], CraftedHDF5File.ValueKind)] = [
                ("mel", [count, settings.nMels, settings.framesPerClip], .float), ("labels", [count, classes], .uint8), ("label", [count], .int32),
                ("source", [count], .string), ("offset", [count], .float), ("group", [count], .int32), ("rms_db", [count], .float),
            ]
            for (name, shape, kind) in perClip { try crafted.writeDataset(name, shape: shape, kind: kind) }
        } catch { return false }
        guard let reader = try? FeatureFileReader(url: url) else { return false }
        guard reader.count > 0 else { return true }
        _ = reader.classIndices(of: reader.count - 1)
        return (try? reader.mel(at: 0)) != nil && (try? reader.mel(at: reader.count - 1)) != nil && (try? reader.encodedMel(at: 0)) != nil
    }

    /// A valid file (no choice bytes at all) and a few single bends of it.
    static let seeds: [[UInt8]] = [[], [0, 0, 0, 1], [0, 1, 3, 0, 1, 2, 6], [0, 0, 0, 0, 7]]
}

/// Classifier and separator model files. The input is a network description (JSON) and
/// a second JSON text, each ended by a zero byte, then the choices. The description is
/// stored as both a classifier's `architecture` and a separator's `graph`, the second
/// text as both `training_summary` and `model_info`; the weights are written for whichever
/// the description is, with the choices bending them. The file is then read as `tag`,
/// `evaluate`, `separate` and `train --resume` read one, and a classifier is built.
enum ModelFileHarness {
    /// Whether the crafted file was read whole as a classifier or a separator (the seeds must be).
    @discardableResult
    static func run(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        let network = String(decoding: parts[0], as: UTF8.self)
        let summary = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : "{}"
        let url = scratchFile
        do {
            var crafted = CraftedHDF5File(file: try HDF5File(creating: url), choices: FuzzedChoices(parts.count > 2 ? Array(parts[2]) : []))
            try write(network: network, summary: summary, to: &crafted)
        } catch { return false }
        if let model = try? ModelFile.read(from: url) {
            _ = model.decisionThresholds(override: nil)
            return (try? model.makeModel()) != nil
        }
        return (try? SeparatorModel.read(from: url)) != nil
    }

    /// Parameters up to which the weights are written (larger descriptions get none).
    private static let writtenParameters = CraftedHDF5File.writtenValues

    private static func write(network: String, summary: String, to crafted: inout CraftedHDF5File) throws {
        let architecture = try? JSONDecoder().decode(Architecture.self, from: Data(network.utf8))
        let graph = try? JSONDecoder().decode(GraphSpec.self, from: Data(network.utf8))
        let file = crafted.file
        try file.setAttribute("model_format_version", .int(crafted.choices.pick([architecture != nil ? 1 : 2, 1, 2, 0, -1])))
        for name in ["architecture", "graph"] { try file.setAttribute(name, .string(network)) }
        for name in ["training_summary", "model_info"] { try file.setAttribute(name, .string(summary)) }
        var classes = 3
        if case .dense(let units)? = architecture?.layers.last { classes = max(0, min(units, 300)) }
        _ = try crafted.writeMetadata(classes: crafted.choices.pick([classes, 3, 0]), bands: 16)
        // The weights and batch-norm statistics the description asks for (none when it is
        // invalid or too large to write).
        var parameterCount = 0, slices: [ParameterStore.Slice] = [], norms: [BatchNorm] = []
        if let architecture, let count = try? architecture.validate(), count <= writtenParameters {
            let model = Sequential(architecture)
            (parameterCount, slices, norms) = (count, model.parameters.slices, model.batchNorms)
        } else if let graph, let count = try? graph.parameterCount(), count <= writtenParameters {
            let store = ParameterStore()
            let batchNorms = try graph.build(store: store).batchNorms
            (parameterCount, slices, norms) = (store.count, store.slices, batchNorms.values.sorted { $0.name < $1.name })
        }
        for slice in slices { try crafted.writeDataset("weights/\(slice.name)", shape: slice.shape, kind: .float) }
        for norm in norms {
            for statistic in ["running_mean", "running_variance"] {
                try crafted.writeDataset("state/\(norm.name)/\(statistic)", shape: [norm.channels], kind: .float)
            }
        }
        if crafted.choices.byte() % 2 == 1 {
            for moment in ["optimizer/m", "optimizer/v"] { try crafted.writeDataset(moment, shape: [parameterCount], kind: .float) }
            try file.setAttribute("optimizer_step", crafted.attributeValue())
            try file.setAttribute("trainer_state", .string(summary))
        }
    }

    /// Inputs describing valid files: a small classifier (softmax, sigmoid with a
    /// temperature and per-class thresholds, and batch-normalised), a separator network and the floor.
    static func seeds() throws -> [[UInt8]] {
        func input(_ network: some Encodable, _ second: String, choices: [UInt8] = []) throws -> [UInt8] {
            Array(try JSONEncoder().encode(network)) + [0] + Array(second.utf8) + [0] + choices
        }
        var sigmoid = Architecture.instrumentCNN(classes: 3, inputShape: [1, 16, 130], filters: 2, hidden: 4, output: .sigmoid)
        sigmoid.temperature = 0.7
        var seeds = [
            try input(Architecture.instrumentCNN(classes: 3, inputShape: [1, 16, 130], filters: 2, hidden: 4), "{}"),
            try input(sigmoid, #"{"class_thresholds": [0.3, 0.5, 0.7], "threshold": 0.5}"#, choices: [0, 0, 0, 1]),
            try input(Architecture.instrumentCNN(classes: 3, inputShape: [1, 16, 130], filters: 2, hidden: 4, normalisesBatches: true), "{}"),
        ]
        // A small separator network (a real architecture's weights would make every
        // execution slow) with batch normalisation, whose running statistics are read too.
        var settings = SeparatorSettings(architecture: "chandna")
        (settings.fftSize, settings.hopLength, settings.bins, settings.frames) = (64, 16, 33, 16)
        (settings.inputMean, settings.inputScale) = (Array(repeating: 0, count: 33), Array(repeating: 1, count: 33))
        func convolution(_ filters: Int) -> GraphSpec.LayerSpec {
            .convolution(filters: filters, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1)
        }
        let network = GraphSpec(inputs: [.init(name: "mixture", shape: [1, 16, 33])], nodes: [
            .init("encode", convolution(4), inputs: ["mixture"]), .init("norm", .batchNorm, inputs: ["encode"]),
            .init("activate", .leakyReLU(slope: 0.2), inputs: ["norm"]), .init("decode", convolution(settings.stems.count), inputs: ["activate"]),
            .init("masks", .sigmoid, inputs: ["decode"]),
        ], outputs: ["masks"])
        var floor = SeparatorSettings(architecture: "floor")
        (floor.fftSize, floor.hopLength, floor.bins) = (64, 16, 33)
        floor.fixedMasks = Array(repeating: Array(repeating: 0.25, count: floor.bins), count: floor.stems.count)
        let single = try SeparatorModel(settings: settings, spec: network)
        // An ensemble lists its members in model_info and holds their networks under their names.
        let ensemble = try SeparatorModel.ensemble([(single, 1), (try SeparatorModel(settings: settings, spec: network), 1)])
        for model in [single, try SeparatorModel.floor(settings: floor), ensemble] {
            seeds.append(try input(model.spec, model.file().modelInfo))
        }
        return seeds
    }
}

/// The HDF5 file each process crafts and reads, in memory-backed storage when there is some.
private let scratchFile = Harness.scratchFile(named: "h5")
