import Foundation
import TimbreCore
import TimbreSeparation

/// The default separator shipped with Timbre (reproduced by `make separator-model`), used
/// by `timbre separate` and `timbre tag --separate` when given no `--model`.
public enum BundledSeparator {
    public static var url: URL? { ResourceFolders.locate("Timbre_TimbreModel.resources/default-separator.h5") }

    public static func load() throws -> SeparatorModel {
        guard let url else {
            throw FileError(path: "default-separator.h5", reason: "the bundled separator is missing (Timbre_TimbreModel.resources must sit beside the timbre executable or in PREFIX/share/timbre); pass --model")
        }
        try BundledResource.verify(url)
        return try SeparatorModel.read(from: url)
    }
}
