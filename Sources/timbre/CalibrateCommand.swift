import ArgumentParser
import Foundation
import TimbreConsole
import TimbreCore
import TimbreTraining

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Make a model's probabilities honest (a temperature), or choose its tag thresholds, on labelled features.",
        discussion: """
            Temperature scaling: one number divides the network's logits so that, over the \
            clips given, a class reported with probability p is right about a fraction p of \
            the time. The ranking of the classes does not change. Prints the expected \
            calibration error before and after (of the top class for a softmax model, of every \
            class's probability for a sigmoid one), and writes the model with the \
            temperature (a sigmoid model's thresholds are moved to keep its decisions). \
            `timbre train` already does this on its validation clips.

            With --thresholds it leaves the probabilities alone and chooses one decision \
            threshold per class instead, together, for the highest micro F1 over the clips \
            given (the most probable class is always reported). Give it labelled clips of \
            the material it will tag, from sources the model did not train on, solo clips and \
            song mixes together. Micro F1 favours the classes that fill most true tags: on \
            band mixes it can raise the others until they are seldom named. With --per-class \
            each class gets the threshold of its own best F1 instead, as `train` chooses them \
            on its validation clips; a class no clip holds keeps its threshold. The model's \
            training summary records the files, the clips holding each class and the choice.

            With --statistics (a model trained with --batch-norm) it keeps every weight and \
            re-estimates each batch norm's running mean and variance on the clips given, \
            labels unused (AdaBN).

            Examples:
              timbre calibrate --model model.h5 held-out.h5 -o calibrated.h5
              timbre calibrate held-out.h5 -o calibrated.h5        (the bundled model)
              timbre calibrate --model model.h5 --thresholds held-out-songs.h5 -o tuned.h5
              timbre calibrate --model model.h5 --thresholds --per-class held-out.h5 held-out-songs.h5 -o tuned.h5
              timbre calibrate --model normalised.h5 --statistics collection.h5 -o adapted.h5
            """
    )

    @OptionGroup var model: ModelOption

    @Argument(help: "Labelled feature files to fit the temperature on (sources the model should be honest on).")
    var features: [String]

    @Option(name: .shortAndLong, help: "Model file to write.")
    var output: String

    @Flag(help: "Choose per-class tag thresholds for the highest micro F1 instead of fitting a temperature.")
    var thresholds = false

    @Flag(help: "With --thresholds: each class at its own best F1, not all together for micro F1.")
    var perClass = false

    @Flag(help: "Re-estimate the batch norms' running statistics on the clips given, labels unused (a model trained with --batch-norm).")
    var statistics = false

    func validate() throws {
        if perClass && !thresholds { throw ValidationError("--per-class chooses thresholds; give --thresholds too") }
        if statistics && thresholds { throw ValidationError("--statistics and --thresholds are separate calibrations; run one, then the other") }
    }

    func run() throws {
        if thresholds { return try chooseThresholds() }
        if statistics { return try adaptStatistics() }
        let outcome = try reportingErrors { () -> ModelCalibration.Outcome in
            var file = try checkedModel()
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

    private func chooseThresholds() throws {
        let (choice, codes) = try reportingErrors { () -> (ModelCalibration.ThresholdChoice, [String]) in
            var file = try checkedModel()
            let choice = try ModelCalibration.chooseThresholds(&file, on: features.map { URL(fileURLWithPath: $0) },
                                                               objective: perClass ? .eachClass : .microF1)
            try file.write(to: URL(fileURLWithPath: output), slices: try file.makeModel().parameters.slices)
            return (choice, file.features.classCodes)
        }
        let moved = zip(codes, zip(choice.before, choice.after)).map { String(format: "%@ %.2f→%.2f", $0, $1.0, $1.1) }
        print(String(format: "wrote %@: thresholds chosen on %d clips; micro F1 %.4f → %.4f", output, choice.clips, choice.microF1Before, choice.microF1After))
        print("thresholds: " + moved.joined(separator: ", "))
    }

    private func adaptStatistics() throws {
        let clips = try reportingErrors { () -> Int in
            var file = try checkedModel()
            let clips = try ModelCalibration.adaptStatistics(&file, on: features.map { URL(fileURLWithPath: $0) })
            try file.write(to: URL(fileURLWithPath: output), slices: try file.makeModel().parameters.slices)
            return clips
        }
        print("wrote \(output): batch-norm statistics re-estimated on \(clips) clips")
    }

    /// The model, once the output and the feature files have passed their checks.
    private func checkedModel() throws -> ModelFile {
        try OutputPath.checkFile(URL(fileURLWithPath: output))
        try OutputPath.checkNotAnInput(URL(fileURLWithPath: output), inputs: features)
        try FileProbe.check(features, as: .features)
        return try model.load()
    }
}
