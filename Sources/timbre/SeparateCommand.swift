import ArgumentParser
import Foundation
import TimbreAudio
import TimbreConsole
import TimbreCore
import TimbreDatasets
import TimbreModel
import TimbreSeparation

/// `timbre separate`: splits audio files into stems with a separator model.
struct SeparateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "separate",
        abstract: "Separate audio files into vocals, drums, bass and other.",
        discussion: """
            Writes DIR/<name>/<stem>.wav for each file (for folders, <name> keeps the file's \
            path inside the folder, and a MUSDB18 track's mixture is named after its track) at the input's rate and channels, full band. The masks sum \
            to one, so the stems add up to the mix. Files of any length are processed in blocks \
            with cross-faded masks, in memory bounded by the block. A file whose stems are all \
            there already is skipped, so an interrupted run resumes. Failures are printed once \
            each and the run goes on (exit status 2).

            Examples:
              timbre separate song.flac -o stems/
              timbre separate album/ -o stems/ --stems vocals --residual
            """
    )

    @Argument(help: "Audio files and folders.")
    var paths: [String]

    @Option(name: .shortAndLong, help: "Folder to write the stems into.")
    var output: String

    @Option(help: "Separator model file (default: the bundled separator).")
    var model: String?

    @Option(help: "Comma-separated stems to write (default: all the model's).")
    var stems: String?

    @Option(help: "Stem files: wav or wav16 (16-bit), wav24, float (32-bit float WAV, exact sums) or flac (24-bit).")
    var format = StemFileFormat.wav

    @Flag(help: "Also write no_<stem>: the mix minus the stem (e.g. karaoke from vocals).")
    var residual = false

    @Option(help: "Seconds of audio per block: the memory used grows with it, the stems do not change.")
    var blockSeconds = 30.0

    @OptionGroup var inputGain: InputGainOption

    func validate() throws {
        if !(blockSeconds >= 0.5 && blockSeconds <= 3600) { throw ValidationError("--block-seconds must be between 0.5 and 3600") }
        if let stems { _ = try SeparationStem.parseList(stems) }
    }

    /// A file's output folder: its path without extension, except that a MUSDB18 track's
    /// `mixture` is named after its track folder.
    static func outputName(_ path: String) -> String {
        let components = path.split(separator: "/").map(String.init)
        if components.count > 1, components.last!.lowercased() == "mixture" { return components.dropLast().joined(separator: "/") }
        return path
    }


    func run() throws {
        try reportingErrors { try OutputPath.checkFolder(URL(fileURLWithPath: output)) }
        let separatorModel = try reportingErrors {
            try SeparatedTagging.loadSeparator(model)
        }
        let wanted = try reportingErrors { try stems.map(SeparationStem.parseList) ?? separatorModel.settings.stems }
        if let missing = wanted.first(where: { !separatorModel.settings.stems.contains($0) }) {
            Terminal.printError("timbre: the model does not separate '\(missing.rawValue)'; it gives \(separatorModel.settings.stems.map(\.rawValue).joined(separator: ","))")
            throw ExitCode.failure
        }
        let separator = BlockSeparator(model: separatorModel, blockSeconds: blockSeconds)
        separator.inputGain = inputGain.choice
        let root = URL(fileURLWithPath: output)
        var failures = 0
        var jobs: [(url: URL, name: String)] = []
        for path in paths {
            let url = URL(fileURLWithPath: path)
            let status = FileSystemName.status(of: path)
            if !status.exists {
                Terminal.printError("timbre: \(path): no such file or folder")
                failures += 1
            } else if status.isFolder {
                let found = AudioFileFinder.audioFiles(under: url)
                if found.isEmpty { Terminal.printError("timbre: \(path): no audio files in this folder"); failures += 1 }
                jobs += found.map { ($0, Self.outputName((AudioFileFinder.relativePath(of: $0, to: url) as NSString).deletingPathExtension)) }
            } else {
                let base = url.deletingPathExtension().lastPathComponent
                jobs.append((url, base.lowercased() == "mixture" ? url.deletingLastPathComponent().lastPathComponent : base))
            }
        }
        // Two inputs with one output name (a.wav and a.flac, or x/song.wav and y/song.wav)
        // would share a folder: the later one is refused rather than skipped as done.
        var claimed: [String: URL] = [:]
        jobs = jobs.filter { job in
            guard let first = claimed[job.name] else { claimed[job.name] = job.url; return true }
            Terminal.printError("timbre: \(job.url.path): its stems would go to \(root.appendingPathComponent(job.name).path), as those of \(first.path); separate it on its own")
            failures += 1
            return false
        }
        let (fileFormat, fileExtension) = (format.fileFormat, format.fileExtension)
        let stop = StopFlag()
        let interrupts = InterruptHandler { stop.set() }
        // Durations once, for the progress bar's total and each file's share of it.
        let durations = jobs.map { (try? AudioFileReader(url: $0.url).info.duration) ?? 0 }
        let totalSeconds = durations.reduce(0, +)
        let bar = ProgressBar(total: max(1, Int(totalSeconds.rounded(.up))), unit: "audio s")
        let started = Date()
        // Seconds before the current file (for the bar), and of the files separated (for the summary).
        var secondsBefore = 0.0, separatedSeconds = 0.0, written = 0, skipped = 0
        for (job, duration) in zip(jobs, durations) {
            if stop.isSet { break }
            var target = BlockSeparator.Output(folder: root.appendingPathComponent(job.name), stems: wanted)
            target.residual = residual
            target.format = fileFormat
            target.fileExtension = fileExtension
            let expected = target.files.map { target.folder.appendingPathComponent("\($0.name).\(fileExtension)") }
            if expected.allSatisfy({ FileSystemName.status(of: $0.path).exists }) {
                skipped += 1
                secondsBefore += duration
                continue
            }
            do {
                try separator.separate(job.url, into: target) { done, _ in
                    let seconds = secondsBefore + done, elapsed = Date().timeIntervalSince(started)
                    let speed = seconds / max(elapsed, 1e-9)
                    bar.update(done: Int(seconds), detail: String(format: "%@  %.0f× real time  ETA %.0f s", job.name, speed, max(0, totalSeconds - seconds) / max(speed, 1e-9)),
                               rate: (Int(seconds), "audio s"))
                }
                written += 1
                separatedSeconds += duration
                if let note = AudioFileReader.silencedNote(separator.lastSilencedSamples) {
                    bar.clear()
                    Terminal.printError("timbre: \(job.url.path): \(note)")
                }
            } catch {
                bar.clear()
                Terminal.printError("timbre: " + ErrorDescription.line(error))
                failures += 1
            }
            secondsBefore += duration
        }
        bar.clear()
        withExtendedLifetime(interrupts) {}
        let elapsed = Date().timeIntervalSince(started)
        print(String(format: "separated %d files into %@ (%d already there): %.0f s of audio in %.1f s, %.0f× real time",
                     written, output, skipped, separatedSeconds, elapsed, separatedSeconds / max(elapsed, 1e-9)))
        if stop.isSet { throw ExitCode(130) }
        if failures > 0 { throw ExitCode(2) }
    }
}

/// `timbre group-stems`: MedleyDB multitracks as MUSDB18's four stems, for scoring.
struct GroupStemsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group-stems",
        abstract: "Write MedleyDB-layout songs as mixture, vocals, drums, bass and other (the MUSDB18 layout).",
        discussion: """
            Each stem adds to its target by labels/separation-groups.csv; a target no stem plays \
            is written as silence. Files are 32-bit float WAV at the song's rate and channels, \
            and the mixture is their sum, so `timbre separate` and `timbre evaluate-separation` \
            can run on them.
            """
    )

    @Argument(help: "Folders of MedleyDB-layout songs.")
    var songs: [String]

    @Option(name: .shortAndLong, help: "Folder to write <song>/<stem>.wav into.")
    var output: String

    func run() throws {
        try reportingErrors { try OutputPath.checkFolder(URL(fileURLWithPath: output)) }
        let entries = try reportingErrors { try songs.flatMap { try MultitrackLibrary.find(URL(fileURLWithPath: $0)) } }.filter { $0.layout == .medleyDB }
        var failures = 0
        for entry in entries {
            do {
                try MultitrackLibrary.writeGroupedStems(entry, to: URL(fileURLWithPath: output).appendingPathComponent(entry.name))
            } catch {
                Terminal.printError("timbre: " + ErrorDescription.line(error))
                failures += 1
            }
        }
        print("wrote \(entries.count - failures) songs to \(output)")
        if failures > 0 { throw ExitCode(2) }
    }
}
