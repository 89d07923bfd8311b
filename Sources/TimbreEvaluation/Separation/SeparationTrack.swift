import Foundation
import TimbreAudio
import TimbreCore

/// One track's reference stems and the estimates to score against them, read from
/// `<folder>/<track>/<stem>.<ext>` (any format libsndfile reads).
///
/// The references fix the stem list, the sample rate, the channel count and the length. A
/// `mixture` file is not a stem. A reference silent throughout is left out (an
/// instrumental song has no vocals), and so is an estimate stem with no reference. An
/// estimate of another length is cut or padded with zeros to the reference's, as museval
/// does; a different rate or channel count, or a missing or silent estimate, is an error,
/// and every such estimate of the track is named (`UnscorableEstimates`).
public struct SeparationTrack {
    public let name: String
    public let stems: [String]
    public let sampleRate: Int
    /// [stem][channel][sample]
    public let references: [[[Double]]]
    public let estimates: [[[Double]]]
    /// One line each: stems left out, lengths adjusted.
    public let notes: [String]

    /// Every estimate of a track that cannot be scored, one error each, so that a user
    /// fixes them in one go; the track is then skipped.
    public struct UnscorableEstimates: Error {
        public let problems: [FileError]
    }

    /// Stems × channels per track: 16 (8 stereo stems) makes a Gram matrix of 8,192² values, 512 MB.
    public static let maximumSignals = 16

    static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "aifc", "au", "w64", "caf"]

    /// Stem files of a track folder by stem name.
    static func stemFiles(in folder: URL) throws -> [String: URL] {
        let entries: [URL]
        do {
            entries = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        } catch {
            throw FileError(path: folder.path, reason: "cannot list the folder")
        }
        var files: [String: URL] = [:]
        for url in entries where audioExtensions.contains(url.pathExtension.lowercased()) {
            let stem = url.deletingPathExtension().lastPathComponent
            guard stem.lowercased() != "mixture", !stem.hasPrefix(".") else { continue }
            if let other = files[stem] {
                throw FileError(path: folder.path, reason: "two files for the stem '\(stem)': \(other.lastPathComponent) and \(url.lastPathComponent)")
            }
            files[stem] = url
        }
        return files
    }

    /// The estimate of `stem` on the reference's length (cut or padded with zeros, with a
    /// note saying so), or the reason it cannot be scored.
    static func scorableEstimate(_ url: URL?, of stem: String, in folder: URL, against reference: MultichannelAudio) throws -> ([[Double]], String?) {
        guard let url else { throw FileError(path: folder.appendingPathComponent(stem).path, reason: "no estimate for the reference stem '\(stem)'") }
        let estimate = try read(url)
        guard estimate.sampleRate == reference.sampleRate else {
            throw FileError(path: url.path, reason: "\(estimate.sampleRate) Hz, the reference \(reference.sampleRate) Hz")
        }
        guard estimate.channelCount == reference.channelCount else {
            throw FileError(path: url.path, reason: "\(estimate.channelCount) channel\(estimate.channelCount == 1 ? "" : "s"), the reference \(reference.channelCount)")
        }
        let padded = estimate.channels.map { channel in
            (0..<reference.frameCount).map { $0 < channel.count ? Double(channel[$0]) : 0 }
        }
        // museval refuses a silent estimate: the projection has nothing to work on.
        guard !isSilent(padded) else {
            throw FileError(path: url.path, reason: "silent throughout the reference's length; BSSEval cannot score it")
        }
        guard estimate.frameCount != reference.frameCount else { return (padded, nil) }
        let change = estimate.frameCount > reference.frameCount ? "cut" : "padded with zeros (windows left silent score nothing)"
        return (padded, "\(url.path): \(estimate.frameCount) samples, the reference \(reference.frameCount); \(change) to its length")
    }

    /// Decodes a stem, refusing files without samples or with values that are not finite.
    static func read(_ url: URL) throws -> MultichannelAudio {
        let audio = try MultichannelAudio(contentsOf: url)
        guard audio.frameCount > 0 else { throw FileError(path: url.path, reason: "no samples") }
        guard audio.channels.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw FileError(path: url.path, reason: "samples that are not finite numbers (NaN or infinity)")
        }
        return audio
    }

    /// Silent throughout, by museval's test.
    static func isSilent<T: BinaryFloatingPoint>(_ channels: [[T]]) -> Bool {
        BSSEval.isSilent(channels, over: 0..<channels[0].count)
    }

    private static func describe(_ channels: Int, _ samples: Int, _ rate: Int) -> String {
        "\(channels) channel\(channels == 1 ? "" : "s") of \(samples) samples at \(rate) Hz"
    }

    public init(name: String, references referenceFolder: URL, estimates estimateFolder: URL) throws {
        self.name = name
        let referenceFiles = try Self.stemFiles(in: referenceFolder)
        guard !referenceFiles.isEmpty else { throw FileError(path: referenceFolder.path, reason: "no reference stems") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: estimateFolder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError(path: estimateFolder.path, reason: "no estimates for this track")
        }
        let estimateFiles = try Self.stemFiles(in: estimateFolder)
        var notes: [String] = []
        for stem in estimateFiles.keys.sorted() where referenceFiles[stem] == nil {
            notes.append("\(estimateFiles[stem]!.path): no reference stem '\(stem)'; not scored")
        }
        var stems: [String] = [], references: [[[Double]]] = [], estimates: [[[Double]]] = []
        var format: (rate: Int, channels: Int, length: Int)?
        var problems: [FileError] = []
        for stem in referenceFiles.keys.sorted() {
            let referenceURL = referenceFiles[stem]!
            let reference = try Self.read(referenceURL)
            if let format, (reference.sampleRate, reference.channelCount, reference.frameCount) != format {
                throw FileError(path: referenceURL.path, reason: "\(Self.describe(reference.channelCount, reference.frameCount, reference.sampleRate)), unlike "
                                + "the track's other references (\(Self.describe(format.channels, format.length, format.rate)))")
            }
            format = (reference.sampleRate, reference.channelCount, reference.frameCount)
            guard referenceFiles.count * reference.channelCount <= Self.maximumSignals else {
                throw FileError(path: referenceFolder.path, reason: "\(referenceFiles.count) stems of \(reference.channelCount) channels; BSSEval's "
                                + "normal equations grow with their square, and at most \(Self.maximumSignals) stem channels are scored at once")
            }
            if Self.isSilent(reference.channels) {
                notes.append("\(referenceURL.path): silent throughout; '\(stem)' not scored on this track")
                continue
            }
            do {
                let (padded, note) = try Self.scorableEstimate(estimateFiles[stem], of: stem, in: estimateFolder, against: reference)
                if let note { notes.append(note) }
                stems.append(stem)
                references.append(reference.channels.map { $0.map(Double.init) })
                estimates.append(padded)
            } catch let problem as FileError {
                problems.append(problem)
            }
        }
        guard problems.isEmpty else { throw UnscorableEstimates(problems: problems) }
        guard !stems.isEmpty else { throw FileError(path: referenceFolder.path, reason: "every reference stem is silent") }
        self.stems = stems
        self.sampleRate = format!.rate
        self.references = references
        self.estimates = estimates
        self.notes = notes
    }
}
