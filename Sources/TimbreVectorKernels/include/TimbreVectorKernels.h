#ifndef TIMBRE_VECTOR_KERNELS_H
#define TIMBRE_VECTOR_KERNELS_H

/// The network's innermost vector loops, compiled once per vector unit (AVX-512, AVX2 with
/// fused multiply-add, and baseline x86-64) and chosen when first called from the CPU's
/// features, as OpenBLAS and FFTW choose theirs. One binary thus runs on any x86-64 machine
/// and still uses the widest unit it finds. `TIMBRE_VECTOR_UNIT=avx2` (or `baseline`) asks
/// for a narrower unit than the CPU has, for comparing the paths; a wider one than the CPU
/// has is never used. Every unit computes each value in the same order, and AVX-512 and
/// AVX2 with the same (fused) operations, so those two agree bit for bit; baseline x86-64
/// does not fuse, and differs by rounding.
///
/// Images and outputs are plain float arrays; counts are `long` (Swift's `Int`).

/// The vector units, narrowest first.
typedef enum {
    TimbreVectorUnitBaseline = 0,
    TimbreVectorUnitAVX2 = 1,
    TimbreVectorUnitAVX512 = 2,
} TimbreVectorUnit;

/// The unit the kernels use in this process.
TimbreVectorUnit timbre_vector_unit(void);

/// Its name, for `timbre --version`: "AVX-512 with FMA", "AVX2 with FMA" or "baseline x86-64"
/// ("NEON with FMA" on arm64).
const char *timbre_vector_unit_name(void);

/// 3×3 "same" convolution of one single-channel image, `filters` planes of height × width
/// written to `output`: output[f] = biases[f] + weights[f] ⋆ image, through max(0, ·) when
/// `relu` is non-zero. `padded` holds the image with one zero pixel on every side, rows
/// `stride` values apart, each row readable 16 values past its last column.
void timbre_direct_forward(const float *padded, long stride, long height, long width,
                           const float *weights, const float *biases, long filters, int relu, float *output);

/// max-pool₂ₓ₂(max(0, biases[f] + weights[f] ⋆ image)) written channels-last
/// ([height/2][width/2][filters], filters a multiple of 8). `taps` holds the weights
/// tap-major ([9][filters]). Each value is summed in the order of `timbre_direct_forward`.
void timbre_direct_forward_pooled_channels_last(const float *padded, long stride, long height, long width,
                                                const float *taps, const float *biases, long filters, float *output);

/// Adds ∂L/∂weights ([filters × 9]) and ∂L/∂biases ([filters]) of one image, given the
/// output gradient ([filters][height × width]). With `output` non-null, the gradient is
/// first zeroed where that output was clipped by a ReLU (is ≤ 0; a NaN keeps its gradient).
void timbre_direct_weight_gradient(const float *padded, long stride, long height, long width,
                                   const float *output_gradient, const float *output, long filters,
                                   float *weight_gradient, float *bias_gradient);

/// Winograd F(4×4, 3×3) input transform V = Bᵀ d B of `tiles` tiles of a channels-last
/// image ([height][width][channels], channels a multiple of 8), tile t being tile row
/// first_tile_row + t / tile_columns, column t % tile_columns; pixels outside the image
/// read as zero. V[ξ][t][c] goes to v + ξ · plane_stride + t · channels + c.
void timbre_winograd_transform_tiles(const float *input, long channels, long height, long width,
                                     long first_tile_row, long tiles, long tile_columns,
                                     float *v, long plane_stride);

/// Winograd output transform Y = Aᵀ M A of `tiles` tiles (as in the input transform),
/// M[ξ][t][o] at m + ξ · plane_stride + t · outputs + o, then bias, ReLU and 2×2 max-pool:
/// each 4×4 tile gives 2×2 pooled pixels of the channels-last output
/// ([pooled_height][pooled_width][outputs], outputs a multiple of 8).
void timbre_winograd_output_pooled(const float *m, long plane_stride, long outputs,
                                   long first_tile_row, long tiles, long tile_columns,
                                   long pooled_height, long pooled_width,
                                   const float *bias, float *output);

/// σ(x) = 1 / (1 + e⁻ˣ) of `count` values in place, through a polynomial exponential
/// within about one unit in the last place of the C library's; a NaN stays NaN.
void timbre_sigmoid(float *values, long count);

#endif
