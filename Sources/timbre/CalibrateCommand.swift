import ArgumentParser
import Foundation
import TimbreConsole
import TimbreCore
import TimbreTraining

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Make a model's probabilities honest: fit a temperature on labelled features.",
        discussion: """
            Temperature scaling: one number divides the network's logits so that, over the \
            clips given, a class reported with probability p is right about a fraction p of \
            the time. The ranking of the classes does not change. Prints the expected \
            calibration error before and after (of the top class for a softmax model, of every \
            class's probability for a sigmoid one), and writes the model with the \
            temperature (a sigmoid model's thresholds are moved to keep its decisions). \
            `timbre train` already does this on its validation clips.

            Examples:
              timbre calibrate --model model.h5 held-out.h5 -o calibrated.h5
              timbre calibrate held-out.h5 -o calibrated.h5        (the bundled model)
            """
    )

    @OptionGroup var model: ModelOption

    @Argument(help: "Labelled feature files to fit the temperature on (sources the model should be honest on).")
    var features: [String]

    @Option(name: .shortAndLong, help: "Model file to write.")
    var output: String

    func run() throws {
        let outcome = try reportingErrors { () -> ModelCalibration.Outcome in
            try OutputPath.checkFile(URL(fileURLWithPath: output))
            try OutputPath.checkNotAnInput(URL(fileURLWithPath: output), inputs: features)
            try FileProbe.check(features, as: .features)
            var file = try model.load()
            let outcome = try ModelCalibration.calibrate(&file, on: features.map { URL(fileURLWithPath: $0) })
            try file.write(to: URL(fileURLWithPath: output), slices: try file.makeModel().parameters.slices)
            return outcome
        }
        let c = outcome.calibration
        if outcome.keptSoftmaxThresholds {
            Terminal.printError("timbre: note: this softmax model's multi-label thresholds were not moved; its multi-label decisions may change")
        }
        print(String(format: "wrote %@: temperature %.3f fitted on %d clips; expected calibration error %.3f → %.3f",
                     output, c.temperature, outcome.clips, c.eceBefore, c.eceAfter))
    }
}
