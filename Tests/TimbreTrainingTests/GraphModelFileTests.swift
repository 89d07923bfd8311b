import Foundation
import TimbreCore
import TimbreHDF5
import TimbreNN
import TimbreStore
import Testing
@testable import TimbreTraining
import TimbreTestSupport

/// Version-2 model files: a graph with skips, two outputs and batch norm survives the round
/// trip exactly; files that do not fit their own description fail in one line.
@Suite struct GraphModelFileTests {
    static let spec = GraphSpec(
        inputs: [.init(name: "mixture", shape: [1, 8, 8])],
        nodes: [
            .init("encoder/block1/conv", .convolution(filters: 3, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1), inputs: ["mixture"]),
            .init("encoder/block1/act", .leakyReLU(slope: 0.2), inputs: ["encoder/block1/conv"]),
            .init("encoder/block2/conv", .convolution(filters: 4, kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1), inputs: ["encoder/block1/act"]),
            .init("encoder/block2/norm", .batchNorm, inputs: ["encoder/block2/conv"]),
            .init("decoder/vocals/up", .transposedConvolution(filters: 3, kernel: [2, 2], stride: [2, 2], padding: [0, 0], outputPadding: [0, 0]), inputs: ["encoder/block2/norm"]),
            .init("decoder/vocals/skip", .concat, inputs: ["decoder/vocals/up", "encoder/block1/act"]),
            .init("decoder/vocals/mask", .convolution(filters: 1, kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1), inputs: ["decoder/vocals/skip"]),
            .init("vocals", .sigmoid, inputs: ["decoder/vocals/mask"]),
            .init("decoder/drums/up", .upsample(factor: [2, 2]), inputs: ["encoder/block2/norm"]),
            .init("drums", .tanh, inputs: ["decoder/drums/up"]),
        ],
        outputs: ["vocals", "drums"])

    @Test func aRoundTripKeepsEveryValueAndTheOutputs() throws {
        let store = ParameterStore()
        let (graph, norms) = try Self.spec.build(store: store)
        var generator = SeededGenerator(seed: 9)
        graph.initializeParameters(using: &generator)
        for i in 0..<store.count { store.values[i] += Float(i % 7) * 0.01 }
        // Moves the running statistics away from their starting values.
        let input = Tensor(shape: [2, 1, 8, 8], data: (0..<128).map { sin(Float($0)) })
        _ = graph.forward(["mixture": input], context: ForwardContext(training: true))
        let expected = graph.forward(["mixture": input], context: ForwardContext(training: false))

        let url = scratchFolder("graph-model").appendingPathComponent("separator.h5")
        var model = GraphModelFile(graph: Self.spec, store: store, batchNorms: norms)
        model.modelInfo = #"{"sources": ["vocals", "drums"]}"#
        try model.write(to: url)
        let file = try HDF5File(opening: url)
        #expect(file.exists("weights/encoder/block2/conv/kernel") && file.exists("state/encoder/block2/norm/running_mean"))
        #expect(try file.dataset("weights/decoder/vocals/up/kernel").shape == [4, 3, 2, 2])

        let read = try GraphModelFile.read(from: url)
        #expect(read.graph == Self.spec && read.modelInfo == model.modelInfo)
        let (rebuilt, _) = try read.makeModel()
        let outputs = rebuilt.forward(["mixture": input], context: ForwardContext(training: false))
        #expect(outputs["vocals"] == expected["vocals"] && outputs["drums"] == expected["drums"])
        #expect(norms["encoder/block2/norm"]!.runningMean != [0, 0, 0, 0])
    }

    /// A write that fails part-way leaves the file that was there as it was and no hidden
    /// partial file beside it.
    @Test func aFailedWriteLeavesTheOldFileAndNoPartialFile() throws {
        let store = ParameterStore()
        let (_, norms) = try Self.spec.build(store: store)
        let folder = scratchFolder("graph-model-failed-write")
        let url = folder.appendingPathComponent("separator.h5")
        let good = GraphModelFile(graph: Self.spec, store: store, batchNorms: norms)
        try good.write(to: url)
        var broken = good
        broken.weights["decoder/vocals/mask/kernel"] = nil
        #expect(throws: FileError.self) { try broken.write(to: url) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["separator.h5"])
        #expect(try GraphModelFile.read(from: url).weights == good.weights)
    }

    /// Writes a file with the given graph JSON and no weights, or with the weights of `spec`.
    func craft(_ url: URL, version: Int = 2, graph json: String, weightsOf spec: GraphSpec? = nil, damage: String? = nil) throws {
        let file = try HDF5File(creating: url)
        try file.setAttribute("model_format_version", .int(version))
        try file.setAttribute("graph", .string(json))
        if let spec {
            let store = ParameterStore()
            _ = try spec.build(store: store)
            for slice in store.slices {
                let name = "weights/\(slice.name)"
                try file.createGroup((name as NSString).deletingLastPathComponent)
                let shape = name == damage ? [slice.count + 1] : slice.shape
                try file.createDataset(name, of: Float.self, shape: shape).writeRows([Float](repeating: 0.5, count: shape.reduce(1, *)))
            }
        }
        try file.flush()
    }

    func readError(_ url: URL) -> String {
        do {
            _ = try GraphModelFile.read(from: url)
            return "read without error"
        } catch {
            return "\(error)"
        }
    }

    @Test func untrustedFilesFailInOneLine() throws {
        let root = scratchFolder("graph-model")
        let specJSON = String(decoding: try JSONEncoder().encode(Self.spec), as: UTF8.self)
        let cases: [(String, String, GraphSpec?, String?, Int, String)] = [
            ("unknown-kind", specJSON.replacingOccurrences(of: "\"sigmoid\"", with: "\"teleport\""), nil, nil, 2, "cannot be read"),
            ("huge", specJSON.replacingOccurrences(of: "[1,8,8]", with: "[1,1073741824,1073741824]"), nil, nil, 2, "impossible shape"),
            ("kernel-too-big", specJSON.replacingOccurrences(of: "\"kernel\":[3,3]", with: "\"kernel\":[30,3]"), nil, nil, 2, "does not fit"),
            ("dangling", specJSON.replacingOccurrences(of: "\"inputs\":[\"encoder\\/block2\\/conv\"]", with: "\"inputs\":[\"nowhere\"]"), nil, nil, 2, "does not exist before it"),
            ("missing-weights", specJSON, nil, nil, 2, "is missing"),
            ("wrong-shape", specJSON, Self.spec, "weights/decoder/vocals/mask/kernel", 2, "the graph needs"),
            ("old-version", specJSON, nil, nil, 1, "version-1 model"),
        ]
        for (name, json, weights, damage, version, message) in cases {
            let url = root.appendingPathComponent("\(name).h5")
            try craft(url, version: version, graph: json, weightsOf: weights, damage: damage)
            let error = readError(url)
            #expect(error.contains(message) && error.contains(url.path) && !error.contains("\n"), "\(name): \(error)")
        }
    }
}

/// Version-1 classifier files with a crafted architecture or weights fail in one line.
@Suite struct ClassifierModelFileTrustTests {
    @Test func craftedArchitecturesAndWeightsAreRefused() throws {
        let folder = scratchFolder("v1")
        defer { try? FileManager.default.removeItem(at: folder) }
        let architecture = Architecture.instrumentCNN(classes: 3, inputShape: [1, 24, 25], filters: 4, hidden: 8)
        let model = Sequential(architecture)
        let metadata = FeatureFileMetadata(classCodes: ["a", "b", "c"], classNames: ["A", "B", "C"],
                                           settings: smallSettings(), resampler: "x")
        let good = folder.appendingPathComponent("good.h5")
        try ModelFile(architecture: architecture, features: metadata, weights: model.parameters.valueArray).write(to: good, slices: model.parameters.slices)
        let json = String(decoding: try JSONEncoder().encode(architecture), as: UTF8.self)
        let cases: [(String, String, String)] = [
            ("absurd-input", json.replacingOccurrences(of: "[1,24,25]", with: "[1,1073741824,1073741824]"), "input shape"),
            ("even-kernel", json.replacingOccurrences(of: "\"kernel\":3", with: "\"kernel\":4"), "convolution"),
            ("unknown-kind", json.replacingOccurrences(of: "\"flatten\"", with: "\"teleport\""), "cannot be read"),
            ("too-few-outputs", json.replacingOccurrences(of: "\"units\":3", with: "\"units\":2"), "3 classes"),
            ("pool-too-big", json.replacingOccurrences(of: "\"size\":2", with: "\"size\":99"), "max-pooling"),
        ]
        for (name, text, message) in cases {
            let url = folder.appendingPathComponent("\(name).h5")
            try FileManager.default.copyItem(at: good, to: url)
            let file = try HDF5File(opening: url, mode: .readWrite)
            try file.setAttribute("architecture", .string(text))
            try file.flush()
            let error = "\(#expect(throws: Error.self) { try ModelFile.read(from: url) }!)"
            #expect(error.contains(message) && error.contains(url.path) && !error.contains("\n"), "\(name): \(error)")
        }
    }
}
