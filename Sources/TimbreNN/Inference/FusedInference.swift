/// One convolution layer's fused inference (conv → ReLU → 2×2 max-pool) ready to run on
/// single channels-last images ([height][width][channels]), each worker on its own images.
final class PooledBlock {
    let inputShape: [Int], outputShape: [Int]
    var inputSize: Int { inputShape.reduce(1, *) }
    var outputSize: Int { outputShape.reduce(1, *) }
    /// Filters rearranged for the kernel, kept alive with the block.
    private let prepared: [Float]
    private let body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, UnsafePointer<Float>) -> Void

    init(channels: Int, filters: Int, height: Int, width: Int, prepared: [Float],
         body: @escaping (_ image: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ worker: Int, _ prepared: UnsafePointer<Float>) -> Void) {
        inputShape = [channels, height, width]
        outputShape = [filters, height / 2, width / 2]
        self.prepared = prepared
        self.body = body
    }

    /// Writes the pooled output of `image` to `output`, using worker `worker`'s scratch.
    func run(_ image: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, worker: Int) {
        prepared.withUnsafeBufferPointer { body(image, output, worker, $0.baseAddress!) }
    }

    /// A batch ([n, channels, height, width]) through `blocks` one image at a time: each
    /// block reads what the previous one wrote while it is still in cache, where a whole
    /// batch's activations would have gone out to memory. Images are turned channels-last
    /// on the way in and back to channel planes on the way out.
    static func run(_ blocks: [PooledBlock], on batch: Tensor, scratch: WorkerScratch) -> Tensor {
        let n = batch.shape[0], largest = ([blocks[0].inputSize] + blocks.map(\.outputSize)).max()!
        // Per worker: the image turned channels-last, then two buffers taking turns.
        let buffers = scratch.buffers(size: 3 * largest)
        let last = blocks[blocks.count - 1]
        var output = Tensor(uninitialized: [n] + last.outputShape)
        batch.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                let xBase = x.baseAddress!, yBase = y.baseAddress!
                Parallel.forEachRange(n) { worker, items in
                    let space = buffers[worker]
                    for item in items {
                        let first = blocks[0].inputShape
                        let image = xBase + item * blocks[0].inputSize
                        var source = UnsafePointer(image)
                        if first[0] > 1 {
                            transpose(image, rows: first[0], columns: first[1] * first[2], into: space)
                            source = UnsafePointer(space)
                        }
                        for (k, block) in blocks.enumerated() {
                            let target = space + (1 + k % 2) * largest
                            block.run(source, into: target, worker: worker)
                            source = UnsafePointer(target)
                        }
                        transpose(source, rows: last.outputShape[1] * last.outputShape[2], columns: last.outputShape[0],
                                  into: yBase + item * last.outputSize)
                    }
                }
            }
        }
        return output
    }

    /// target[c][r] = source[r][c] for a [rows × columns] matrix.
    private static func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, into target: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            for c in 0..<columns { target[c * rows + r] = source[r * columns + c] }
        }
    }
}
