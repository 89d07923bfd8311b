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
    /// "mixes" or "stems" when the multitrack songs gave only those clips
    /// (`prepare --multitrack-clips`); nil when they gave both.
    public var multitrackClips: String?
    /// The class codes whose stems gave stem clips (`prepare --stem-clip-classes`); nil
    /// when every stem did.
    public var stemClipClasses: [String]?

    public init(classCodes: [String], classNames: [String], settings: FeatureSettings, resampler: String) {
        self.classCodes = classCodes
        self.classNames = classNames
        self.settings = settings
        self.resampler = resampler
    }

    public func write(to holder: some HDF5AttributeHolder) throws {
        let settingAttributes = FeatureSettings.fields.map { field -> (String, HDF5AttributeValue) in
            let value = field.get(settings)
            return (field.name, field.isInteger ? .int(Int(value)) : .double(value))
        }
        let attributes: [(String, HDF5AttributeValue)] = [("class_codes", .strings(classCodes)), ("class_names", .strings(classNames))] + settingAttributes + [
            ("window", .string("hann")), ("center", .int(1)), ("power", .double(2)), ("mel_scale", .string("slaney")),
            ("mel_norm", .string("slaney")), ("resampler", .string(resampler)),
            ("format_version", .int(formatVersion)), ("timbre_version", .string(timbreVersion)),
            ("inputs", .strings(inputs)), ("layouts", .strings(layouts)),
        ]
        for (name, value) in attributes { try holder.setAttribute(name, value) }
        if let shard { try holder.setAttribute("shard", .string(shard)) }
        if let multitrackClips { try holder.setAttribute("multitrack_clips", .string(multitrackClips)) }
        if let stemClipClasses { try holder.setAttribute("stem_clip_classes", .strings(stemClipClasses)) }
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
        for field in FeatureSettings.fields {
            if field.isOptionalInFiles, try holder.attribute(field.name) == nil { continue }
            let value = field.isInteger ? Double(try int(field.name)) : try double(field.name)
            // An integer setting beyond what a Double holds exactly is out of range anyway.
            field.set(&settings, field.isInteger && !(abs(value) < 0x1p52) ? -1 : value)
        }
        if let problem = settings.problem { throw FileError(path: holder.path, reason: "feature settings cannot be used: \(problem)") }
        var metadata = FeatureFileMetadata(
            classCodes: try value("class_codes").stringsValue ?? [],
            classNames: try value("class_names").stringsValue ?? [],
            settings: settings,
            resampler: try value("resampler").stringValue ?? "")
        // Every class is named once: code and name are read side by side wherever a class is shown.
        guard !metadata.classCodes.isEmpty, metadata.classNames.count == metadata.classCodes.count else {
            throw FileError(path: holder.path, reason: "has \(metadata.classCodes.count) class codes and \(metadata.classNames.count) class names; it needs one name per code, and at least one")
        }
        metadata.formatVersion = try int("format_version")
        metadata.timbreVersion = try value("timbre_version").stringValue ?? ""
        metadata.inputs = try holder.attribute("inputs")?.stringsValue ?? []
        metadata.layouts = try holder.attribute("layouts")?.stringsValue ?? []
        metadata.shard = try holder.attribute("shard")?.stringValue
        metadata.multitrackClips = try holder.attribute("multitrack_clips")?.stringValue
        metadata.stemClipClasses = try holder.attribute("stem_clip_classes")?.stringsValue
        return metadata
    }
}
