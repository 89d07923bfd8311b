import Foundation
import TimbreAudio
import TimbreCore

/// What `timbre synth` renders and where.
public struct SynthOptions: Sendable {
    public var output: URL
    public var split: SynthSplit = .train
    public var seed: UInt64 = 1
    /// Solo takes per class; each gives `excerpts` files.
    public var takesPerClass = 40
    public var excerpts = 3
    public var excerptSeconds = 3.0
    public var songs = 4
    public var songSeconds = 30.0
    /// Share of songs whose lead is a singer (nil: voice is one lead among nine).
    public var songVoiceShare: Double?
    public var augment = true
    /// Class codes to render, in taxonomy order (those no chosen family plays are left out).
    public var classes: [String] = InstrumentSources.all.map(\.code)
    /// Sound families to play (`SoundCatalogue.families`).
    public var families = SynthOptions.defaultFamilies
    /// The instruments of every family.
    public var catalogue: SoundCatalogue
    /// Folder of downloaded sample libraries (`datasets/sources.md`).
    public var sources = URL(fileURLWithPath: "sources")
    /// Folder with `rooms/` and `cabinets/` impulse responses, if any.
    public var impulseResponses: URL?
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    public var sampleRate = 44_100
    /// Share of each folder of real recordings that only the held-out split plays (0: every
    /// recording plays in both splits).
    public var recordingHoldOut = 0.0
    /// Each part that plays a real recording plays it up to this many semitones faster or
    /// slower, pitch and formants together (0: as recorded).
    public var recordingRepitch = 0.0

    /// How `recording` patches choose their files in this split; nil when all play.
    public var recordingsHeldOut: RecordedPhrases.HeldOutShare? {
        recordingHoldOut > 0 ? RecordedPhrases.HeldOutShare(share: recordingHoldOut, split: split) : nil
    }

    /// What Debian's packages installed by `make deps` provide.
    public static let defaultFamilies = ["fluidr3", "hydrogen"]

    public init(output: URL, catalogue: SoundCatalogue) {
        self.output = output
        self.catalogue = catalogue
    }

    /// Adds a family that plays `soundFont`'s General MIDI programs (and drum kits) for
    /// every class the FluidR3 family plays them for, named after the file.
    public mutating func addGeneralMIDIFamily(soundFont: URL) -> String {
        let family = soundFont.deletingPathExtension().lastPathComponent
        let template = catalogue.patches.filter { $0.family == "fluidr3" && !$0.heldOutOnly }
        let added = template.map { Patch(family: family, code: $0.code, kind: .sf2, location: soundFont.path, preset: $0.preset, heldOutOnly: false) }
        catalogue = SoundCatalogue(patches: catalogue.patches.filter { $0.family != family } + added)
        return family
    }
}

/// Renders a corpus: solo takes in the IRMAS training layout under `IRMAS-TrainingData/`,
/// multitrack songs in the MedleyDB layout under `MedleyDB/`, and `synth-manifest.csv`
/// saying where every file's sound came from. Files are written atomically and finished
/// work is skipped on a rerun, so an interrupted render resumes.
public final class SynthCorpus {
    public let options: SynthOptions
    public let planner: CorpusPlanner

    public enum Item: Sendable, Equatable {
        case take(code: String, index: Int)
        case song(index: Int)
    }

    public init(options: SynthOptions) throws {
        self.options = options
        guard options.takesPerClass <= CorpusPlanner.maximumTakesPerClass else {
            throw FileError(path: options.output.path, reason: "at most \(CorpusPlanner.maximumTakesPerClass) takes per class")
        }
        let known = Set(options.catalogue.families)
        if let unknown = options.families.first(where: { !known.contains($0) }) {
            throw FileError(path: unknown, reason: "no such sound family; the catalogue has \(options.catalogue.families.joined(separator: ", "))")
        }
        let selected = options.catalogue.selecting(families: options.families, split: options.split)
        // Plans never depend on what is installed: a missing source is an error, not a
        // silent change of corpus.
        if let missing = selected.missing(sources: options.sources).first {
            throw FileError(path: missing.path, reason: "sound family \(missing.family) is not installed (see datasets/sources.md)")
        }
        // A share of recordings held out that leaves this split none of a folder's is an
        // error once, before anything renders, not one per take and song.
        if let heldOut = options.recordingsHeldOut {
            for patch in selected.patches where patch.kind == .recording {
                _ = try RecordedPhrases(folder: patch.url(sources: options.sources), root: patch.root(sources: options.sources),
                                        filter: patch.preset, heldOut: heldOut)
            }
        }
        var planner = CorpusPlanner(seed: options.seed, split: options.split, augment: options.augment, classes: options.classes, catalogue: selected)
        planner.songVoiceShare = options.songVoiceShare
        self.planner = planner
        guard !planner.classes.isEmpty else {
            throw FileError(path: options.output.path, reason: "the families \(options.families.joined(separator: ", ")) play none of the classes asked for")
        }
    }

    public var items: [Item] {
        planner.classes.flatMap { code in (0..<options.takesPerClass).map { Item.take(code: code, index: $0) } }
            + (0..<options.songs).map { Item.song(index: $0) }
    }

    public var irmasRoot: URL { options.output.appendingPathComponent("IRMAS-TrainingData") }
    public var medleyRoot: URL { options.output.appendingPathComponent("MedleyDB") }

    // MARK: Plans and names

    func takePlan(_ code: String, _ index: Int) -> TakePlan {
        planner.take(code: code, index: index, takesPerClass: options.takesPerClass, excerpts: options.excerpts, excerptSeconds: options.excerptSeconds)
    }

    /// `[pia][nod][pop_roc]0012__2.wav`: class, drums present or not, a genre, the take
    /// number (IRMAS's song number) and the excerpt.
    func excerptPath(_ plan: TakePlan, excerpt: Int) -> String {
        let drums = plan.lead.code == "dru" || plan.accompaniment?.code == "dru" ? "dru" : "nod"
        let genre = plan.context.swing > 0 ? "jaz_blu" : "pop_roc"
        return "\(plan.lead.code)/[\(plan.lead.code)][\(drums)][\(genre)]\(String(format: "%04d", plan.number))__\(excerpt + 1).wav"
    }

    func songName(_ plan: SongPlan) -> String { "TimbreSynth_Song\(String(format: "%04d", plan.number))" }

    /// Every file an item writes, relative to the output folder.
    public func outputs(of item: Item) -> [String] {
        switch item {
        case .take(let code, let index):
            let plan = takePlan(code, index)
            return (0..<plan.excerpts).map { "IRMAS-TrainingData/" + excerptPath(plan, excerpt: $0) }
        case .song(let index):
            let plan = planner.song(index: index, seconds: options.songSeconds)
            let name = songName(plan)
            return ["MedleyDB/\(name)/\(name)_METADATA.yaml", "MedleyDB/\(name)/\(name)_MIX.wav"]
                + plan.parts.indices.map { "MedleyDB/\(name)/\(name)_STEMS/\(name)_STEM_\(String(format: "%02d", $0 + 1)).wav" }
        }
    }

    /// Manifest rows of an item: path, class, number, family, source, tempo, key, chain, accompaniment.
    func manifestRows(of item: Item) -> [[String]] {
        let keyNames = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
        func key(_ context: MusicalContext) -> String { keyNames[context.tonic] + (context.scale == MusicalContext.major ? " major" : context.scale == MusicalContext.minor ? " minor" : context.scale == MusicalContext.dorian ? " dorian" : " mixolydian") }
        switch item {
        case .take(let code, let index):
            let plan = takePlan(code, index)
            let along = plan.accompaniment.map { "\($0.code) (\($0.patch)) at \(Int(plan.accompanimentDB)) dB" } ?? ""
            var chain = plan.lead.chain.description
            if let codec = plan.codec { chain += String(format: "; %@ level %.2f", codec.codec.rawValue, codec.level) }
            return outputs(of: item).map { [$0, code, "\(plan.number)", plan.lead.patch.family, SynthCorpus.sourceName(plan.lead), String(format: "%.0f", plan.context.tempo), key(plan.context), chain, along] }
        case .song(let index):
            let plan = planner.song(index: index, seconds: options.songSeconds)
            let files = outputs(of: item)
            return zip(files.dropFirst(2), plan.parts).map { [$0, $1.code, "\(plan.number)", $1.patch.family, SynthCorpus.sourceName($1), String(format: "%.0f", plan.context.tempo), key(plan.context), $1.chain.description, ""] }
        }
    }

    /// The patch a part plays, and the drum piece when it is one alone.
    static func sourceName(_ part: PartPlan) -> String {
        "\(part.patch)" + (part.drumPiece.map { " (\($0.rawValue) only)" } ?? "")
    }

    // MARK: Rendering

    /// True when every file of `item` exists (it finished in an earlier run).
    public func isDone(_ item: Item) -> Bool {
        outputs(of: item).allSatisfy { FileManager.default.fileExists(atPath: options.output.appendingPathComponent($0).path) }
    }

    /// Renders one item with `renderer` and writes its files.
    public func render(_ item: Item, with renderer: PartRenderer) throws {
        switch item {
        case .take(let code, let index): try renderTake(takePlan(code, index), renderer: renderer)
        case .song(let index): try renderSong(planner.song(index: index, seconds: options.songSeconds), renderer: renderer)
        }
    }

    private func renderTake(_ plan: TakePlan, renderer: PartRenderer) throws {
        let seconds = Double(plan.excerpts) * plan.excerptSeconds
        var signal = try renderer.render(plan.lead, context: plan.context, seconds: seconds)
        if let along = plan.accompaniment {
            let other = try renderer.render(along, context: plan.context, seconds: seconds)
            let (lead, quiet) = (signal.rms, other.rms)
            if lead > 0, quiet > 0 { signal.add(other, gain: lead / quiet * Float(pow(10, plan.accompanimentDB / 20))) }
            let peak = signal.peak
            if peak > 0.98 { signal.scale(by: 0.98 / peak) }
        }
        if let codec = plan.codec {
            let coded = try CodecRoundTrip.apply(signal.interleaved, channels: 2, sampleRate: signal.sampleRate, codec: codec.codec, compressionLevel: codec.level)
            for i in 0..<signal.frames {
                signal.left[i] = coded[2 * i]
                signal.right[i] = coded[2 * i + 1]
            }
        }
        let frames = Int(plan.excerptSeconds * Double(options.sampleRate))
        for excerpt in 0..<plan.excerpts {
            let url = irmasRoot.appendingPathComponent(excerptPath(plan, excerpt: excerpt))
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let piece = signal.slice(excerpt * frames..<min(signal.frames, (excerpt + 1) * frames))
            try AudioFileWriter.write(piece.interleaved, channels: 2, sampleRate: options.sampleRate, to: url, format: .wav16)
        }
    }

    /// Stems and mix are 32-bit float WAV so that the stored mix is exactly the sum of the
    /// stored stems.
    private func renderSong(_ plan: SongPlan, renderer: PartRenderer) throws {
        var stems = try zip(plan.parts, plan.restingBars).map { part, resting in
            try renderer.render(part, context: plan.context, seconds: plan.seconds, restingBars: resting)
        }
        var mix = SynthCorpus.sum(stems)
        let peak = mix.peak
        if peak > 0.98 {
            for index in stems.indices { stems[index].scale(by: 0.98 / peak) }
            mix = SynthCorpus.sum(stems)
        }
        let name = songName(plan)
        let folder = medleyRoot.appendingPathComponent(name)
        let stemFolder = folder.appendingPathComponent("\(name)_STEMS")
        try FileManager.default.createDirectory(at: stemFolder, withIntermediateDirectories: true)
        for (index, stem) in stems.enumerated() {
            try AudioFileWriter.write(stem.interleaved, channels: 2, sampleRate: options.sampleRate,
                                      to: stemFolder.appendingPathComponent("\(name)_STEM_\(String(format: "%02d", index + 1)).wav"), format: .wavFloat)
        }
        try AudioFileWriter.write(mix.interleaved, channels: 2, sampleRate: options.sampleRate, to: folder.appendingPathComponent("\(name)_MIX.wav"), format: .wavFloat)
        // Metadata last: its presence marks the song finished for the importer.
        let metadata = SynthCorpus.metadataYAML(name: name, plan: plan)
        let metadataURL = folder.appendingPathComponent("\(name)_METADATA.yaml")
        let partial = folder.appendingPathComponent(".\(name)_METADATA.yaml.partial")
        try metadata.write(to: partial, atomically: false, encoding: .utf8)
        guard rename(partial.path, metadataURL.path) == 0 else {
            throw FileError(path: metadataURL.path, reason: "cannot move into place")
        }
    }

    /// The stems added sample by sample, in stem order.
    public static func sum(_ stems: [StereoSignal]) -> StereoSignal {
        var mix = StereoSignal(frames: stems.map(\.frames).max() ?? 0, sampleRate: stems.first?.sampleRate ?? 44_100)
        for stem in stems { mix.add(stem) }
        return mix
    }

    /// MedleyDB-style metadata: song-level fields and one entry per stem with its
    /// MedleyDB instrument name.
    static func metadataYAML(name: String, plan: SongPlan) -> String {
        var lines = [
            "album: Timbre synthetic songs", "artist: TimbreSynth", "composer: TimbreSynth", "excerpt: no",
            "genre: \(plan.context.swing > 0 ? "Jazz" : "Pop")", "has_bleed: no", "instrumental: \(plan.parts.contains { $0.code == "voi" } ? "no" : "yes")",
            "mix_filename: \(name)_MIX.wav", "origin: Timbre synth", "producer: TimbreSynth",
            "raw_dir: \(name)_RAW", "stem_dir: \(name)_STEMS", "title: Song\(String(format: "%04d", plan.number))",
            String(format: "tempo: %.1f", plan.context.tempo), "version: 1.2", "website: none", "stems:",
        ]
        for (index, part) in plan.parts.enumerated() {
            let id = String(format: "S%02d", index + 1)
            let component = part.code == "bas" ? "bass" : index == plan.leadIndex ? "melody" : "''"
            lines += [
                "  \(id):", "    component: \(component)",
                "    filename: \(name)_STEM_\(String(format: "%02d", index + 1)).wav",
                "    instrument: \(medleyInstrument(part))",
                "    source: \(part.patch)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The MedleyDB instrument name for a part (its taxonomy, e.g. "drum set").
    static func medleyInstrument(_ part: PartPlan) -> String {
        let program = part.patch.soundFontPreset?.program ?? -1
        switch part.drumPiece {
        case .kick: return "kick drum"
        case .snare: return "snare drum"
        case .toms: return "toms"
        case .cymbals: return "cymbal"
        case nil: break
        }
        switch part.code {
        case "cel": return "cello"
        case "cla": return "clarinet"
        case "flu": return program == 72 ? "piccolo" : "flute"
        case "gac": return "acoustic guitar"
        case "gel": return [29, 30].contains(program) || (part.chain.amp?.driveDB ?? 0) > 18 ? "distorted electric guitar" : "clean electric guitar"
        case "org": return [19, 20].contains(program) ? "pipe organ" : "electronic organ"
        case "pia": return [4, 5].contains(program) ? "electric piano" : "piano"
        case "sax": return ["soprano saxophone", "alto saxophone", "tenor saxophone", "baritone saxophone"][max(0, min(3, program - 64))]
        case "tru": return "trumpet"
        case "vio": return "violin"
        case "voi": return program == 52 ? "choir" : "vocalists"
        case "dru": return "drum set"
        case "bas": return "electric bass"
        default: return part.code
        }
    }

    // MARK: Running

    public struct Summary: Sendable {
        public var rendered = 0
        public var skipped = 0
        public var failures: [FileError] = []
        public var seconds = 0.0
    }

    /// What decides how each item sounds, one setting a line: a rerun into the same folder
    /// must agree, or the files already there would be of another corpus. The song count,
    /// workers and folders are not in it (more songs add to a corpus; they plan alone).
    public var settings: String {
        let patches = planner.catalogue.patches.map { "\($0.family) \($0.code) \($0.kind.rawValue) \($0.location) \($0.preset)" }
        return ([
            "split \(options.split.rawValue)", "seed \(options.seed)", "takes-per-class \(options.takesPerClass)", "excerpts \(options.excerpts)",
            "excerpt-seconds \(options.excerptSeconds)", "song-seconds \(options.songSeconds)",
            "song-voice-share \(options.songVoiceShare.map { "\($0)" } ?? "default")", "augment \(options.augment)",
            "classes \(planner.classes.joined(separator: ","))", "families \(options.families.joined(separator: ","))",
            "impulse-responses \(options.impulseResponses == nil ? "no" : "yes")", "sample-rate \(options.sampleRate)",
        ] + (options.recordingHoldOut > 0 ? ["recording-hold-out \(options.recordingHoldOut)"] : [])
            + (options.recordingRepitch > 0 ? ["recording-repitch \(options.recordingRepitch)"] : [])
            + patches.map { "patch \($0)" }).joined(separator: "\n") + "\n"
    }

    /// Where `settings` is kept beside the corpus.
    public var settingsURL: URL { options.output.appendingPathComponent("synth-settings.txt") }

    /// Refuses a folder rendered with other settings (naming the first that differs), and
    /// records the settings of a folder that has none yet.
    func claimOutputFolder() throws {
        let wanted = settings
        if let recorded = try? String(contentsOf: settingsURL, encoding: .utf8) {
            guard recorded != wanted else { return }
            let old = recorded.split(separator: "\n").map(String.init), new = wanted.split(separator: "\n").map(String.init)
            let change: String
            if let pair = zip(old, new).first(where: { $0 != $1 }) {
                change = "\(pair.1), not \(pair.0)"
            } else {
                change = old.count < new.count ? "\(new[old.count]) added" : "\(old[new.count]) gone"
            }
            throw FileError(path: options.output.path, reason: "was rendered with other settings (\(change)); render into another folder or remove it")
        }
        try FileManager.default.createDirectory(at: options.output, withIntermediateDirectories: true)
        try wanted.write(to: settingsURL, atomically: true, encoding: .utf8)
    }

    /// Renders every unfinished item on `options.workers` threads and writes the manifest.
    /// `progress(done, total)` is called from worker threads, one call at a time.
    /// - Throws: `FileError` when the output folder holds a corpus rendered with other settings.
    public func run(progress: @escaping (Int, Int) -> Void = { _, _ in }, shouldStop: @escaping @Sendable () -> Bool = { false }) throws -> Summary {
        try claimOutputFolder()
        let all = items
        let pending = all.filter { !isDone($0) }
        let state = RunState(summary: Summary(skipped: all.count - pending.count))
        let workers = min(options.workers, pending.count, ProcessInfo.processInfo.activeProcessorCount)
        let started = Date()
        // One renderer per worker; each loads the sources it plays on first use.
        let responses = options.impulseResponses.map { ImpulseResponses(folder: $0, sampleRate: options.sampleRate) }
        let renderers = (0..<workers).map { _ in PartRenderer(sources: options.sources, responses: responses, sampleRate: options.sampleRate,
                                                         recordingsHeldOut: options.recordingsHeldOut, recordingRepitch: options.recordingRepitch) }
        let corpus = UncheckedBox(self), report = UncheckedBox(progress), shared = UncheckedBox(renderers)
        let next = IndexDispenser(count: pending.count)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let renderer = shared.value[worker]
            while !shouldStop(), let index = next.take() {
                let item = pending[index]
                do {
                    try corpus.value.render(item, with: renderer)
                    state.finish(nil, progress: report.value, total: all.count)
                } catch let error as FileError {
                    state.finish(error, progress: report.value, total: all.count)
                } catch {
                    let path = corpus.value.options.output.appendingPathComponent(corpus.value.outputs(of: item).first ?? "").path
                    state.finish(FileError(path: path, reason: ErrorDescription.line(error)), progress: report.value, total: all.count)
                }
            }
        }
        var summary = state.summary
        summary.seconds = Date().timeIntervalSince(started)
        try writeManifest(all.filter(isDone))
        return summary
    }

    private func writeManifest(_ items: [Item]) throws {
        func field(_ value: String) -> String { value.contains(where: { ",\"\n".contains($0) }) ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value }
        var text = "path,class,number,family,source,tempo_bpm,key,chain,accompaniment\n"
        for item in items {
            for row in manifestRows(of: item) { text += row.map(field).joined(separator: ",") + "\n" }
        }
        try FileManager.default.createDirectory(at: options.output, withIntermediateDirectories: true)
        try text.write(to: options.output.appendingPathComponent("synth-manifest.csv"), atomically: true, encoding: .utf8)
    }
}

/// Counters shared by the render workers.
private final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    var summary: Summary

    typealias Summary = SynthCorpus.Summary

    init(summary: Summary) { self.summary = summary }

    /// Records an item's outcome and reports progress (items done, including skipped).
    func finish(_ failure: FileError?, progress: (Int, Int) -> Void, total: Int) {
        lock.lock(); defer { lock.unlock() }
        done += 1
        if let failure { summary.failures.append(failure) } else { summary.rendered += 1 }
        progress(done + summary.skipped, total)
    }
}
