import Foundation
import TimbreCore
import TimbreNN
import TimbreTraining

/// A trained separator: its settings and, unless it is the network-free floor, its network
/// (or an ensemble's networks, whose masks it averages). On disk it is a version-2 model
/// file (`GraphModelFile`) whose `model_info` holds the settings as JSON, with `"kind":
/// "separator"`; the floor stores its masks there and an empty-weight identity graph; an
/// ensemble also lists its members there, and its graph holds each member's network under
/// the member's name.
public final class SeparatorModel {
    public let settings: SeparatorSettings
    public let spec: GraphSpec
    public let graph: Graph
    public let store: ParameterStore
    public let batchNorms: [String: BatchNorm]
    /// The networks of an ensemble (`ensemble(_:)`), each under its own name in the graph;
    /// empty for one network or the floor.
    public let members: [EnsembleMember]

    public init(settings: SeparatorSettings, spec: GraphSpec, store: ParameterStore = ParameterStore(), members: [EnsembleMember] = []) throws {
        if let problem = settings.problem() ?? Self.ensembleProblem(settings, members) { throw FileError(path: "separator", reason: problem) }
        self.settings = settings
        self.spec = spec
        self.store = store
        self.members = members
        (graph, batchNorms) = try spec.build(store: store)
        if settings.fixedMasks == nil {
            let shapes = try spec.shapes()
            let heard = members.isEmpty ? [settings] : members.map(\.settings)
            let planes = heard.map { s in
                (input: s.timeMajor ? [1, s.frames, s.bins] : [1, s.bins, s.frames],
                 output: s.timeMajor ? [s.stems.count, s.frames, s.bins] : [s.stems.count, s.bins, s.frames])
            }
            // An ensemble's i-th input and output belong to its i-th member.
            let namesFit = members.isEmpty || (spec.inputs.count == members.count && spec.outputs.count == members.count
                && zip(members, zip(spec.inputs, spec.outputs)).allSatisfy { $1.0.name.hasPrefix("\($0.name)/") && $1.1.hasPrefix("\($0.name)/") })
            guard namesFit, spec.inputs.map(\.shape) == planes.map(\.input), spec.outputs.compactMap({ shapes[$0] }) == planes.map(\.output) else {
                throw FileError(path: "separator", reason: "the network maps \(spec.inputs.map(\.shape)) to \(spec.outputs.compactMap { shapes[$0] }), the settings need \(planes.map(\.input)) to \(planes.map(\.output))")
            }
        }
    }

    /// The floor: fixed masks, no network.
    public static func floor(settings: SeparatorSettings) throws -> SeparatorModel {
        let spec = GraphSpec(inputs: [.init(name: "mixture", shape: [1, settings.frames, settings.bins])],
                             nodes: [.init("masks", .relu, inputs: ["mixture"])], outputs: ["masks"])
        return try SeparatorModel(settings: settings, spec: spec)
    }

    public var isFloor: Bool { settings.fixedMasks != nil }

    struct Info: Codable {
        var kind = "separator"
        var settings: SeparatorSettings
        var members: [EnsembleMember]? = nil
    }

    public func file() -> GraphModelFile {
        var file = GraphModelFile(graph: spec, store: store, batchNorms: batchNorms)
        file.modelInfo = String(decoding: (try? JSONEncoder().encode(Info(settings: settings, members: members.isEmpty ? nil : members))) ?? Data("{}".utf8), as: UTF8.self)
        return file
    }

    public func write(to url: URL, trainingSummary: String = "{}") throws {
        var file = file()
        file.trainingSummary = trainingSummary
        try file.write(to: url)
    }

    /// Reads a separator file; a classifier or a damaged file is a one-line error naming it.
    public static func read(from url: URL) throws -> SeparatorModel {
        let file: GraphModelFile
        do {
            file = try GraphModelFile.read(from: url)
        } catch let error as FileError where error.reason.contains("version-1") {
            throw FileError(path: url.path, reason: "is an instrument classifier, not a separator model")
        }
        return try load(file, path: url.path)
    }

    static func load(_ file: GraphModelFile, path: String) throws -> SeparatorModel {
        guard let info = try? JSONDecoder().decode(Info.self, from: Data(file.modelInfo.utf8)), info.kind == "separator" else {
            throw FileError(path: path, reason: "is not a separator model (no separator settings in model_info)")
        }
        do {
            let model = try SeparatorModel(settings: info.settings, spec: file.graph, members: info.members ?? [])
            try file.loadValues(into: model.store, batchNorms: model.batchNorms)
            return model
        } catch let error as FileError {
            throw FileError(path: path, reason: error.reason)
        }
    }

    /// The training mixtures' mean log magnitude over the network's bins: the level
    /// `InputLevel` brings a recording to.
    public var trainingMeanLogMagnitude: Double {
        settings.inputMean.isEmpty ? log(Double(SpectralFrames.floor)) : settings.inputMean.reduce(0) { $0 + Double($1) } / Double(settings.inputMean.count)
    }

    /// Standardised network input from scaled magnitudes (time-major, frames × bins), each
    /// multiplied by `gain` first.
    public func input(fromMagnitudes magnitudes: UnsafeBufferPointer<Float>, gain: Float = 1, into destination: UnsafeMutablePointer<Float>) {
        Self.input(fromMagnitudes: magnitudes, gain: gain, settings: settings, into: destination)
    }

    static func input(fromMagnitudes magnitudes: UnsafeBufferPointer<Float>, gain: Float, settings: SeparatorSettings, into destination: UnsafeMutablePointer<Float>) {
        let bins = settings.bins, frames = settings.frames, floor = SpectralFrames.floor
        for t in 0..<frames {
            for f in 0..<bins {
                let value = (log(floor + gain * magnitudes[t * bins + f]) - settings.inputMean[f]) * settings.inputScale[f]
                destination[settings.timeMajor ? t * bins + f : f * frames + t] = value
            }
        }
    }

    /// Soft masks that sum to one across stems for a batch of chunks of scaled magnitudes
    /// (each frames × bins, time-major), which the network hears `gain` times louder (the
    /// fixed masks of the floor do not depend on it); returned time-major, stem by stem per chunk.
    public func masks(forChunks chunks: [[Float]], gain: Float = 1) -> [[Float]] {
        let bins = settings.bins, frames = settings.frames, stems = settings.stems.count, plane = bins * frames
        if let fixed = settings.fixedMasks {
            var mask = [Float](repeating: 0, count: stems * plane)
            for s in 0..<stems { for t in 0..<frames { for f in 0..<bins { mask[s * plane + t * bins + f] = fixed[s][f] } } }
            return Array(repeating: mask, count: chunks.count)
        }
        let total = members.reduce(Float(0)) { $0 + $1.weight }
        let heard = members.isEmpty ? [(settings: settings, weight: Float(1))] : members.map { (settings: $0.settings, weight: $0.weight / total) }
        var inputs: [String: Tensor] = [:]
        for (input, member) in zip(spec.inputs, heard) {
            var tensor = Tensor(uninitialized: [chunks.count, 1] + input.shape.dropFirst())
            tensor.data.withUnsafeMutableBufferPointer { destination in
                for (index, chunk) in chunks.enumerated() {
                    chunk.withUnsafeBufferPointer { Self.input(fromMagnitudes: $0, gain: gain, settings: member.settings, into: destination.baseAddress! + index * plane) }
                }
            }
            inputs[input.name] = tensor
        }
        let outputs = graph.forward(inputs, context: ForwardContext(training: false))
        let masksOfMembers = zip(spec.outputs, heard).map { name, member in
            outputs[name]!.data.withUnsafeBufferPointer { all in
                chunks.indices.map { Self.timeMajorMasks(UnsafeBufferPointer(rebasing: all[($0 * stems * plane)..<(($0 + 1) * stems * plane)]), settings: member.settings) }
            }
        }
        guard masksOfMembers.count > 1 else { return masksOfMembers[0] }
        return chunks.indices.map { index in
            var mean = [Float](repeating: 0, count: stems * plane)
            for (masks, member) in zip(masksOfMembers, heard) {
                let chunk = masks[index]
                for i in mean.indices { mean[i] += member.weight * chunk[i] }
            }
            return mean
        }
    }

    /// One chunk's network outputs as masks normalised across stems, time-major.
    static func timeMajorMasks(_ output: UnsafeBufferPointer<Float>, settings: SeparatorSettings) -> [Float] {
        let bins = settings.bins, frames = settings.frames, stems = settings.stems.count, plane = bins * frames
        let masks = SourceMasking.masks(output, stems: stems, normalisation: .acrossStems)
        guard !settings.timeMajor else { return masks }
        var timeMajor = [Float](repeating: 0, count: masks.count)
        for s in 0..<stems { for f in 0..<bins { for t in 0..<frames { timeMajor[s * plane + t * bins + f] = masks[s * plane + f * frames + t] } } }
        return timeMajor
    }
}
