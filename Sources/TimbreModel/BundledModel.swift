import Foundation
import TimbreCore
import TimbreTraining

/// The default instrument model shipped with Timbre (reproduced by `make model`), used
/// whenever a command is given no `--model`.
public enum BundledModel {
    /// Location of the model file among the executable's resources, or nil when the
    /// resource folder did not travel with the binary.
    public static var url: URL? { ResourceFolders.locate("Timbre_TimbreModel.resources/default-model.h5") }

    public static func load() throws -> ModelFile {
        guard let url else {
            throw TrainingError("the bundled default model is missing (Timbre_TimbreModel.resources must sit beside the timbre executable or in PREFIX/share/timbre); pass --model")
        }
        try BundledResource.verify(url)
        return try ModelFile.read(from: url)
    }
}
