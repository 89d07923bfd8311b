/// Which kernel lowers a "same" convolution, decided here rather than in the layer: the
/// layer declares its shape, the kernel room picks the fastest exact method for it.
enum ConvolutionAlgorithm: Equatable {
    /// Winograd F(4×4, 3×3) in all three passes: 4× fewer multiplications for 3×3 kernels
    /// over several channels (the weight gradient through the transform's adjoint).
    case winograd
    /// Direct summation: a single input channel with 3×3 kernels (the spectrogram layer),
    /// where im2col would copy every pixel nine times for one multiply-add each.
    case direct
    /// im2col and one matrix product, for any other kernel.
    case im2col

    static func choose(kernel: Int, inChannels: Int) -> ConvolutionAlgorithm {
        guard kernel == 3 else { return .im2col }
        return inChannels > 1 ? .winograd : .direct
    }
}
