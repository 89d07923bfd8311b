import Foundation
import TimbreAudio
import TimbreTestSupport

/// Builds small data-set trees on disk for importer tests.
final class FixtureTree {
    let root: URL

    init() {
        root = scratchFolder("datasets")
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// A short real audio file (a quiet tone) at `path`.
    func audio(_ path: String, seconds: Double = 0.1) {
        let url = root.appendingPathComponent(path)
        try! FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let samples = (0..<Int(8000 * seconds)).map { Float(0.1 * sin(Double($0) * 0.3)) }
        try! AudioFileWriter.write(samples, sampleRate: 8000, to: url, format: .wav16)
    }

    func text(_ path: String, _ contents: String) {
        let url = root.appendingPathComponent(path)
        try! FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! Data(contents.utf8).write(to: url)
    }
}
