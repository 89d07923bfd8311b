import Foundation
import TimbreCore
import TimbreNN
import TimbreTraining

/// A trained separator: its settings and, unless it is the network-free floor, its network.
/// On disk it is a version-2 model file (`GraphModelFile`) whose `model_info` holds the
/// settings as JSON, with `"kind": "separator"`; the floor stores its masks there and an
/// empty-weight identity graph.
public final class SeparatorModel {
    public let settings: SeparatorSettings
    public let spec: GraphSpec
    public let graph: Graph
    public let store: ParameterStore
    public let batchNorms: [String: BatchNorm]

    public init(settings: SeparatorSettings, spec: GraphSpec, store: ParameterStore = ParameterStore()) throws {
        if let problem = settings.problem() { throw FileError(path: "separator", reason: problem) }
        self.settings = settings
        self.spec = spec
        self.store = store
        (graph, batchNorms) = try spec.build(store: store)
        let expected = settings.timeMajor ? [settings.stems.count, settings.frames, settings.bins] : [settings.stems.count, settings.bins, settings.frames]
        let input = settings.timeMajor ? [1, settings.frames, settings.bins] : [1, settings.bins, settings.frames]
        if settings.fixedMasks == nil {
            let shapes = try spec.shapes()
            guard spec.inputs.count == 1, spec.inputs[0].shape == input, spec.outputs.count == 1, shapes[spec.outputs[0]] == expected else {
                throw FileError(path: "separator", reason: "the network maps \(spec.inputs.map(\.shape)) to \(spec.outputs.compactMap { shapes[$0] }), the settings need \(input) to \(expected)")
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
    }

    public func file() -> GraphModelFile {
        var file = GraphModelFile(graph: spec, store: store, batchNorms: batchNorms)
        file.modelInfo = String(decoding: (try? JSONEncoder().encode(Info(settings: settings))) ?? Data("{}".utf8), as: UTF8.self)
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
            let model = try SeparatorModel(settings: info.settings, spec: file.graph)
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
        var input = Tensor(uninitialized: [chunks.count, 1] + spec.inputs[0].shape.dropFirst())
        input.data.withUnsafeMutableBufferPointer { destination in
            for (index, chunk) in chunks.enumerated() {
                chunk.withUnsafeBufferPointer { self.input(fromMagnitudes: $0, gain: gain, into: destination.baseAddress! + index * plane) }
            }
        }
        let output = graph.forward(["mixture": input], context: ForwardContext(training: false))["masks"]!
        return output.data.withUnsafeBufferPointer { all in
            (0..<chunks.count).map { index in
                let masks = SourceMasking.masks(UnsafeBufferPointer(rebasing: all[(index * stems * plane)..<((index + 1) * stems * plane)]), stems: stems, normalisation: .acrossStems)
                guard !settings.timeMajor else { return masks }
                var timeMajor = [Float](repeating: 0, count: masks.count)
                for s in 0..<stems { for f in 0..<bins { for t in 0..<frames { timeMajor[s * plane + t * bins + f] = masks[s * plane + f * frames + t] } } }
                return timeMajor
            }
        }
    }
}
