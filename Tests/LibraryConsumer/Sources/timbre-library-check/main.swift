import Foundation
import TimbreAudio
import TimbreModel
import TimbrePrepare
import TimbreStore
import TimbreTagging
import TimbreTraining

// Prepares a feature file from a folder of one class and tags its recording with the
// bundled model, through the library alone; exits 1 with the reason if anything fails.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("timbre-library-check: \(message)\n".utf8))
    exit(1)
}

let work = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-library-check-\(ProcessInfo.processInfo.processIdentifier)")
defer { try? FileManager.default.removeItem(at: work) }
let recording = work.appendingPathComponent("flute/take.wav")
do {
    try FileManager.default.createDirectory(at: recording.deletingLastPathComponent(), withIntermediateDirectories: true)
    // Six seconds of a 660 Hz tone with two overtones: two 3-s clips.
    let rate = 22_050
    let samples = (0..<(6 * rate)).map { n -> Float in
        let t = Double(n) / Double(rate)
        return Float(0.3 * sin(2 * .pi * 660 * t) + 0.1 * sin(2 * .pi * 1320 * t) + 0.05 * sin(2 * .pi * 1980 * t))
    }
    try AudioFileWriter.write(samples, sampleRate: rate, to: recording)
} catch { fail("cannot write \(recording.path): \(error)") }

// prepare: one feature file, two clips labelled flute.
let features = work.appendingPathComponent("features.h5")
do {
    let summary = try Preparer(options: PrepareOptions(inputs: [work], output: features)).run()
    guard summary.failures.isEmpty, summary.counts.clipsKept == 2 else { fail("prepare kept \(summary.counts.clipsKept) clips, failures \(summary.failures)") }
    let reader = try FeatureFileReader(url: features)
    guard reader.count == 2, reader.metadata.classCodes.contains("flu") else { fail("the feature file holds \(reader.count) clips") }
    print("prepare: \(reader.count) clips of \(recording.lastPathComponent) in \(features.lastPathComponent)")
} catch { fail("prepare: \(error)") }

// tag: the bundled model's tags and every class's score.
do {
    let modelFile = try BundledModel.load()
    var options = TagOptions()
    (options.threshold, options.classThresholds) = modelFile.decisionThresholds(override: nil)
    let tagger = Tagger(model: try modelFile.makeModel(), settings: modelFile.features.settings, classCodes: modelFile.features.classCodes,
                        classNames: modelFile.features.classNames, options: options)
    var tagged: [FileTags] = []
    tagger.tag([(url: recording, path: "flute/take.wav")]) { result in
        switch result {
        case .success(let tags): tagged.append(tags)
        case .failure(let error): fail("tag: \(error)")
        }
    }
    guard let tags = tagged.first, tags.scores.count == modelFile.features.classCodes.count, !tags.tags.isEmpty,
          tags.scores.allSatisfy({ (0...1).contains($0) }) else { fail("tag gave \(tagged)") }
    print("tag: \(tags.path): " + tags.tags.map { "\($0.code) \(String(format: "%.2f", $0.confidence))" }.joined(separator: ", "))
} catch { fail("tag: \(error)") }
