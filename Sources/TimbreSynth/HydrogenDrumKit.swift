import Foundation
import TimbreAudio
import TimbreCore

/// A drum kit of real recorded hits from Hydrogen's `drumkit.xml` format (Debian's
/// hydrogen-drumkits): instruments with velocity layers, each layer a sample file.
/// Plays General MIDI drum keys so the same grooves drive SoundFont kits and these.
public final class HydrogenDrumKit {
    public let name: String
    public let folder: URL
    /// Velocity layers per General MIDI key this kit can play.
    private var layers: [Int: [Layer]] = [:]
    public let sampleRate: Int

    struct Layer {
        let low: Double
        let high: Double
        let gain: Float
        let samples: [Float]
    }

    /// Loads the kit at `folder`, decoding every sample it needs at `sampleRate`.
    /// Throws when the kit has no kick, snare or hi-hat/ride it can use.
    public init(folder: URL, sampleRate: Int = 44_100) throws {
        self.folder = folder
        self.sampleRate = sampleRate
        let xmlURL = folder.appendingPathComponent("drumkit.xml")
        guard let text = try? String(contentsOf: xmlURL, encoding: .utf8) else {
            throw FileError(path: xmlURL.path, reason: "cannot read the kit description")
        }
        name = HydrogenDrumKit.value("name", in: text) ?? folder.lastPathComponent
        var cache: [String: [Float]] = [:]
        for block in text.components(separatedBy: "<instrument>").dropFirst() {
            guard let instrumentName = HydrogenDrumKit.value("name", in: block),
                  let key = HydrogenDrumKit.drumKey(forInstrumentNamed: instrumentName), layers[key] == nil else { continue }
            let instrumentGain = Float(HydrogenDrumKit.value("gain", in: block) ?? "1") ?? 1
            var found: [Layer] = []
            let layerBlocks = block.components(separatedBy: "<layer>").dropFirst()
            let descriptions = layerBlocks.isEmpty ? [block] : Array(layerBlocks)
            for layer in descriptions {
                guard let file = HydrogenDrumKit.value("filename", in: layer) else { continue }
                let url = folder.appendingPathComponent(file)
                if cache[file] == nil {
                    guard let decoded = try? MonoAudioStream.load(url, sampleRate: sampleRate).samples, !decoded.isEmpty else { continue }
                    cache[file] = decoded
                }
                found.append(Layer(
                    low: Double(HydrogenDrumKit.value("min", in: layer) ?? "0") ?? 0,
                    high: Double(HydrogenDrumKit.value("max", in: layer) ?? "1") ?? 1,
                    gain: instrumentGain * (Float(HydrogenDrumKit.value("gain", in: layer) ?? "1") ?? 1),
                    samples: cache[file]!))
            }
            if !found.isEmpty { layers[key] = found }
        }
        typealias K = PhraseComposer.DrumKey
        guard layers[K.kick] != nil, layers[K.snare] != nil, layers[K.closedHat] != nil || layers[K.ride] != nil else {
            throw FileError(path: folder.path, reason: "kit lacks a kick, a snare or a hi-hat/ride")
        }
    }

    /// Renders drum `notes` (General MIDI keys) into a stereo signal, each drum panned
    /// to its place in the kit. Keys the kit lacks fall back to a near relative.
    public func render(_ notes: [Note], seconds: Double) -> StereoSignal {
        var signal = StereoSignal(frames: Int(seconds * Double(sampleRate)), sampleRate: sampleRate)
        for note in notes {
            guard let key = playableKey(note.key), let choices = layers[key] else { continue }
            let velocity = Double(note.velocity) / 127
            let layer = choices.first { velocity >= $0.low && velocity <= $0.high } ?? choices[0]
            let gain = layer.gain * Float(pow(velocity, 1.6))
            let pan = HydrogenDrumKit.pan[key] ?? 0
            let left = gain * Float(1 - max(0, pan)), right = gain * Float(1 + min(0, pan))
            let start = Int(note.start * Double(sampleRate))
            let count = min(layer.samples.count, signal.frames - start)
            guard count > 0 else { continue }
            for i in 0..<count {
                signal.left[start + i] += left * layer.samples[i]
                signal.right[start + i] += right * layer.samples[i]
            }
        }
        return signal
    }

    private func playableKey(_ key: Int) -> Int? {
        PhraseComposer.DrumKey.playable(key, in: Set(layers.keys))
    }

    /// Stereo position of each drum, left (−1) to right (+1).
    private static let pan: [Int: Double] = [42: 0.4, 44: 0.4, 46: 0.4, 49: -0.5, 51: 0.5, 50: 0.25, 47: -0.1, 45: -0.35]

    /// The General MIDI key for a kit instrument's name, or nil for sounds the grooves do
    /// not use (claps, cowbells, effects).
    static func drumKey(forInstrumentNamed rawName: String) -> Int? {
        typealias K = PhraseComposer.DrumKey
        let name = rawName.lowercased()
        func has(_ words: String...) -> Bool { words.contains { name.contains($0) } }
        if has("kick", "bass drum", "bassdrum", "bd") { return K.kick }
        if has("stick", "rim") { return K.sideStick }
        if has("snare") && !has("roll") { return K.snare }
        if has("hat", "hh") {
            if has("pedal", "pd") { return K.pedalHat }
            if has("open", "op") { return K.openHat }
            if has("closed", "cl") || !has("semi", "swish", "side") { return K.closedHat }
            return nil
        }
        if has("ride") && !has("bell") { return K.ride }
        if has("crash") { return K.crash }
        if has("tom") {
            if has("low", "floor", "lo") { return K.lowTom }
            if has("hi") { return K.highTom }
            return K.midTom
        }
        return nil
    }

    /// The text of the first `<tag>...</tag>` in `text`, XML entities left as they are.
    static func value(_ tag: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(tag)>"), let close = text.range(of: "</\(tag)>", range: open.upperBound..<text.endIndex) else { return nil }
        return String(text[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
