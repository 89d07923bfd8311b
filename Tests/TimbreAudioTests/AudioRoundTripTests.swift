import Foundation
import Testing
@testable import TimbreAudio
import TimbreCore

/// Lossless formats with the largest rounding error a sample may get.
private let losslessCases: [(AudioFileFormat, String, Double)] = [
    (.wav16, "wav", 1.0 / 32_768),
    (.wav24, "wav", 1.0 / 8_388_608),
    (.wavFloat, "wav", 0),
    (.flac16, "flac", 1.0 / 32_768),
    (.flac24, "flac", 1.0 / 8_388_608),
    (.aiff16, "aiff", 1.0 / 32_768),
]

@Suite struct AudioRoundTripTests {
    @Test(arguments: losslessCases)
    func losslessWriteThenReadGivesTheSamples(format: AudioFileFormat, ext: String, quantum: Double) throws {
        let folder = TemporaryFolder()
        let url = folder.file("tone.\(ext)")
        let samples = sine(frequency: 440, sampleRate: 44_100, seconds: 0.5)
        try AudioFileWriter.write(samples, sampleRate: 44_100, to: url, format: format)
        let (decoded, info) = try MonoAudioStream.load(url)
        #expect(info.sampleRate == 44_100 && info.channels == 1)
        #expect(decoded.count == samples.count)
        let worst = zip(decoded, samples).map { abs(Double($0) - Double($1)) }.max() ?? 0
        #expect(worst <= quantum, "worst error \(worst)")
    }

    @Test(arguments: [(AudioFileFormat.oggVorbis, "ogg"), (.opus, "opus"), (.mp3, "mp3")])
    func lossyFormatsDecodeWithFrequencyAndLevelKept(format: AudioFileFormat, ext: String) throws {
        let folder = TemporaryFolder()
        let url = folder.file("tone.\(ext)")
        let rate = 48_000
        let samples = sine(frequency: 1000, sampleRate: rate, seconds: 1.0, amplitude: 0.4)
        try AudioFileWriter.write(samples, sampleRate: rate, to: url, format: format)
        let (decoded, info) = try MonoAudioStream.load(url)
        #expect(info.sampleRate == rate)
        // Codecs add a little priming/padding; the duration stays within 100 ms.
        #expect(abs(decoded.count - samples.count) < rate / 10, "\(decoded.count) vs \(samples.count)")
        let middle = decoded[rate / 4..<rate / 2]
        #expect(abs(dominantFrequency(middle, sampleRate: rate, near: 1000, span: 5, step: 0.5) - 1000) <= 1)
        #expect(abs(20 * log10(rms(middle) / rms(samples[rate / 4..<rate / 2]))) < 0.5)
    }

    @Test func stereoIsMixedToTheChannelMean() throws {
        let folder = TemporaryFolder()
        let url = folder.file("stereo.wav")
        let left = sine(frequency: 300, sampleRate: 22_050, seconds: 0.2)
        let right = left.map { $0 * 0.25 }
        let interleaved = zip(left, right).flatMap { [$0, $1] }
        try AudioFileWriter.write(interleaved, channels: 2, sampleRate: 22_050, to: url, format: .wavFloat)
        let (mono, info) = try MonoAudioStream.load(url)
        #expect(info.channels == 2)
        for index in stride(from: 0, to: mono.count, by: 97) {
            #expect(abs(mono[index] - (left[index] + right[index]) / 2) < 1e-7)
        }
    }

    /// Asked to, the reader reads NaN and infinite samples as 0 and counts them; by default
    /// they pass through (`prepare` skips such clips itself).
    @Test func nonFiniteSamplesAreSilencedOnlyWhenAsked() throws {
        let folder = TemporaryFolder()
        let url = folder.file("damaged.wav")
        var interleaved = sine(frequency: 300, sampleRate: 8000, seconds: 0.5).flatMap { [$0, $0 / 2] }
        let damaged = [2 * 1000 + 1, 2 * 3000, 2 * 3000 + 1]
        (interleaved[damaged[0]], interleaved[damaged[1]], interleaved[damaged[2]]) = (.nan, .infinity, -.infinity)
        try AudioFileWriter.write(interleaved, channels: 2, sampleRate: 8000, to: url, format: .wavFloat)
        #expect(try AudioFileReader(url: url).readAllInterleaved().filter { !$0.isFinite }.count == 3)

        let reader = try AudioFileReader(url: url)
        reader.silencesNonFiniteSamples = true
        var decoded: [Float] = []
        while case let block = try reader.readInterleaved(maxFrames: 777), !block.isEmpty { decoded += block }
        var expected = interleaved
        for index in damaged { expected[index] = 0 }
        #expect(decoded == expected)
        #expect(reader.silencedSamples == 3)

        let stream = try MonoAudioStream(url: url, silencingNonFiniteSamples: true)
        let mono = try stream.readAll()
        #expect(mono.count == 4000 && mono.allSatisfy(\.isFinite))
        #expect(mono[1000] == interleaved[2000] / 2 && mono[3000] == 0)
        #expect(stream.silencedSamples == 3)
        #expect(AudioFileReader.silencedNote(stream.silencedSamples) == "3 NaN or infinite samples read as silence")
    }

    /// Several megabytes: libsndfile's reads cross the read buffer's refills, its large
    /// requests bypass the buffer, and every sample still arrives in place.
    @Test func aFileLargerThanTheReadBufferDecodesExactly() throws {
        let folder = TemporaryFolder()
        let url = folder.file("long.wav")
        let frames = 700_001
        let interleaved = (0..<(2 * frames)).map { Float(($0 * 7919) % 65_521) / 65_521 - 0.5 }
        try AudioFileWriter.write(interleaved, channels: 2, sampleRate: 44_100, to: url, format: .wavFloat)
        let reader = try AudioFileReader(url: url)
        #expect(reader.stamp.size > Int64(4 * BufferedFileSource.bufferBytes))
        var decoded: [Float] = []
        for size in [1, 37, 4096, 1 << 17, 1 << 20].cycled(until: 2 * frames) {
            decoded += try reader.readInterleaved(maxFrames: size)
        }
        #expect(decoded == interleaved)
    }

    @Test func writingIsAtomicAndLeavesNoTemporaryFiles() throws {
        let folder = TemporaryFolder()
        try AudioFileWriter.write([0.1, 0.2], sampleRate: 8000, to: folder.file("a.wav"))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.url.path)
        #expect(names == ["a.wav"])
    }
}

@Suite struct ResamplerTests {
    @Test(arguments: ResamplerQuality.allCases)
    func resamplingASineKeepsItsFrequencyAndLevel(quality: ResamplerQuality) throws {
        let input = sine(frequency: 440, sampleRate: 44_100, seconds: 2)
        let resampler = try quality.makeConverter(from: 44_100, to: 22_050)
        var output: [Float] = []
        // Uneven blocks: the stream must not depend on how input is cut.
        var start = 0
        for size in [1000, 7, 30_000, 4096].cycled(until: input.count) {
            let end = min(start + size, input.count)
            output += try resampler.process(Array(input[start..<end]))
            start = end
            if start == input.count { break }
        }
        output += try resampler.finish()
        #expect(output.count == 44_100)
        let middle = output[5000..<15_000]
        #expect(abs(dominantFrequency(middle, sampleRate: 22_050, near: 440, span: 2, step: 0.01) - 440) < 0.05)
        #expect(abs(20 * log10(rms(middle) / (0.5 / 2.0.squareRoot()))) < 0.01)
        // Time-aligned: the resampled sine has the input's phase.
        let expected = sine(frequency: 440, sampleRate: 22_050, seconds: 2)
        let worst = zip(output[5000..<15_000], expected[5000..<15_000]).map { abs($0 - $1) }.max()!
        #expect(worst < (quality == .fastest ? 2e-3 : 2e-4), "worst \(worst)")
    }

    @Test(arguments: ResamplerQuality.allCases)
    func outputLengthIsTheCeilingOfTheScaledLength(quality: ResamplerQuality) throws {
        for (from, count) in [(8000, 12_345), (48_000, 100_001), (44_100, 3)] {
            let resampler = try quality.makeConverter(from: from, to: 22_050)
            var total = try resampler.process([Float](repeating: 0.1, count: count)).count
            total += try resampler.finish().count
            #expect(total == (count * 22_050 + from - 1) / from, "\(from) Hz, \(count) samples")
        }
    }

    @Test func streamAtTheTargetRatePassesSamplesThrough() throws {
        let folder = TemporaryFolder()
        let url = folder.file("native.wav")
        let samples = sine(frequency: 440, sampleRate: 22_050, seconds: 0.3)
        try AudioFileWriter.write(samples, sampleRate: 22_050, to: url, format: .wavFloat)
        let (decoded, _) = try MonoAudioStream.load(url, sampleRate: 22_050)
        #expect(decoded == samples)
    }
}

@Suite struct AudioErrorTests {
    @Test func aCorruptFileIsReportedWithItsPathAndReason() throws {
        let folder = TemporaryFolder()
        let url = folder.file("broken.wav")
        try Data("RIFF\u{0}\u{0}\u{0}\u{0}WAVEnot audio".utf8).write(to: url)
        let error = #expect(throws: FileError.self) { try AudioFileReader(url: url) }
        #expect(error?.path == url.path)
        #expect(error?.reason.hasPrefix("cannot decode") == true)
        #expect(error.map { "\($0)" }?.contains("\n") == false)
    }

    @Test func aMissingFileSaysSo() {
        let error = #expect(throws: FileError.self) { try AudioFileReader(url: URL(fileURLWithPath: "/nonexistent/x.flac")) }
        #expect(error?.reason == "no such file")
    }

    @Test func anEmptyFileIsNamedEmpty() throws {
        let folder = TemporaryFolder()
        let url = folder.file("saxophone_Fs3.mp3")
        try Data().write(to: url)
        let error = #expect(throws: FileError.self) { try AudioFileReader(url: url) }
        #expect(error?.reason == "empty file (0 bytes)")
    }

    @Test func aNamedPipeIsRefusedAtOnceInsteadOfBlocking() throws {
        let folder = TemporaryFolder()
        let url = folder.file("pipe.wav")
        #expect(mkfifo(url.path, 0o600) == 0)
        let error = #expect(throws: FileError.self) { try AudioFileReader(url: url) }
        #expect(error?.reason == "not a regular file")
    }

    @Test func aFolderIsNotAnAudioFile() throws {
        let folder = TemporaryFolder()
        let error = #expect(throws: FileError.self) { try AudioFileReader(url: folder.url) }
        #expect(error?.reason == "not a regular file")
    }

    @Test func randomBytesAreAnUnrecognisedFormatInOneLine() throws {
        let folder = TemporaryFolder()
        for name in ["noise.wav", "noise.xyz"] {
            let url = folder.file(name)
            var state: UInt64 = 99
            try Data((0..<5000).map { _ -> UInt8 in state = state &* 6_364_136_223_846_793_005 &+ 1; return UInt8(truncatingIfNeeded: state >> 56) }).write(to: url)
            let error = #expect(throws: FileError.self) { try AudioFileReader(url: url) }
            #expect(error?.reason == "cannot decode (format not recognised)")
        }
    }

    @Test func aTextFileIsNotAudio() throws {
        let folder = TemporaryFolder()
        let url = folder.file("notes.mp3")
        try Data("just some words, not an mp3".utf8).write(to: url)
        #expect(throws: FileError.self) { try MonoAudioStream.load(url) }
    }
}

extension Array {
    /// Repeats the elements until their running sum of `Int` values would reach `total`.
    func cycled(until total: Int) -> [Element] where Element == Int {
        var out: [Int] = []
        var sum = 0
        while sum < total { for v in self { out.append(v); sum += v } }
        return out
    }
}

struct CodecRoundTripTests {
    /// A harmonic tone with a decaying envelope every half second: music-like, with onsets
    /// that pin down the alignment.
    private func tone(frames: Int, rate: Int) -> [Float] {
        (0..<frames).flatMap { i -> [Float] in
            let t = Double(i) / Double(rate)
            let envelope = exp(-4 * t.truncatingRemainder(dividingBy: 0.5))
            var v = 0.0
            for h in 1...6 { v += sin(2 * Double.pi * 220 * Double(h) * t) / Double(h) }
            let x = Float(0.3 * envelope * v)
            return [x, 0.8 * x]
        }
    }

    @Test(arguments: CodecRoundTrip.Codec.allCases)
    func aLowBitRateRoundTripKeepsTheLevelAndTheLength(codec: CodecRoundTrip.Codec) throws {
        let rate = 44_100, frames = 3 * rate
        let original = tone(frames: frames, rate: rate)
        let decoded = try CodecRoundTrip.apply(original, channels: 2, sampleRate: rate, codec: codec, compressionLevel: 0.9)
        #expect(decoded.count == original.count)
        func level(_ x: [Float]) -> Double { 10 * log10(x.reduce(0.0) { $0 + Double($1 * $1) } / Double(x.count)) }
        #expect(abs(level(decoded) - level(original)) < 1, "\(codec): \(level(decoded)) vs \(level(original)) dB")
        // Aligned: the error is well below the signal, yet the codec did change it.
        let error = zip(decoded, original).map { $0 - $1 }
        let snr = level(original) - level(error)
        #expect(snr > 6 && snr < 60, "\(codec): SNR \(snr) dB")
    }
}
