import Foundation
import TimbreTraining

/// The default instrument model shipped with Timbre (reproduced by `make model`), used
/// whenever a command is given no `--model`.
public enum BundledModel {
    /// Location of the model file inside the installed resources.
    public static var url: URL? { Bundle.module.url(forResource: "default-model", withExtension: "h5") }

    public static func load() throws -> ModelFile {
        guard let url else { throw TrainingError("this build of timbre has no bundled default model; pass --model") }
        return try ModelFile.read(from: url)
    }
}
