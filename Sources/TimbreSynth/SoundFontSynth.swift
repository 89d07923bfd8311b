import CFluidSynth
import Foundation
import TimbreCore

/// A General MIDI preset in a SoundFont: bank 128 holds drum kits.
public struct Preset: Hashable, Sendable, CustomStringConvertible {
    public let bank: Int
    public let program: Int
    public init(bank: Int = 0, program: Int) {
        self.bank = bank
        self.program = program
    }
    public var isDrumKit: Bool { bank == 128 }
    public var description: String { "\(bank):\(program)" }
}

/// Renders note sequences with one SoundFont through libfluidsynth, dry (its own reverb
/// and chorus are off: room and chain colour come from `Augmentation`, under our seed).
/// Loading a SoundFont takes a moment, so create one per worker thread and reuse it;
/// every take still renders from a clean state, so output never depends on order.
public final class SoundFontSynth {
    public let soundFont: URL
    public let sampleRate: Int
    private let settings: OpaquePointer
    private let synth: OpaquePointer
    private let fontID: Int32

    public init(soundFont: URL, sampleRate: Int = 44_100) throws {
        SoundFontSynth.silenceLibraryLog()
        self.soundFont = soundFont
        self.sampleRate = sampleRate
        (settings, synth, fontID) = try SoundFontSynth.inTurn {
            guard let settings = new_fluid_settings() else {
                throw FileError(path: soundFont.path, reason: "libfluidsynth cannot allocate settings")
            }
            fluid_settings_setnum(settings, "synth.sample-rate", Double(sampleRate))
            fluid_settings_setint(settings, "synth.reverb.active", 0)
            fluid_settings_setint(settings, "synth.chorus.active", 0)
            fluid_settings_setint(settings, "synth.polyphony", 256)
            fluid_settings_setnum(settings, "synth.gain", 0.5)
            guard let synth = new_fluid_synth(settings) else {
                delete_fluid_settings(settings)
                throw FileError(path: soundFont.path, reason: "libfluidsynth cannot create a synthesiser")
            }
            LibraryErrors.shared.clear()
            let id = fluid_synth_sfload(synth, soundFont.path, 0)
            guard id != FLUID_FAILED else {
                delete_fluid_synth(synth)
                delete_fluid_settings(settings)
                let why = LibraryErrors.shared.first.map { " (\($0))" } ?? ""
                throw FileError(path: soundFont.path, reason: "not a SoundFont libfluidsynth can load" + why)
            }
            return (settings, synth, id)
        }
    }

    deinit {
        SoundFontSynth.inTurn {
            delete_fluid_synth(synth)
            delete_fluid_settings(settings)
        }
    }

    /// True when the SoundFont defines `preset` (fluidsynth would otherwise fall back
    /// silently to another one).
    public func has(_ preset: Preset) -> Bool {
        guard let font = fluid_synth_get_sfont_by_id(synth, fontID) else { return false }
        return fluid_sfont_get_preset(font, Int32(preset.bank), Int32(preset.program)) != nil
    }

    /// Renders `performance` with `preset` into a stereo signal of exactly
    /// `performance.seconds`; notes still sounding at the end are cut there.
    public func render(_ performance: Performance, preset: Preset) throws -> StereoSignal {
        guard has(preset) else {
            throw FileError(path: soundFont.path, reason: "has no preset \(preset)")
        }
        // A fluidsynth instance carries state from one take into the next (partial
        // 64-frame blocks, recycled voices' filter ramps), so each take gets a fresh one.
        // Its SoundFont load is cheap: the samples come from fluidsynth's cache, which
        // `synth` keeps alive.
        // No turn is needed here: this instance's own creation, in turn, finished
        // libfluidsynth's process-wide set-up.
        guard let synth = new_fluid_synth(settings) else {
            throw FileError(path: soundFont.path, reason: "libfluidsynth cannot create a synthesiser")
        }
        defer { delete_fluid_synth(synth) }
        let fontID = fluid_synth_sfload(synth, soundFont.path, 1)
        guard fontID != FLUID_FAILED else { throw FileError(path: soundFont.path, reason: "SoundFont failed to load again") }
        let channel: Int32 = preset.isDrumKit ? 9 : 0
        if preset.isDrumKit { fluid_synth_set_channel_type(synth, channel, Int32(CHANNEL_TYPE_DRUM.rawValue)) }
        fluid_synth_program_select(synth, channel, fontID, Int32(preset.bank), Int32(preset.program))
        fluid_synth_cc(synth, channel, 7, 110)
        fluid_synth_cc(synth, channel, 1, Int32(performance.vibrato))
        fluid_synth_pitch_bend(synth, channel, Int32(8192 + performance.detuneCents / 200 * 8192).clamped(0, 16383))

        let total = Int(performance.seconds * Double(sampleRate))
        var events: [(frame: Int, on: Bool, key: Int32, velocity: Int32)] = []
        for note in performance.notes {
            let start = Int(note.start * Double(sampleRate))
            guard start < total else { continue }
            events.append((start, true, Int32(note.key), Int32(note.velocity)))
            events.append((min(total, start + max(1, Int(note.duration * Double(sampleRate)))), false, Int32(note.key), 0))
        }
        // Offs before ons at the same frame, so a repeated key restarts cleanly.
        events.sort { $0.frame != $1.frame ? $0.frame < $1.frame : (!$0.on && $1.on) }

        var signal = StereoSignal(frames: total, sampleRate: sampleRate)
        var position = 0
        signal.left.withUnsafeMutableBufferPointer { left in
            signal.right.withUnsafeMutableBufferPointer { right in
                func advance(to frame: Int) {
                    while position < frame {
                        let count = min(4096, frame - position)
                        fluid_synth_write_float(synth, Int32(count), left.baseAddress! + position, 0, 1, right.baseAddress! + position, 0, 1)
                        position += count
                    }
                }
                for event in events {
                    advance(to: event.frame)
                    if event.on {
                        fluid_synth_noteon(synth, channel, event.key.clamped(0, 127), event.velocity.clamped(1, 127))
                    } else {
                        fluid_synth_noteoff(synth, channel, event.key.clamped(0, 127))
                    }
                }
                advance(to: total)
            }
        }
        return signal
    }

    /// libfluidsynth 2.3 sets up process-wide state (the default modulators, libinstpatch's
    /// types) while its first synthesisers are created and loaded, without a lock of its
    /// own: when worker threads create theirs at once, a synthesiser can get broken default
    /// modulators (fluidsynth warns "Modulator with source 1 none") or a valid SoundFont can
    /// fail to load. So instances are created (and freed) in turn; once one exists the
    /// set-up is done, and the per-take synthesisers and rendering run in parallel.
    private static let setupLock = NSLock()

    private static func inTurn<T>(_ body: () throws -> T) rethrows -> T {
        setupLock.lock()
        defer { setupLock.unlock() }
        return try body()
    }

    /// fluidsynth prints warnings (e.g. about missing MIDI drivers) on stderr; a batch
    /// renderer has no use for them. Its errors are kept instead, so that a SoundFont that
    /// fails to load is reported with fluidsynth's reason on the file's one line.
    private static let silence: Void = {
        for level in [FLUID_WARN, FLUID_INFO, FLUID_DBG] {
            fluid_set_log_function(Int32(level.rawValue), nil, nil)
        }
        for level in [FLUID_PANIC, FLUID_ERR] {
            fluid_set_log_function(Int32(level.rawValue), { _, message, _ in
                if let message { LibraryErrors.shared.record(String(cString: message)) }
            }, nil)
        }
        silenceGLibLog()
    }()

    /// When fluidsynth's own loader rejects a file, it hands it to libinstpatch's DLS
    /// loader, which complains through GLib's log ("CRITICAL ... IPATCH_IS_CONTAINER") on
    /// stderr. fluidsynth's reason is already on the file's line, so GLib's default log
    /// handler (found at run time; GLib comes with libfluidsynth) is given one that drops it.
    private static func silenceGLibLog() {
        typealias LogHandler = @convention(c) (UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void
        typealias SetDefaultHandler = @convention(c) (LogHandler?, UnsafeMutableRawPointer?) -> LogHandler?
        guard let program = dlopen(nil, RTLD_NOW), let symbol = dlsym(program, "g_log_set_default_handler") else { return }
        _ = unsafeBitCast(symbol, to: SetDefaultHandler.self)({ _, _, _, _ in }, nil)
    }

    private static func silenceLibraryLog() { _ = silence }
}

/// The errors libfluidsynth reported since the last `clear()`. Instances load their
/// SoundFont in turn, so between such a load's `clear()` and its end they are that load's
/// (a take's reload of a SoundFont already loaded has nothing to report); the first is the
/// default loader's reason (the DLS loader it falls back to only adds that the file is not
/// DLS either).
private final class LibraryErrors: @unchecked Sendable {
    static let shared = LibraryErrors()
    private let lock = NSLock()
    private var messages: [String] = []

    func clear() { lock.lock(); messages = []; lock.unlock() }
    func record(_ message: String) { lock.lock(); if messages.count < 8 { messages.append(message) }; lock.unlock() }
    var first: String? { lock.lock(); defer { lock.unlock() }; return messages.first }
}

extension Comparable {
    func clamped(_ low: Self, _ high: Self) -> Self { min(max(self, low), high) }
}
