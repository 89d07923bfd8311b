import Testing
import TimbreCore
@testable import TimbreNN

@Suite struct StridedIm2ColTests {
    /// The column matrix from its definition: columns[(c·kh + i)·kw + j, oy·OW + ox] =
    /// image[c, oy·sy − py + i·dy, ox·sx − px + j·dx], 0 outside.
    static func reference(_ image: [Float], _ g: ConvolutionGeometry) -> [Float] {
        var columns = [Float](repeating: 0, count: g.patch * g.outputPixels)
        for c in 0..<g.channels {
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    for oy in 0..<g.outputHeight {
                        for ox in 0..<g.outputWidth {
                            let y = oy * g.strideY - g.padY + i * g.dilationY, x = ox * g.strideX - g.padX + j * g.dilationX
                            guard y >= 0, y < g.height, x >= 0, x < g.width else { continue }
                            columns[((c * g.kernelHeight + i) * g.kernelWidth + j) * g.outputPixels + oy * g.outputWidth + ox] = image[(c * g.height + y) * g.width + x]
                        }
                    }
                }
            }
        }
        return columns
    }

    /// Kernels as wide as the image (Chandna's 1 × F convolution, here also with height,
    /// vertical stride, padding and dilation) take the row-by-row path; one-pixel-wide
    /// images (the 12 × 1 convolution over time, also padded and dilated, also with output
    /// rows that read only padding) the run-copying one; a narrower kernel the generic one.
    /// All three equal the definition, and `accumulate` is `lower`'s adjoint:
    /// ⟨lower(x), y⟩ = ⟨x, accumulate(y)⟩.
    @Test(arguments: [
        ConvolutionGeometry(channels: 1, height: 30, width: 37, kernel: (1, 37)),
        ConvolutionGeometry(channels: 3, height: 9, width: 11, kernel: (3, 11), stride: (2, 1), padding: (1, 0), dilation: (2, 1)),
        ConvolutionGeometry(channels: 2, height: 7, width: 11, kernel: (3, 5), stride: (1, 2), padding: (1, 2)),
        ConvolutionGeometry(channels: 3, height: 19, width: 1, kernel: (12, 1)),
        ConvolutionGeometry(channels: 2, height: 6, width: 1, kernel: (3, 1), padding: (2, 0), dilation: (3, 1)),
        ConvolutionGeometry(channels: 1, height: 2, width: 1, kernel: (2, 1), padding: (3, 0)),
    ])
    func loweringMatchesItsDefinitionAndItsAdjoint(g: ConvolutionGeometry) {
        var rng = SeededGenerator(seed: 21)
        let image = (0..<(g.channels * g.height * g.width)).map { _ in Float(rng.uniform(-1, 1)) }
        var columns = [Float](repeating: .nan, count: g.patch * g.outputPixels)
        image.withUnsafeBufferPointer { x in columns.withUnsafeMutableBufferPointer { StridedIm2Col.lower(x.baseAddress!, g, into: $0.baseAddress!) } }
        #expect(columns == Self.reference(image, g))
        let y = (0..<columns.count).map { _ in Float(rng.uniform(-1, 1)) }
        var back = [Float](repeating: 0, count: image.count)
        y.withUnsafeBufferPointer { y in back.withUnsafeMutableBufferPointer { StridedIm2Col.accumulate(y.baseAddress!, g, into: $0.baseAddress!) } }
        let left = zip(columns, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let right = zip(image, back).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(left - right) < 1e-4 * max(1, abs(left)))
    }
}
