import Foundation
import TimbreCore

/// The label tables shipped with Timbre: the class taxonomy and the maps from other
/// vocabularies (MedleyDB instrument names, General MIDI programs, folder names) to its codes.
///
/// The CSV files beside this source are the single source of truth; they are bundled as
/// resources so an installed `timbre` carries them.
public enum LabelTables {
    /// `code,name,family` for every class of the default taxonomy.
    public static var taxonomy: URL { url("taxonomy") }
    /// `instrument,code` for MedleyDB stem instrument names (empty code: no class).
    public static var medleyDB: URL { url("medleydb") }
    /// `program,name,code` for the 128 General MIDI programs and the percussion channel.
    public static var generalMIDI: URL { url("general-midi") }
    /// `name,code` for folder names used by folder-per-class collections.
    public static var folderNames: URL { url("folder-names") }
    /// `instrument,group` for MedleyDB stem instrument names: the separation target
    /// (vocals, drums, bass, other) a stem belongs to, as MUSDB18 groups its stems.
    public static var separationGroups: URL { url("separation-groups") }
    /// `family,code,kind,location,presets,role`: the instruments `timbre synth` plays,
    /// by sound source.
    public static var soundSources: URL { url("sound-sources") }

    /// The installed or copied resource folder first (`ResourceFolders`), then the build's.
    private static func url(_ name: String) -> URL {
        if let url = ResourceFolders.locate("Timbre_TimbreLabels.resources/\(name).csv") { return url }
        guard let url = Bundle.module.url(forResource: name, withExtension: "csv") else {
            fatalError("Timbre's label table \(name).csv is missing from its resource bundle")
        }
        return url
    }
}
