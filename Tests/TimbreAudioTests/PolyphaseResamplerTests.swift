import Foundation
import Testing
@testable import TimbreAudio

@Suite struct PolyphaseResamplerTests {
    func resample(_ input: [Float], from: Int, to: Int, blocks: [Int] = [65_536]) throws -> [Float] {
        let converter = try #require(PolyphaseResampler(from: from, to: to))
        var output: [Float] = []
        var start = 0
        var index = 0
        while start < input.count {
            let end = min(start + blocks[index % blocks.count], input.count)
            output += try converter.process(Array(input[start..<end]))
            start = end
            index += 1
        }
        return output + (try converter.finish())
    }

    func levelDB(_ x: ArraySlice<Float>) -> Double { 20 * log10(max(rms(x), 1e-30)) }

    @Test(arguments: [44_100, 48_000])
    func toneAboveTheNewNyquistIsRemoved(rate: Int) throws {
        let input = sine(frequency: 15_000, sampleRate: rate, seconds: 1, amplitude: 1)
        let output = try resample(input, from: rate, to: 22_050)
        // Away from the edges, what aliases back is at least 95 dB down.
        #expect(levelDB(output[2000..<20_000]) - levelDB(input[0...]) < -95)
    }

    @Test(arguments: [(44_100, 9_000.0), (48_000, 9_000.0), (16_000, 7_000.0)])
    func passbandTonesKeepTheirLevel(rate: Int, frequency: Double) throws {
        let input = sine(frequency: frequency, sampleRate: rate, seconds: 1)
        let output = try resample(input, from: rate, to: 22_050)
        let expected = sine(frequency: frequency, sampleRate: 22_050, seconds: 1)
        #expect(abs(levelDB(output[2000..<20_000]) - levelDB(expected[2000..<20_000])) < 0.01)
        let worst = zip(output[2000..<20_000], expected[2000..<20_000]).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-3, "worst sample error \(worst)")
    }

    @Test func blockSizesDoNotChangeTheOutput() throws {
        let input = (0..<50_000).map { Float(sin(Double($0) * 0.05) + 0.3 * sin(Double($0) * 0.71)) * 0.4 }
        let whole = try resample(input, from: 48_000, to: 22_050)
        let pieces = try resample(input, from: 48_000, to: 22_050, blocks: [1, 333, 4096, 17])
        #expect(whole.count == pieces.count)
        let worst = zip(whole, pieces).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-6)
    }

    @Test func irregularRatiosFallBackToLibsamplerate() throws {
        #expect(PolyphaseResampler(from: 44_056, to: 22_050) == nil)
        let converter = try ResamplerQuality.polyphase.makeConverter(from: 44_056, to: 22_050)
        #expect(converter is Resampler)
    }

    @Test func besselI0KnownValues() {
        #expect(abs(PolyphaseFilter.besselI0(0) - 1) < 1e-15)
        #expect(abs(PolyphaseFilter.besselI0(1) - 1.2660658777520082) < 1e-13)
        #expect(abs(PolyphaseFilter.besselI0(10) - 2815.716628466254) / 2815.7 < 1e-13)
    }
}
