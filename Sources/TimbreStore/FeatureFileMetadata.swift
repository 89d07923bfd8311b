import TimbreDSP
import TimbreHDF5
import TimbreCore

/// Everything a feature file says about how its clips were made: the class vocabulary,
/// the feature settings and provenance. Stored as root attributes (DESIGN.md).
public struct FeatureFileMetadata: Equatable, Sendable {
    /// Bumped when the layout of the file changes incompatibly.
    public static let currentFormatVersion = 1
    /// The version of Timbre written into files and models.
    public static let timbreVersion = "0.1.0"

    public var classCodes: [String]
    public var classNames: [String]
    public var settings: FeatureSettings
    /// e.g. "libsamplerate sinc_medium".
    public var resampler: String
    public var formatVersion = currentFormatVersion
    public var timbreVersion = FeatureFileMetadata.timbreVersion
    /// Input roots the clips came from, as given on the command line.
    public var inputs: [String] = []
    /// The layout each input was read as, in the same order.
    public var layouts: [String] = []
    /// "K/N" when the file holds one shard of its inputs (`prepare --shard`).
    public var shard: String?

    public init(classCodes: [String], classNames: [String], settings: FeatureSettings, resampler: String) {
        self.classCodes = classCodes
        self.classNames = classNames
        self.settings = settings
        self.resampler = resampler
    }

    public func write(to holder: some HDF5AttributeHolder) throws {
        let s = settings
        let attributes: [(String, HDF5AttributeValue)] = [
            ("class_codes", .strings(classCodes)), ("class_names", .strings(classNames)),
            ("sample_rate", .int(s.sampleRate)), ("n_fft", .int(s.nFFT)), ("hop_length", .int(s.hopLength)),
            ("n_mels", .int(s.nMels)), ("fmin", .double(s.fmin)), ("fmax", .double(s.effectiveFmax)),
            ("clip_seconds", .double(s.clipSeconds)), ("clip_hop_seconds", .double(s.clipHopSeconds)),
            ("rms_threshold_db", .double(s.rmsThresholdDB)), ("min_last_clip_seconds", .double(s.minLastClipSeconds)),
            ("top_db", .double(s.topDB)), ("amin", .double(s.amin)),
            ("window", .string("hann")), ("center", .int(1)), ("power", .double(2)), ("mel_scale", .string("slaney")),
            ("mel_norm", .string("slaney")), ("resampler", .string(resampler)),
            ("format_version", .int(formatVersion)), ("timbre_version", .string(timbreVersion)),
            ("inputs", .strings(inputs)), ("layouts", .strings(layouts)),
        ]
        for (name, value) in attributes { try holder.setAttribute(name, value) }
        if let shard { try holder.setAttribute("shard", .string(shard)) }
    }

    /// Reads the metadata back; missing required attributes are an error naming them.
    public static func read(from holder: some HDF5AttributeHolder) throws -> FeatureFileMetadata {
        func value(_ name: String) throws -> HDF5AttributeValue {
            guard let value = try holder.attribute(name) else {
                throw FileError(path: holder.path, reason: "is not a Timbre feature file (attribute \(name) missing)")
            }
            return value
        }
        func int(_ name: String) throws -> Int {
            guard let v = try value(name).intValue else { throw FileError(path: holder.path, reason: "attribute \(name) is not an integer") }
            return v
        }
        func double(_ name: String) throws -> Double {
            guard let v = try value(name).doubleValue else { throw FileError(path: holder.path, reason: "attribute \(name) is not a number") }
            return v
        }
        var settings = FeatureSettings()
        settings.sampleRate = try int("sample_rate")
        settings.nFFT = try int("n_fft")
        settings.hopLength = try int("hop_length")
        settings.nMels = try int("n_mels")
        settings.fmin = try double("fmin")
        let fmax = try double("fmax")
        settings.fmax = fmax == Double(settings.sampleRate) / 2 ? nil : fmax
        settings.clipSeconds = try double("clip_seconds")
        settings.clipHopSeconds = try double("clip_hop_seconds")
        settings.rmsThresholdDB = try double("rms_threshold_db")
        if let v = try holder.attribute("min_last_clip_seconds")?.doubleValue { settings.minLastClipSeconds = v }
        if let v = try holder.attribute("top_db")?.doubleValue { settings.topDB = v }
        if let v = try holder.attribute("amin")?.doubleValue { settings.amin = v }
        if let problem = settings.problem { throw FileError(path: holder.path, reason: "feature settings cannot be used: \(problem)") }
        var metadata = FeatureFileMetadata(
            classCodes: try value("class_codes").stringsValue ?? [],
            classNames: try value("class_names").stringsValue ?? [],
            settings: settings,
            resampler: try value("resampler").stringValue ?? "")
        metadata.formatVersion = try int("format_version")
        metadata.timbreVersion = try value("timbre_version").stringValue ?? ""
        metadata.inputs = try holder.attribute("inputs")?.stringsValue ?? []
        metadata.layouts = try holder.attribute("layouts")?.stringsValue ?? []
        metadata.shard = try holder.attribute("shard")?.stringValue
        return metadata
    }
}
