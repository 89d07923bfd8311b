import ArgumentParser
import Foundation
import TimbreCore
import TimbreAudio
import TimbreConsole
import TimbreDSP
import TimbreDatasets
import TimbrePrepare

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Turn folders of audio into a log-mel feature file (HDF5).",
        discussion: """
            Reads IRMAS (training or testing), MedleyDB or folder-per-class data, mixes to mono, \
            resamples, cuts clips, drops silent ones and writes librosa-equal log-mel spectrograms \
            with labels and provenance. Interrupted runs resume: run the same command again.

            Examples:
              timbre prepare IRMAS-TrainingData -o irmas.h5
              timbre prepare MedleyDB --layout medleydb -o medleydb.h5 -j 2
              timbre prepare corpus/ -o part0.h5 --shard 0/4
            """
    )

    @Argument(help: "Folders holding the data sets.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Feature file to write.")
    var output: String

    @OptionGroup var layout: LayoutOption

    @Option(help: "Sample rate of the features, Hz.")
    var sampleRate = 22_050

    @Option(help: "FFT size.")
    var nFFT = 2048

    @Option(help: "Hop between spectrogram frames, samples.")
    var hopLength = 512

    @Option(help: "Mel bands.")
    var nMels = 128

    @Option(help: "Lowest mel frequency, Hz.")
    var fmin = 0.0

    @Option(help: "Highest mel frequency, Hz (default: half the sample rate).")
    var fmax: Double?

    @Option(help: "Clip length, seconds.")
    var clipSeconds = 3.0

    @Option(help: "Hop between clips, seconds (default: the clip length).")
    var clipHopSeconds: Double?

    // Unconditional, so that `--rms-threshold-db -60` is read as a value, not as an option.
    @Option(parsing: .unconditional, help: "Drop clips whose RMS level is below this, dBFS.")
    var rmsThresholdDB = -50.0

    @Option(help: "Keep a final partial clip (zero-padded) when it holds at least this many seconds.")
    var minLastClipSeconds = 1.5

    @Option(help: "Resampler: Timbre's polyphase filter, or libsamplerate's src-best, src-medium or src-fastest.")
    var resampler = ResamplerQuality.polyphase

    @Option(help: "Which clips multitrack songs (MedleyDB layout) give: the stems' and the mix's, only the mix's (multi-label clips for `train --multi-label-clips`), or only the stems'. Mix clips are labelled by the stems sounding in them either way.")
    var multitrackClips = MultitrackClips.both

    @Option(help: ArgumentHelp("Keep the stem clips of multitrack songs only for stems of these classes (comma-separated codes, e.g. voi); mix clips and their labels are unaffected.", valueName: "codes"))
    var stemClipClasses: String?

    @Option(help: "Prepare only shard K of N (K from 0, e.g. $SLURM_ARRAY_TASK_ID/N): a recording's files always fall in the same shard; put the shards together with `timbre merge`.")
    var shard: String?

    @OptionGroup var workers: WorkerOptions

    func validate() throws {
        if let problem = featureSettings.problem {
            // "n_fft 0: must be …" names the option --n-fft.
            let name = problem.prefix { $0 != " " }
            throw ValidationError("--" + name.replacingOccurrences(of: "_", with: "-") + problem.dropFirst(name.count))
        }
        if let codes = stemClipCodes {
            let known = Taxonomy.standard.codes
            let unknown = codes.filter { !known.contains($0) }
            if codes.isEmpty || !unknown.isEmpty {
                throw ValidationError("--stem-clip-classes: unknown class code \(unknown.isEmpty ? "(none given)" : unknown.joined(separator: ",")); the codes are \(known.joined(separator: ","))")
            }
            if multitrackClips == .mixes { throw ValidationError("--stem-clip-classes chooses stem clips, and --multitrack-clips mixes keeps none") }
        }
        if let shard, Shard(shard) == nil { throw ValidationError("--shard must be K/N with 0 ≤ K < N ≤ \(Shard.maxCount) (got \(shard))") }
    }

    /// --stem-clip-classes as a list of codes.
    var stemClipCodes: [String]? {
        stemClipClasses.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    /// The feature settings the options describe.
    var featureSettings: FeatureSettings {
        var settings = FeatureSettings()
        settings.sampleRate = sampleRate
        settings.nFFT = nFFT
        settings.hopLength = hopLength
        settings.nMels = nMels
        settings.fmin = fmin
        settings.fmax = fmax
        settings.clipSeconds = clipSeconds
        settings.clipHopSeconds = clipHopSeconds ?? clipSeconds
        settings.rmsThresholdDB = rmsThresholdDB
        settings.minLastClipSeconds = minLastClipSeconds
        return settings
    }

    func run() throws {
        try reportingErrors { try OutputPath.checkFile(URL(fileURLWithPath: output)) }
        var options = PrepareOptions(inputs: inputs.map { URL(fileURLWithPath: $0) }, output: URL(fileURLWithPath: output))
        options.layout = layout.layout.layout
        options.quality = resampler
        options.multitrackClips = multitrackClips
        options.stemClipClasses = stemClipCodes
        options.workers = workers.count
        options.shard = shard.flatMap(Shard.init)
        options.settings = featureSettings

        let preparer = Preparer(options: options)
        let interrupts = InterruptHandler { preparer.cancel() }
        var bar: ProgressBar?
        let summary = try reportingErrors {
            try preparer.run(
                progress: { state in
                    if bar == nil { bar = ProgressBar(total: state.jobsTotal, unit: "files") }
                    bar?.update(
                        done: state.jobsDone,
                        detail: "\(state.clipsKept) clips kept, \(state.clipsSilent) silent\(state.failures > 0 ? ", \(state.failures) failed" : "")",
                        rate: (state.clipsComputed, "clips"), doneSinceStart: state.jobsDone - state.jobsResumed)
                },
                failure: { line in
                    if let bar { bar.message("timbre: \(line)") } else { Terminal.printError("timbre: \(line)") }
                })
        }
        bar?.clear()
        withExtendedLifetime(interrupts) {}
        print(Self.describe(summary, output: output))
        if summary.interrupted { throw ExitCode(130) }
        if !summary.failures.isEmpty { throw ExitCode(2) }
    }

    static func describe(_ s: PrepareSummary, output: String) -> String {
        let c = s.counts
        let rate = s.elapsedSeconds > 0 ? Double(c.clipsComputed) / s.elapsedSeconds : 0
        var lines: [String] = []
        if s.interrupted {
            lines.append("interrupted: \(c.clipsKept) clips from finished files are kept for the next run")
        } else {
            lines.append("wrote \(output): \(c.clipsKept) clips from \(c.jobsTotal - c.failures) of \(c.jobsTotal) files (\(s.parts.map(\.description).joined(separator: ", ")))")
            lines.append(String(format: "  %d silent clips dropped, %.0f s of audio, %.1f s elapsed, %.0f clips/s computed", c.clipsSilent, s.audioSeconds, s.elapsedSeconds, rate))
        }
        if c.jobsResumed > 0 { lines.append("  \(c.jobsResumed) files resumed from an earlier run") }
        for note in s.notes { lines.append("  note: \(note)") }
        if !s.failures.isEmpty { lines.append("  \(s.failures.count) input(s) failed (listed on standard error)") }
        return lines.joined(separator: "\n")
    }
}
