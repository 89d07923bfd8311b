import ArgumentParser
import Foundation
import TimbreModel
import TimbreSeparation
import TimbreTraining

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a model file: classes, network, features and how it was trained.",
        discussion: """
            Prints the model's classes, its output (softmax or sigmoid), its decision \
            thresholds and a summary of its training. --json prints the stored description \
            as one JSON object (architecture, class codes, training summary) for scripts.
            """
    )

    @Argument(help: "Model file (default: the bundled model).")
    var model: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        // A version-2 file that holds separator settings is described as a separator.
        if let path = model, let separator = try? SeparatorModel.read(from: URL(fileURLWithPath: path)) {
            describe(separator, path: path)
            return
        }
        let file = try reportingErrors { try model.map { try ModelFile.read(from: URL(fileURLWithPath: $0)) } ?? BundledModel.load() }
        let summary = (try? JSONSerialization.jsonObject(with: Data(file.trainingSummary.utf8))) ?? [:]
        let architecture = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(file.architecture))) ?? [:]
        if json {
            let object: [String: Any] = ["class_codes": file.features.classCodes, "class_names": file.features.classNames,
                                         "architecture": architecture, "training_summary": summary, "parameters": file.weights.count]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let (threshold, perClass) = file.decisionThresholds(override: nil)
        print("model: \(model ?? "bundled")")
        print("classes: \(file.features.classCodes.joined(separator: " "))")
        print("output: \(file.architecture.output.rawValue), \(file.weights.count) parameters, input \(file.architecture.inputShape)")
        if let perClass {
            print("thresholds: " + zip(file.features.classCodes, perClass).map { "\($0) \(String(format: "%.2f", $1))" }.joined(separator: ", "))
        } else {
            print(String(format: "threshold: %.2f", threshold))
        }
        if let summary = summary as? [String: Any] {
            if let best = summary["bestEpoch"] { print("best epoch: \(best)") }
            if let clips = summary["trainingClips"] { print("training clips: \(clips)") }
            if let features = summary["features"] { print("trained on: \(features)") }
            if let validation = summary["validation"] { print("validated on: \(validation)") }
        }
    }

    private func describe(_ separator: SeparatorModel, path: String) {
        let s = separator.settings
        if json {
            let settings = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(s))) ?? [:]
            let object: [String: Any] = ["kind": "separator", "settings": settings, "parameters": separator.store.count]
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) { print(String(decoding: data, as: UTF8.self)) }
            return
        }
        print("model: \(path)")
        print("separator: \(s.architecture)\(s.mode.isEmpty ? "" : " (\(s.mode))"), \(separator.store.count) parameters")
        print("stems: \(s.stems.map(\.rawValue).joined(separator: " "))")
        print("STFT: \(s.fftSize)/\(s.hopLength) at \(s.sampleRate) Hz, \(s.bins) bins, chunks of \(s.frames) frames")
    }
}
