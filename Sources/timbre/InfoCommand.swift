import ArgumentParser
import Foundation
import TimbreConsole
import TimbreModel
import TimbreNN
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
        if let path = model, (try? FileProbe.check(path, as: .separator)) != nil, let separator = try? SeparatorModel.read(from: URL(fileURLWithPath: path)) {
            describe(separator, path: path)
            return
        }
        let file = try reportingErrors {
            try ModelOption.load(model)
        }
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
        ResultOutput.line("model: \(model ?? "bundled")")
        ResultOutput.line("classes: \(file.features.classCodes.joined(separator: " "))")
        ResultOutput.line("file format: version 1 (classifier)")
        ResultOutput.line("network: " + Self.layers(file.architecture))
        ResultOutput.line("output: \(file.architecture.output.rawValue), \(file.weights.count) parameters, input \(file.architecture.inputShape)")
        let settings = file.features.settings
        ResultOutput.line("features: log-mel, \(settings.nMels) bands, FFT \(settings.nFFT), hop \(settings.hopLength) at \(settings.sampleRate) Hz, "
              + String(format: "%.1f-s clips, gate %.0f dBFS", settings.clipSeconds, settings.rmsThresholdDB))
        if let temperature = file.architecture.temperature { ResultOutput.line(String(format: "calibration: temperature %.3f", temperature)) }
        if let perClass {
            ResultOutput.line("thresholds: " + zip(file.features.classCodes, perClass).map { "\($0) \(String(format: "%.2f", $1))" }.joined(separator: ", "))
        } else {
            ResultOutput.line(String(format: "threshold: %.2f", threshold))
        }
        if let summary = summary as? [String: Any] {
            if let best = summary["bestEpoch"] { ResultOutput.line("best epoch: \(best)") }
            if let clips = summary["trainingClips"] { ResultOutput.line("training clips: \(clips)") }
            if let features = summary["features"] { ResultOutput.line("trained on: \(features)") }
            if let validation = summary["validation"] { ResultOutput.line("validated on: \(validation)") }
            if let calibration = summary["calibration"] as? [String: Double], let before = calibration["ece_before"], let after = calibration["ece_after"] {
                ResultOutput.line(String(format: "expected calibration error on validation: %.3f before, %.3f after", before, after))
            }
            if let history = summary["history"] as? [[String: Any]], let last = history.last,
               let loss = last["validationLoss"] as? Double, let accuracy = last["validationAccuracy"] as? Double {
                ResultOutput.line(String(format: "last epoch on validation: loss %.4f, top-1 error %.1f%%", loss, (1 - accuracy) * 100))
            }
        }
    }

    /// The layers in one line: "standardise → conv 3×3×64 → ReLU → max-pool 2 → …".
    static func layers(_ architecture: Architecture) -> String {
        func name(_ layer: Architecture.LayerSpec) -> String {
            switch layer {
            case .standardize: return "standardise"
            case .centreBands: return "centre bands"
            case .conv2d(let filters, let kernel): return "conv \(kernel)×\(kernel)×\(filters)"
            case .batchNorm: return "batch norm"
            case .relu: return "ReLU"
            case .maxPool(let size): return "max-pool \(size)"
            case .maxOverTime: return "max over time"
            case .dropout(let rate): return "dropout \(rate)"
            case .flatten: return "flatten"
            case .dense(let units): return "dense \(units)"
            }
        }
        return architecture.layers.map(name).joined(separator: " → ")
    }

    private func describe(_ separator: SeparatorModel, path: String) {
        let s = separator.settings
        if json {
            let settings = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(s))) ?? [:]
            var object: [String: Any] = ["kind": "separator", "settings": settings, "parameters": separator.store.count]
            if !separator.members.isEmpty {
                object["members"] = separator.members.map { member -> [String: Any] in
                    ["name": member.name, "weight": member.weight, "architecture": member.settings.architecture]
                }
            }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) { print(String(decoding: data, as: UTF8.self)) }
            return
        }
        ResultOutput.line("model: \(path)")
        ResultOutput.line("separator: \(s.architecture)\(s.mode.isEmpty ? "" : " (\(s.mode))"), \(separator.store.count) parameters")
        for member in separator.members {
            ResultOutput.line("member: \(member.name), \(member.settings.architecture)\(member.settings.mode.isEmpty ? "" : " (\(member.settings.mode))"), weight \(String(format: "%.3f", member.weight))")
        }
        ResultOutput.line("stems: \(s.stems.map(\.rawValue).joined(separator: " "))")
        ResultOutput.line("STFT: \(s.fftSize)/\(s.hopLength) at \(s.sampleRate) Hz, \(s.bins) bins, chunks of \(s.frames) frames")
    }
}
