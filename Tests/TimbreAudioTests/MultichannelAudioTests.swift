import Foundation
import Testing
@testable import TimbreAudio

@Suite struct MultichannelAudioTests {
    @Test func threeChannelsRoundTripAtTheFilesOwnRate() throws {
        let folder = TemporaryFolder()
        let left = sine(frequency: 440, sampleRate: 48_000, seconds: 0.25)
        let right = sine(frequency: 1_000, sampleRate: 48_000, seconds: 0.25, amplitude: 0.25)
        let third = left.indices.map { Float($0 % 7) / 8 - 0.4 }
        let audio = MultichannelAudio(channels: [left, right, third], sampleRate: 48_000)
        let url = folder.file("three.flac")
        try audio.write(to: url)
        let back = try MultichannelAudio(contentsOf: url)
        #expect(back.sampleRate == 48_000)
        #expect(back.channelCount == 3 && back.frameCount == left.count)
        // 24-bit FLAC: every sample within one quantisation step.
        for (written, read) in zip(audio.channels, back.channels) {
            let worst = zip(written, read).map { abs($0 - $1) }.max()!
            #expect(worst < 1.0 / 8_000_000)
        }
        // The channels keep their order: the second is the quieter one.
        #expect(rms(back.channels[1][...]) < 0.6 * rms(back.channels[0][...]))
    }

    @Test func aMissingFileNamesItself() {
        #expect(throws: (any Error).self) { try MultichannelAudio(contentsOf: URL(fileURLWithPath: "/nonexistent/mix.wav")) }
    }
}
