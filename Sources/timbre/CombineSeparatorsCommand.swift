import ArgumentParser
import Foundation
import TimbreCore
import TimbreSeparation

struct CombineSeparatorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "combine-separators",
        abstract: "Join trained separator networks into one ensemble separator file.",
        discussion: """
            The ensemble's masks are the weighted mean of its networks' masks (each \
            normalised across stems first), so its stems still add up to the mix. The \
            networks must share the STFT, chunk length and stems; each keeps its own input \
            standardisation. Separating takes one network pass per member.

            Example:
              timbre combine-separators tcn-seed1.h5 tcn-seed2.h5 -o ensemble.h5
            """
    )

    @Argument(help: "Separator networks (not the floor, not ensembles), 2 to \(SeparatorModel.maximumMembers).")
    var separators: [String]

    @Option(help: "Comma-separated weight of each separator (default: equal).")
    var weights: String?

    @Option(name: .shortAndLong, help: "Ensemble separator file to write.")
    var output: String

    func validate() throws {
        guard (2...SeparatorModel.maximumMembers).contains(separators.count) else {
            throw ValidationError("give 2 to \(SeparatorModel.maximumMembers) separators, not \(separators.count)")
        }
        if let weights {
            let values = weights.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard values.count == separators.count, values.allSatisfy({ ($0 ?? -1) > 0 && $0!.isFinite }) else {
                throw ValidationError("--weights needs \(separators.count) positive numbers, one per separator")
            }
        }
    }

    func run() throws {
        let destination = URL(fileURLWithPath: output)
        let shares = weights.map { $0.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces))! } }
            ?? [Float](repeating: 1, count: separators.count)
        let ensemble = try reportingErrors { () -> SeparatorModel in
            try OutputPath.checkFile(destination)
            try OutputPath.checkNotAnInput(destination, inputs: separators)
            try FileProbe.check(separators, as: .separator)
            let models = try separators.map { try SeparatorModel.read(from: URL(fileURLWithPath: $0)) }
            for (path, model) in zip(separators, models) where model.isFloor || !model.members.isEmpty {
                throw FileError(path: path, reason: "is \(model.isFloor ? "the floor" : "an ensemble"); an ensemble joins single networks")
            }
            let ensemble = try SeparatorModel.ensemble(Array(zip(models, shares)))
            try ensemble.write(to: destination)
            return ensemble
        }
        let members = ensemble.members.map { "\($0.settings.architecture) \(String(format: "%.3f", $0.weight))" }.joined(separator: ", ")
        print("wrote \(output): an ensemble of \(separators.count) separators (\(members)), \(ensemble.store.count) parameters")
    }
}
