/// The classifier's fusions, decided once by a pass over the architecture instead of inside
/// the layer builder and the forward loop:
/// - a ReLU right after a convolution runs inside the convolution's parallel loop, and the
///   ReLU layer becomes an identity;
/// - a max-pool after such a pair applies the ReLU's gradient mask, so the convolution's
///   backward pass need not;
/// - at inference, a run of conv → ReLU → 2×2 max-pool blocks (dropout between them does
///   nothing there) goes image by image through channels-last fused kernels.
struct FusionPass {
    /// Convolutions that apply their following ReLU themselves.
    let convolutionsWithReLU: Set<Int>
    /// ReLU layers whose work a convolution does.
    let identityReLUs: Set<Int>
    /// Max-pool layers that mask the gradient for the fused ReLU before them.
    let maskingPools: Set<Int>
    /// For every convolution that starts a conv → ReLU → 2×2 pool block: the convolutions of
    /// the run of such blocks from there.
    let pooledRuns: [Int: [Int]]

    init(_ layers: [Architecture.LayerSpec]) {
        func isConvolution(_ i: Int) -> Bool { if i >= 0, i < layers.count, case .conv2d = layers[i] { return true } else { return false } }
        func startsPooledBlock(_ i: Int) -> Bool {
            isConvolution(i) && i + 2 < layers.count && layers[i + 1] == .relu && layers[i + 2] == .maxPool(size: 2)
        }
        convolutionsWithReLU = Set(layers.indices.filter { isConvolution($0) && $0 + 1 < layers.count && layers[$0 + 1] == .relu })
        identityReLUs = Set(layers.indices.filter { layers[$0] == .relu && isConvolution($0 - 1) })
        maskingPools = Set(layers.indices.filter { index in
            if case .maxPool = layers[index], index >= 2, layers[index - 1] == .relu, isConvolution(index - 2) { return true }
            return false
        })
        var runs: [Int: [Int]] = [:]
        for start in layers.indices where startsPooledBlock(start) {
            var run = [start], next = start + 3
            while true {
                while next < layers.count, case .dropout = layers[next] { next += 1 }
                guard startsPooledBlock(next) else { break }
                run.append(next)
                next += 3
            }
            runs[start] = run
        }
        pooledRuns = runs
    }
}
