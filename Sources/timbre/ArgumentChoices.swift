import ArgumentParser
import TimbreAudio
import TimbreDatasets
import TimbreSeparation
import TimbreSynth
import TimbreTagging

// Every option that picks one of a few named choices is an enum: a misspelt value is a
// usage error that lists the choices, never a silent default, and --help shows them.

extension ResamplerQuality: ExpressibleByArgument {}
extension SynthSplit: ExpressibleByArgument {}
extension MultitrackClips: ExpressibleByArgument {}
extension TagFormat: ExpressibleByArgument {}
extension SeparatorTrainingOptions.Mode: ExpressibleByArgument {}

/// A dataset layout, or `auto`: detect it from the folder.
enum LayoutChoice: String, CaseIterable, ExpressibleByArgument {
    case auto, irmas, irmasTest = "irmas-test", medleydb, folders

    /// The layout asked for; nil for `auto`.
    var layout: DatasetLayout? { DatasetLayout(rawValue: rawValue) }
}

/// What `separate` writes each stem as.
enum StemFileFormat: String, CaseIterable, ExpressibleByArgument {
    case wav, wav16, wav24, float, flac

    var fileFormat: AudioFileFormat {
        switch self {
        case .wav, .wav16: return .wav16
        case .wav24: return .wav24
        case .float: return .wavFloat
        case .flac: return .flac24
        }
    }

    var fileExtension: String { self == .flac ? "flac" : "wav" }
}

/// A separator family, or the network-free floor of fixed per-frequency masks.
enum SeparatorChoice: String, CaseIterable, ExpressibleByArgument {
    case chandna, multitask, sams, tcn, floor

    var architecture: SeparatorArchitecture? { SeparatorArchitecture(rawValue: rawValue) }
}

/// The separator's training loss.
enum SeparatorLossChoice: String, CaseIterable, ExpressibleByArgument {
    case l1, discriminative
}
