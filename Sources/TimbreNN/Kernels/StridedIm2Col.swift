/// The geometry of a 2-D convolution over one image: any kernel height and width, stride,
/// zero padding and dilation. Shared by the convolution and its transpose, whose forward
/// pass is this convolution's input-gradient pass.
public struct ConvolutionGeometry: Equatable, Sendable {
    public let channels: Int, height: Int, width: Int
    public let kernelHeight: Int, kernelWidth: Int
    public let strideY: Int, strideX: Int
    public let padY: Int, padX: Int
    public let dilationY: Int, dilationX: Int

    public init(channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)) {
        self.channels = channels
        self.height = height
        self.width = width
        (kernelHeight, kernelWidth) = kernel
        (strideY, strideX) = stride
        (padY, padX) = padding
        (dilationY, dilationX) = dilation
    }

    /// ⌊(H + 2·pad − dilation·(k − 1) − 1) / stride⌋ + 1, as PyTorch and Keras compute it.
    public var outputHeight: Int { (height + 2 * padY - dilationY * (kernelHeight - 1) - 1) / strideY + 1 }
    public var outputWidth: Int { (width + 2 * padX - dilationX * (kernelWidth - 1) - 1) / strideX + 1 }
    /// Rows of the column matrix: one per (channel, kernel row, kernel column).
    public var patch: Int { channels * kernelHeight * kernelWidth }
    public var outputPixels: Int { outputHeight * outputWidth }
    public var isValid: Bool { outputHeight > 0 && outputWidth > 0 }
}

/// Stateless lowering kernels for any stride, padding and dilation: image ↔ column matrix
/// [patch × output pixels]. (`Im2Col` is the banded "same"-padding form of `Conv2D`.)
public enum StridedIm2Col {
    /// columns[(c·kh + i)·kw + j, oy·OW + ox] = image[c, oy·sy − py + i·dy, ox·sx − px + j·dx], 0 outside.
    public static func lower(_ image: UnsafePointer<Float>, _ g: ConvolutionGeometry, into columns: UnsafeMutablePointer<Float>) {
        if isColumn(g) { return lowerColumn(image, g, into: columns) }
        if spansWidth(g) { return lowerSpanningWidth(image, g, into: columns) }
        let oh = g.outputHeight, ow = g.outputWidth
        var row = 0
        for c in 0..<g.channels {
            let plane = image + c * g.height * g.width
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let target = columns + row * oh * ow
                    for oy in 0..<oh {
                        let y = oy * g.strideY - g.padY + i * g.dilationY
                        let line = target + oy * ow
                        guard y >= 0 && y < g.height else { line.update(repeating: 0, count: ow); continue }
                        for ox in 0..<ow {
                            let x = ox * g.strideX - g.padX + j * g.dilationX
                            line[ox] = x >= 0 && x < g.width ? plane[y * g.width + x] : 0
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// The adjoint of `lower`: adds every column value back onto the pixel it came from.
    public static func accumulate(_ columns: UnsafePointer<Float>, _ g: ConvolutionGeometry, into image: UnsafeMutablePointer<Float>) {
        if isColumn(g) { return accumulateColumn(columns, g, into: image) }
        if spansWidth(g) { return accumulateSpanningWidth(columns, g, into: image) }
        let oh = g.outputHeight, ow = g.outputWidth
        var row = 0
        for c in 0..<g.channels {
            let plane = image + c * g.height * g.width
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let source = columns + row * oh * ow
                    for oy in 0..<oh {
                        let y = oy * g.strideY - g.padY + i * g.dilationY
                        guard y >= 0 && y < g.height else { continue }
                        for ox in 0..<ow {
                            let x = ox * g.strideX - g.padX + j * g.dilationX
                            if x >= 0 && x < g.width { plane[y * g.width + x] += source[oy * ow + ox] }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// A one-pixel-wide image under a one-wide kernel at vertical stride 1 (Chandna's 12 × 1
    /// convolution over time): each row of the column matrix is a run of one channel's
    /// pixels, so it is copied whole instead of value by value.
    private static func isColumn(_ g: ConvolutionGeometry) -> Bool {
        g.width == 1 && g.kernelWidth == 1 && g.padX == 0 && g.strideY == 1
    }

    /// For kernel row `i`: the first image row read (at output row 0) and the output rows
    /// whose image row lies inside the image.
    private static func columnRun(_ g: ConvolutionGeometry, kernelRow i: Int) -> (first: Int, inside: Range<Int>) {
        let first = i * g.dilationY - g.padY, oh = g.outputHeight
        let lower = min(oh, max(0, -first))
        return (first, lower..<max(lower, min(oh, g.height - first)))
    }

    private static func lowerColumn(_ image: UnsafePointer<Float>, _ g: ConvolutionGeometry, into columns: UnsafeMutablePointer<Float>) {
        let oh = g.outputHeight
        for c in 0..<g.channels {
            for i in 0..<g.kernelHeight {
                let line = columns + (c * g.kernelHeight + i) * oh, (first, inside) = columnRun(g, kernelRow: i)
                line.update(repeating: 0, count: inside.lowerBound)
                (line + inside.lowerBound).update(from: image + c * g.height + first + inside.lowerBound, count: inside.count)
                (line + inside.upperBound).update(repeating: 0, count: oh - inside.upperBound)
            }
        }
    }

    private static func accumulateColumn(_ columns: UnsafePointer<Float>, _ g: ConvolutionGeometry, into image: UnsafeMutablePointer<Float>) {
        let oh = g.outputHeight
        for c in 0..<g.channels {
            for i in 0..<g.kernelHeight {
                let line = columns + (c * g.kernelHeight + i) * oh, (first, inside) = columnRun(g, kernelRow: i)
                let target = image + c * g.height + first
                for oy in inside { target[oy] += line[oy] }
            }
        }
    }

    /// Whether the column matrix is just the image transposed ([W × H] of an [H × W] image):
    /// one channel, a one-row kernel as wide as the image, no vertical stride or padding
    /// (Chandna's 1 × 513 convolution and its transpose). Then sgemm reads the image itself
    /// through its transpose flag, and no columns are made.
    public static func columnsAreTransposedImage(_ g: ConvolutionGeometry) -> Bool {
        spansWidth(g) && g.channels == 1 && g.kernelHeight == 1 && g.strideY == 1 && g.padY == 0
    }

    /// A kernel as wide as the image, unpadded (Chandna's 1 × 513 convolution across all
    /// bins): each output row takes whole image rows, so the column matrix is the image
    /// transposed. Walking the image row by row reads it contiguously; the generic loops
    /// would read one value per image row and cache line.
    private static func spansWidth(_ g: ConvolutionGeometry) -> Bool {
        g.kernelWidth == g.width && g.outputWidth == 1 && g.strideX == 1 && g.dilationX == 1 && g.padX == 0
    }

    private static func lowerSpanningWidth(_ image: UnsafePointer<Float>, _ g: ConvolutionGeometry, into columns: UnsafeMutablePointer<Float>) {
        let oh = g.outputHeight, width = g.width
        for c in 0..<g.channels {
            let plane = image + c * g.height * width
            for i in 0..<g.kernelHeight {
                let block = columns + (c * g.kernelHeight + i) * width * oh
                for oy in 0..<oh {
                    let y = oy * g.strideY - g.padY + i * g.dilationY
                    if y >= 0 && y < g.height {
                        let row = plane + y * width
                        for j in 0..<width { block[j * oh + oy] = row[j] }
                    } else {
                        for j in 0..<width { block[j * oh + oy] = 0 }
                    }
                }
            }
        }
    }

    private static func accumulateSpanningWidth(_ columns: UnsafePointer<Float>, _ g: ConvolutionGeometry, into image: UnsafeMutablePointer<Float>) {
        let oh = g.outputHeight, width = g.width
        for c in 0..<g.channels {
            let plane = image + c * g.height * width
            for i in 0..<g.kernelHeight {
                let block = columns + (c * g.kernelHeight + i) * width * oh
                for oy in 0..<oh {
                    let y = oy * g.strideY - g.padY + i * g.dilationY
                    guard y >= 0 && y < g.height else { continue }
                    let row = plane + y * width
                    for j in 0..<width { row[j] += block[j * oh + oy] }
                }
            }
        }
    }
}
