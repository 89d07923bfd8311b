import Foundation
import TimbreCore
import TimbreDSP
import TimbreHDF5
import TimbreStore

/// Writes HDF5 files the way a hostile or broken tool might: every attribute and dataset
/// Timbre reads present, missing, of another type, or with extents the file does not store.
///
/// The fuzzing of feature and model files goes through this writer instead of mutating
/// the bytes of a file: damaged bytes test libhdf5's own parser, whose crashes the file
/// probe contains (a child process), while files that libhdf5 reads correctly but whose
/// contents lie test Timbre's checks, which must hold in-process.
struct CraftedHDF5File {
    let file: HDF5File
    var choices: FuzzedChoices

    /// Values up to which a dataset's contents are written (1 MB of floats).
    static let writtenValues = 1 << 18
    /// Strings up to which a string dataset is written (one chunk), within the same 1 MB.
    static let writtenStrings = 4_096

    /// The kinds of values Timbre stores.
    enum ValueKind: CaseIterable { case float, int32, uint8, string }

    /// Every root attribute of a feature file's metadata, settings included.
    static let metadataAttributes = FeatureSettings.fields.map(\.name) + [
        "class_codes", "class_names", "window", "center", "power", "mel_scale", "mel_norm", "resampler",
        "format_version", "timbre_version", "inputs", "layouts", "shard",
    ]

    /// Class vocabulary and feature settings as Timbre writes them (with few mel bands, so
    /// clips are small), then up to three attributes removed or replaced.
    mutating func writeMetadata(classes: Int, bands: Int) throws -> FeatureSettings {
        var settings = FeatureSettings()
        settings.nMels = bands
        let codes = (0..<classes).map { "c\($0)" }
        try FeatureFileMetadata(classCodes: codes, classNames: codes, settings: settings, resampler: "crafted").write(to: file)
        for _ in 0..<(choices.byte() % 4) {
            let name = choices.pick(Self.metadataAttributes)
            if choices.byte() % 4 == 0 { try file.removeAttribute(name) } else { try file.setAttribute(name, attributeValue()) }
        }
        return settings
    }

    /// An attribute value of any type Timbre reads.
    mutating func attributeValue() -> HDF5AttributeValue {
        switch choices.byte() % 6 {
        case 0: return .int(choices.pick(FuzzedChoices.integers))
        case 1: return .double(choices.pick(FuzzedChoices.numbers))
        case 2: return .string(choices.pick(FuzzedChoices.texts))
        case 3: return .strings(Array(repeating: choices.pick(FuzzedChoices.texts), count: choices.pick([2, 0, 1, 300])))
        case 4: return .ints(Array(repeating: choices.pick(FuzzedChoices.integers), count: choices.pick([2, 0, 1, 300])))
        default: return .doubles([choices.pick(FuzzedChoices.numbers), choices.pick(FuzzedChoices.numbers)])
        }
    }

    /// Dataset `name` as Timbre would write it (`shape`, `kind`), or, as the choices say,
    /// missing, with one extent replaced, or of another kind and rank. Extents are
    /// declared through chunked storage, so a file can claim 2^62 rows and store none;
    /// values are written when there are at most `writtenValues` of them.
    mutating func writeDataset(_ name: String, shape: [Int], kind: ValueKind) throws {
        var shape = shape, kind = kind
        switch choices.byte() % 8 {
        case 5: return
        case 6: shape[Int(choices.byte()) % shape.count] = choices.pick(FuzzedChoices.extents)
        case 7:
            kind = choices.pick(ValueKind.allCases)
            if choices.byte() % 2 == 1 { shape.append(choices.pick([2, 1, 0])) }
        default: break
        }
        if kind == .string { shape = [shape[0]] }
        let dataset = try create(name, shape: shape, kind: kind)
        let count = UntrustedSize.product(shape)
        guard count <= Self.writtenValues else { return }
        // One row may hold an odd value; none does when the choices have run out, so the
        // seed without choices stays a file Timbre reads whole.
        let special = Int(choices.byte()) - 1
        switch kind {
        case .float:
            let fill = Float(choices.pick(FuzzedChoices.numbers)), odd = Float(choices.pick(FuzzedChoices.numbers))
            try dataset.writeRows((0..<count).map { $0 == special ? odd : fill })
        case .int32:
            let fill = choices.pick([Int32(0), 1, -1, 2, 1_000, .max, .min])
            try dataset.writeRows((0..<count).map { $0 == special ? Int32.max : fill })
        case .uint8:
            let fill = choices.pick([UInt8(1), 0, 2, 255])
            try dataset.writeRows((0..<count).map { $0 == special ? 255 : fill })
        case .string:
            // A string dataset is written only up to one chunk of rows and 1 MB: each is its own
            // allocation and heap object, and the fuzzer's corpus kept files of 65,536
            // names of 5,000 characters (330 MB) that slowed every execution after them
            // without reaching code that one chunk of names does not.
            let fill = choices.pick(FuzzedChoices.texts)
            guard count <= Self.writtenStrings, count * fill.utf8.count <= Self.writtenValues * 4 else { return }
            try dataset.writeStrings((0..<count).map { $0 == special ? "\u{1B}[31m" : fill })
        }
    }

    /// An empty dataset with chunks of at most 4,096 values, the first extent growable.
    /// (Larger chunks are no different to the reader, but each one the library allocates
    /// comes fresh from the system under AddressSanitizer, which halved the executions.)
    private func create(_ name: String, shape: [Int], kind: ValueKind) throws -> HDF5Dataset {
        var budget = 4_096
        let chunk = shape.map { extent -> Int in
            let size = max(1, min(extent, budget))
            budget = max(1, budget / size)
            return size
        }
        let folder = (name as NSString).deletingLastPathComponent
        if !folder.isEmpty, !file.exists(folder) { try file.createGroup(folder) }
        switch kind {
        case .float: return try file.createDataset(name, of: Float.self, shape: shape, growable: true, chunk: chunk)
        case .int32: return try file.createDataset(name, of: Int32.self, shape: shape, growable: true, chunk: chunk)
        case .uint8: return try file.createDataset(name, of: UInt8.self, shape: shape, growable: true, chunk: chunk)
        case .string: return try file.createStringDataset(name, count: shape[0], chunk: chunk[0])
        }
    }
}
