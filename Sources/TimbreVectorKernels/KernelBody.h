// The kernels' bodies, included by VectorKernels.c once per (vector unit, vector width).
// Before each inclusion it defines KERNEL_UNIT (a name suffix), KERNEL_TARGET (the
// function attribute naming the instructions allowed), KERNEL_FUSED (1 when sums use
// fused multiply-adds) and KERNEL_LANES (8 or 16 floats per vector). No include guard.
// The dispatcher calls only the widths each unit uses, hence the kernels' `unused`.

#define KERNEL_PASTE3(a, b, c) a##_##b##_##c
#define KERNEL_NAME3(a, b, c) KERNEL_PASTE3(a, b, c)
/// A function of this inclusion: name_UNIT_LANES.
#define KERNEL(name) KERNEL_NAME3(name, KERNEL_UNIT, KERNEL_LANES)

typedef float KERNEL(vector) __attribute__((ext_vector_type(KERNEL_LANES)));
typedef int KERNEL(mask) __attribute__((ext_vector_type(KERNEL_LANES)));
#define V KERNEL(vector)
#define M KERNEL(mask)

static inline __attribute__((always_inline)) KERNEL_TARGET V KERNEL(load)(const float *p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) KERNEL_TARGET void KERNEL(store)(float *p, V v) {
    __builtin_memcpy(p, &v, sizeof v);
}

/// sum + a · b, fused or not as the unit decides (VectorKernels.c turns the compiler's own
/// contraction off, so no other expression is fused).
static inline __attribute__((always_inline)) KERNEL_TARGET V KERNEL(multiply_add)(V sum, V a, V b) {
#if KERNEL_FUSED
    return __builtin_elementwise_fma(a, b, sum);
#else
    return sum + a * b;
#endif
}

/// b where b > a, else a (a NaN in b never wins).
static inline __attribute__((always_inline)) KERNEL_TARGET V KERNEL(larger)(V a, V b) {
    M take = b > a;
    return (V)((take & (M)b) | (~take & (M)a));
}

/// 0 where v < 0, else v.
static inline __attribute__((always_inline)) KERNEL_TARGET V KERNEL(clamped_at_zero)(V v) {
    M negative = v < 0.0f;
    return (V)(~negative & (M)v);
}

/// The lanes' sum, lane 0 first and one lane at a time (the order of Swift's `SIMD.sum()`
/// in the kernels these replaced), the same for every unit.
static inline __attribute__((always_inline)) KERNEL_TARGET float KERNEL(sum)(V v) {
    float total = v[0];
    for (int lane = 1; lane < KERNEL_LANES; lane++) total += v[lane];
    return total;
}

#if KERNEL_LANES == 16
// Planar single-channel kernels: 16 pixels of a row per vector, whatever the unit.

/// The nine taps' rows: tap k of output row y reads padded row y + k / 3, column x + k % 3.
#define KERNEL_TAP(rows, k, x) KERNEL(load)((rows)[(k) / 3] + (x) + (k) % 3)

static KERNEL_TARGET __attribute__((unused)) void KERNEL(direct_forward)(const float *padded, long stride, long height, long width,
                                                 const float *weights, const float *biases, long filters, int relu, float *output) {
    const long pixels = height * width;
    for (long f = 0; f < filters; f++) {
        V w[9];
        for (int k = 0; k < 9; k++) w[k] = weights[9 * f + k];
        float *plane = output + f * pixels;
        for (long y = 0; y < height; y++) {
            const float *rows[3] = {padded + y * stride, padded + (y + 1) * stride, padded + (y + 2) * stride};
            for (long x = 0; x < width; x += KERNEL_LANES) {
                V sum = biases[f];
                for (int k = 0; k < 9; k++) sum = KERNEL(multiply_add)(sum, w[k], KERNEL_TAP(rows, k, x));
                if (relu) sum = KERNEL(clamped_at_zero)(sum);
                float *target = plane + y * width + x;
                if (x + KERNEL_LANES <= width) {
                    KERNEL(store)(target, sum);
                } else {
                    for (long lane = 0; lane < width - x; lane++) target[lane] = sum[lane];
                }
            }
        }
    }
}

static KERNEL_TARGET __attribute__((unused)) void KERNEL(direct_weight_gradient)(const float *padded, long stride, long height, long width,
                                                         const float *output_gradient, const float *output, long filters,
                                                         float *weight_gradient, float *bias_gradient) {
    const long pixels = height * width;
    for (long f = 0; f < filters; f++) {
        V g[9] = {0}, gb = 0;
        const float *plane = output_gradient + f * pixels;
        const float *clipped = output ? output + f * pixels : 0;
        for (long y = 0; y < height; y++) {
            const float *rows[3] = {padded + y * stride, padded + (y + 1) * stride, padded + (y + 2) * stride};
            for (long x = 0; x < width; x += KERNEL_LANES) {
                const long at = y * width + x;
                V d = 0;
                if (x + KERNEL_LANES <= width) {
                    d = KERNEL(load)(plane + at);
                    if (clipped) {
                        M zeroed = KERNEL(load)(clipped + at) <= 0.0f;
                        d = (V)(~zeroed & (M)d);
                    }
                } else {
                    for (long lane = 0; lane < width - x; lane++) {
                        if (!clipped || !(clipped[at + lane] <= 0)) d[lane] = plane[at + lane];
                    }
                }
                gb += d;
                for (int k = 0; k < 9; k++) g[k] = KERNEL(multiply_add)(g[k], d, KERNEL_TAP(rows, k, x));
            }
        }
        for (int k = 0; k < 9; k++) weight_gradient[9 * f + k] += KERNEL(sum)(g[k]);
        bias_gradient[f] += KERNEL(sum)(gb);
    }
}
#undef KERNEL_TAP

/// e^t for t ≤ 0 to within about one unit in the last place: t = n·ln 2 + r with
/// |r| ≤ ln 2 / 2, eᵗ = 2ⁿ · p(r), p a degree-7 polynomial (Cephes's minimax coefficients);
/// below ln(2⁻¹²⁶) the result is 0. A NaN stays NaN.
static inline __attribute__((always_inline)) KERNEL_TARGET V KERNEL(exp_negative)(V t) {
    const M underflow = t < -87.3f, invalid = t != t;
    // The exponent is computed from t clamped into range (and NaN replaced), so the float
    // to integer conversion below is always defined.
    V safe = (V)((underflow & (M)(V)(-87.3f)) | (~underflow & (M)t));
    safe = (V)(~invalid & (M)safe);
    const V n = __builtin_elementwise_floor(safe * 1.44269504088896341f + 0.5f);
    // ln 2 in two parts, so n·ln 2 is subtracted without losing r's low bits.
    V r = KERNEL(multiply_add)(safe, n, (V)(-0.693359375f));
    r = KERNEL(multiply_add)(r, n, (V)(2.12194440e-4f));
    V p = (V)(1.9875691500e-4f);
    p = KERNEL(multiply_add)((V)(1.3981999507e-3f), p, r);
    p = KERNEL(multiply_add)((V)(8.3334519073e-3f), p, r);
    p = KERNEL(multiply_add)((V)(4.1665795894e-2f), p, r);
    p = KERNEL(multiply_add)((V)(1.6666665459e-1f), p, r);
    p = KERNEL(multiply_add)((V)(5.0000001201e-1f), p, r);
    p = KERNEL(multiply_add)(r + 1.0f, p, r * r);
    // 2ⁿ from its exponent bits (n ≥ −126).
    const M scale = (__builtin_convertvector(n, M) + 127) << 23;
    const V e = (V)(~underflow & (M)(p * (V)scale));
    return (V)((invalid & (M)t) | (~invalid & (M)e));
}

/// σ(x) = 1 / (1 + e⁻ˣ) in place, from e^(−|x|), which never overflows: 1/(1 + e) for
/// x ≥ 0, e/(1 + e) below.
static KERNEL_TARGET __attribute__((unused)) void KERNEL(sigmoid)(float *values, long count) {
    long i = 0;
    for (; i + KERNEL_LANES <= count; i += KERNEL_LANES) {
        const V x = KERNEL(load)(values + i);
        const V e = KERNEL(exp_negative)(-__builtin_elementwise_abs(x));
        const M positive = x >= 0.0f;
        const V numerator = (V)((positive & (M)(V)(1.0f)) | (~positive & (M)e));
        KERNEL(store)(values + i, numerator / (1.0f + e));
    }
    if (i < count) {
        // The tail through one padded vector, so every value takes the same arithmetic.
        float tail[KERNEL_LANES] = {0};
        for (long k = i; k < count; k++) tail[k - i] = values[k];
        KERNEL(sigmoid)(tail, KERNEL_LANES);
        for (long k = i; k < count; k++) values[k] = tail[k - i];
    }
}
#endif

// Channels-last kernels: KERNEL_LANES filters or channels per vector.

static KERNEL_TARGET __attribute__((unused)) void KERNEL(direct_pooled)(const float *padded, long stride, long height, long width,
                                                const float *taps, const float *biases, long filters, float *output) {
    const long pooled_height = height / 2, pooled_width = width / 2;
    for (long oy = 0; oy < pooled_height; oy++) {
        for (long ox = 0; ox < pooled_width; ox++) {
            // The window's four outputs (2oy + a, 2ox + b) see padded rows 2oy + a + dy and
            // columns 2ox + b + dx.
            const long y = 2 * oy, x = 2 * ox;
            float *target = output + (oy * pooled_width + ox) * filters;
            for (long f = 0; f < filters; f += 2 * KERNEL_LANES) {
                // Two vectors of filters at once (eight independent sums); an odd last
                // vector is computed twice and stored once.
                const long g = f + KERNEL_LANES < filters - KERNEL_LANES ? f + KERNEL_LANES : filters - KERNEL_LANES;
                const V bias_f = KERNEL(load)(biases + f), bias_g = KERNEL(load)(biases + g);
                V f00 = bias_f, f01 = bias_f, f10 = bias_f, f11 = bias_f;
                V g00 = bias_g, g01 = bias_g, g10 = bias_g, g11 = bias_g;
                for (long dy = 0; dy < 3; dy++) {
                    const float *top = padded + (y + dy) * stride + x, *bottom = top + stride;
                    for (long dx = 0; dx < 3; dx++) {
                        const long k = 3 * dy + dx;
                        const V wf = KERNEL(load)(taps + k * filters + f), wg = KERNEL(load)(taps + k * filters + g);
                        const V p00 = top[dx], p01 = top[dx + 1], p10 = bottom[dx], p11 = bottom[dx + 1];
                        f00 = KERNEL(multiply_add)(f00, wf, p00); f01 = KERNEL(multiply_add)(f01, wf, p01);
                        f10 = KERNEL(multiply_add)(f10, wf, p10); f11 = KERNEL(multiply_add)(f11, wf, p11);
                        g00 = KERNEL(multiply_add)(g00, wg, p00); g01 = KERNEL(multiply_add)(g01, wg, p01);
                        g10 = KERNEL(multiply_add)(g10, wg, p10); g11 = KERNEL(multiply_add)(g11, wg, p11);
                    }
                }
                KERNEL(store)(target + f, KERNEL(clamped_at_zero)(KERNEL(larger)(KERNEL(larger)(f00, f01), KERNEL(larger)(f10, f11))));
                KERNEL(store)(target + g, KERNEL(clamped_at_zero)(KERNEL(larger)(KERNEL(larger)(g00, g01), KERNEL(larger)(g10, g11))));
            }
        }
    }
}

/// Bᵀ applied to six vectors, in place.
static inline __attribute__((always_inline)) KERNEL_TARGET void KERNEL(input_transform)(V x[6]) {
    const V x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5];
    const V four_x2 = 4.0f * x2, two_x13 = 2.0f * (x1 - x3), x24 = x4 - x2;
    x[0] = 4.0f * x0 - 5.0f * x2 + x4;
    x[1] = x3 + x4 - 4.0f * x1 - four_x2;
    x[2] = 4.0f * x1 - four_x2 + x4 - x3;
    x[3] = x24 - two_x13;
    x[4] = x24 + two_x13;
    x[5] = 4.0f * x1 - 5.0f * x3 + x5;
}

/// Aᵀ applied to six vectors: four outputs.
static inline __attribute__((always_inline)) KERNEL_TARGET void KERNEL(output_transform)(const V m[6], V y[4]) {
    const V s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
    y[0] = m[0] + s12 + s34;
    y[1] = d12 + 2.0f * d34;
    y[2] = s12 + 4.0f * s34;
    y[3] = d12 + 8.0f * d34 + m[5];
}

static KERNEL_TARGET __attribute__((unused)) void KERNEL(winograd_tiles)(const float *input, long channels, long height, long width,
                                                 long first_tile_row, long tiles, long tile_columns, float *v, long plane_stride) {
    for (long tile = 0; tile < tiles; tile++) {
        const long y0 = 4 * (first_tile_row + tile / tile_columns) - 1, x0 = 4 * (tile % tile_columns) - 1;
        const int interior = y0 >= 0 && y0 + 6 <= height && x0 >= 0 && x0 + 6 <= width;
        for (long c = 0; c < channels; c += KERNEL_LANES) {
            V e[6][6];
            // d B: each row's six columns (zeros outside the image).
            for (int i = 0; i < 6; i++) {
                for (int j = 0; j < 6; j++) {
                    const long y = y0 + i, x = x0 + j;
                    e[i][j] = interior || (y >= 0 && y < height && x >= 0 && x < width)
                        ? KERNEL(load)(input + (y * width + x) * channels + c) : (V)0.0f;
                }
                KERNEL(input_transform)(e[i]);
            }
            // Bᵀ (d B): each column's six rows.
            float *target = v + tile * channels + c;
            for (int j = 0; j < 6; j++) {
                V column[6] = {e[0][j], e[1][j], e[2][j], e[3][j], e[4][j], e[5][j]};
                KERNEL(input_transform)(column);
                for (int i = 0; i < 6; i++) KERNEL(store)(target + (6 * i + j) * plane_stride, column[i]);
            }
        }
    }
}

static KERNEL_TARGET __attribute__((unused)) void KERNEL(winograd_output_pooled)(const float *m, long plane_stride, long outputs,
                                                         long first_tile_row, long tiles, long tile_columns,
                                                         long pooled_height, long pooled_width, const float *bias, float *output) {
    for (long tile = 0; tile < tiles; tile++) {
        const long pooled_row = 2 * (first_tile_row + tile / tile_columns), pooled_column = 2 * (tile % tile_columns);
        for (long o = 0; o < outputs; o += KERNEL_LANES) {
            const float *source = m + tile * outputs + o;
            V t[4][6], y[4][4];
            // M A: each of the six columns; then Aᵀ (M A): each of the four rows.
            for (int j = 0; j < 6; j++) {
                V column[6], r[4];
                for (int i = 0; i < 6; i++) column[i] = KERNEL(load)(source + (6 * i + j) * plane_stride);
                KERNEL(output_transform)(column, r);
                for (int i = 0; i < 4; i++) t[i][j] = r[i];
            }
            for (int i = 0; i < 4; i++) KERNEL(output_transform)(t[i], y[i]);
            const V offset = KERNEL(load)(bias + o);
            for (int a = 0; a < 2 && pooled_row + a < pooled_height; a++) {
                for (int b = 0; b < 2 && pooled_column + b < pooled_width; b++) {
                    const V top = KERNEL(larger)(y[2 * a][2 * b], y[2 * a][2 * b + 1]);
                    const V bottom = KERNEL(larger)(y[2 * a + 1][2 * b], y[2 * a + 1][2 * b + 1]);
                    const V window = KERNEL(clamped_at_zero)(KERNEL(larger)(top, bottom) + offset);
                    KERNEL(store)(output + ((pooled_row + a) * pooled_width + pooled_column + b) * outputs + o, window);
                }
            }
        }
    }
}

#undef V
#undef M
#undef KERNEL
#undef KERNEL_NAME3
#undef KERNEL_PASTE3
