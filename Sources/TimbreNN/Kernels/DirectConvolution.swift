import TimbreVectorKernels

/// 3×3 "same" convolution of a single-channel image, computed directly with vector
/// multiply-adds along each row (the loops are TimbreVectorKernels', chosen for the CPU).
///
/// A spectrogram has one channel, so the first layer's im2col matrix has only nine rows:
/// too thin for a matrix product to run near peak. Direct loops keep the image (about
/// 70 KB, padded) in cache and touch each output value once.
enum DirectConvolution {
    /// Pixels the kernels read past a row's last column.
    static let lanes = 16

    /// The image with one zero pixel of padding on every side, rows `stride` apart;
    /// rows are long enough for whole-vector loads past the last column.
    struct PaddedImage {
        let stride: Int
        let pointer: UnsafeMutablePointer<Float>

        static func capacity(height: Int, width: Int) -> Int { (height + 2) * rowStride(width: width) }
        static func rowStride(width: Int) -> Int { (width + 2 + DirectConvolution.lanes + 15) / 16 * 16 }

        /// Copies `image` ([height × width]) into `buffer` with its padding.
        init(_ image: UnsafePointer<Float>, height: Int, width: Int, buffer: UnsafeMutablePointer<Float>) {
            stride = Self.rowStride(width: width)
            pointer = buffer
            buffer.update(repeating: 0, count: Self.capacity(height: height, width: width))
            for y in 0..<height { (buffer + (y + 1) * stride + 1).update(from: image + y * width, count: width) }
        }
    }

    /// output[f] = bias[f] + Σ weight[f] ⋆ image, optionally through max(0, ·).
    static func forward(_ image: PaddedImage, height: Int, width: Int, weights: UnsafePointer<Float>, biases: UnsafePointer<Float>,
                        filters: Int, relu: Bool, into output: UnsafeMutablePointer<Float>) {
        timbre_direct_forward(image.pointer, image.stride, height, width, weights, biases, filters, relu ? 1 : 0, output)
    }

    /// Weights [filters × 9] regrouped as [9][filters], so that one tap of eight filters
    /// is one vector load; for `forwardPooledChannelsLast`.
    static func tapMajor(_ weights: UnsafePointer<Float>, filters: Int) -> [Float] {
        var taps = [Float](repeating: 0, count: 9 * filters)
        for f in 0..<filters {
            for k in 0..<9 { taps[k * filters + f] = weights[9 * f + k] }
        }
        return taps
    }

    /// max-pool₂ₓ₂(max(0, bias[f] + weight[f] ⋆ image)) written channels-last
    /// ([height/2][width/2][filters], filters a multiple of 8): inference's conv → ReLU →
    /// pool for the single-channel layer, vectorised over filters. `taps` comes from
    /// `tapMajor`. Each value is summed in the order `forward` uses, so the results equal
    /// the unfused layers' exactly.
    static func forwardPooledChannelsLast(_ image: PaddedImage, height: Int, width: Int, taps: UnsafePointer<Float>, biases: UnsafePointer<Float>,
                                          filters: Int, into output: UnsafeMutablePointer<Float>) {
        precondition(filters % 8 == 0, "channels-last output needs a multiple of 8 filters")
        timbre_direct_forward_pooled_channels_last(image.pointer, image.stride, height, width, taps, biases, filters, output)
    }

    /// Adds ∂L/∂weight ([filters × 9]) and ∂L/∂bias ([filters]) for one image into
    /// `weightGradient` and `biasGradient`; with `output`, the gradient is first zeroed
    /// where that output was clipped by the fused ReLU.
    static func weightGradient(_ image: PaddedImage, height: Int, width: Int, outputGradient: UnsafePointer<Float>,
                               output: UnsafePointer<Float>?, filters: Int,
                               weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>) {
        timbre_direct_weight_gradient(image.pointer, image.stride, height, width, outputGradient, output, filters, weightGradient, biasGradient)
    }
}
