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

    /// Each separator's weight: those of --weights when they are one positive number per
    /// separator, equal ones without it, nil otherwise.
    private var shares: [Float]? {
        guard let weights else { return [Float](repeating: 1, count: separators.count) }
        let values = weights.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        return values.count == separators.count && values.allSatisfy({ $0 > 0 && $0.isFinite }) ? values : nil
    }

    func validate() throws {
        guard (2...SeparatorModel.maximumMembers).contains(separators.count) else {
            throw ValidationError("give 2 to \(SeparatorModel.maximumMembers) separators, not \(separators.count)")
        }
        guard shares != nil else { throw ValidationError("--weights needs \(separators.count) positive numbers, one per separator") }
    }

    func run() throws {
        let destination = URL(fileURLWithPath: output)
        let shares = self.shares!
        let ensemble = try reportingErrors { () -> SeparatorModel in
            try OutputPath.checkFile(destination)
            try OutputPath.checkNotAnInput(destination, inputs: separators)
            try FileProbe.check(separators, as: .separator)
            let models = try separators.map { try SeparatorModel.read(from: URL(fileURLWithPath: $0)) }
            for (path, model) in zip(separators, models) {
                if let problem = SeparatorModel.memberProblem(model) { throw FileError(path: path, reason: problem) }
            }
            let ensemble = try SeparatorModel.ensemble(Array(zip(models, shares)))
            try ensemble.write(to: destination)
            return ensemble
        }
        let members = ensemble.members.map { "\($0.settings.architecture) \(String(format: "%.3f", $0.weight))" }.joined(separator: ", ")
        print("wrote \(output): an ensemble of \(separators.count) separators (\(members)), \(ensemble.store.count) parameters")
    }
}
