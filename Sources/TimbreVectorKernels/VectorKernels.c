#include "TimbreVectorKernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Every sum is computed exactly as written: fused multiply-adds only where the kernels ask
// for one, so that each unit's results are reproducible and the fused units agree.
#pragma clang fp contract(off)

// Helpers pass 16-float vectors by value to AVX2 and baseline code too; they are all
// always inlined, so the calling convention this warns about is never used.
#pragma clang diagnostic ignored "-Wpsabi"

// Each unit's kernels, at both vector widths (KernelWidths.h).
#if defined(__x86_64__)
#define KERNEL_FUSED 1
#define KERNEL_UNIT avx512
#define KERNEL_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#include "KernelWidths.h"
#define KERNEL_UNIT avx2
#define KERNEL_TARGET __attribute__((target("avx2,fma")))
#include "KernelWidths.h"
#undef KERNEL_FUSED
#endif

// Baseline: whatever the compiler targets by default: SSE2 on x86-64, sums not fused;
// NEON on arm64, which always has fused multiply-add.
#if defined(__aarch64__)
#define KERNEL_FUSED 1
#else
#define KERNEL_FUSED 0
#endif
#define KERNEL_UNIT baseline
#define KERNEL_TARGET
#include "KernelWidths.h"
#undef KERNEL_FUSED

/// The widest unit this CPU has, lowered by TIMBRE_VECTOR_UNIT when it names a narrower one.
static TimbreVectorUnit detect_vector_unit(void) {
    TimbreVectorUnit unit = TimbreVectorUnitBaseline;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) unit = TimbreVectorUnitAVX2;
    if (unit == TimbreVectorUnitAVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")) unit = TimbreVectorUnitAVX512;
#endif
    const char *requested = getenv("TIMBRE_VECTOR_UNIT");
    if (requested) {
        TimbreVectorUnit asked = unit;
        if (strcmp(requested, "baseline") == 0) asked = TimbreVectorUnitBaseline;
        else if (strcmp(requested, "avx2") == 0) asked = TimbreVectorUnitAVX2;
        else if (strcmp(requested, "avx512") == 0) asked = TimbreVectorUnitAVX512;
        else fprintf(stderr, "timbre: TIMBRE_VECTOR_UNIT=%s is not avx512, avx2 or baseline; using the widest unit\n", requested);
        if (asked < unit) unit = asked;
    }
    return unit;
}

TimbreVectorUnit timbre_vector_unit(void) {
    // Detected once; concurrent first calls compute the same value.
    static int cached = -1;
    int unit = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (unit < 0) {
        unit = (int)detect_vector_unit();
        __atomic_store_n(&cached, unit, __ATOMIC_RELAXED);
    }
    return (TimbreVectorUnit)unit;
}

const char *timbre_vector_unit_name(void) {
    switch (timbre_vector_unit()) {
    case TimbreVectorUnitAVX512: return "AVX-512 with FMA";
    case TimbreVectorUnitAVX2: return "AVX2 with FMA";
#if defined(__aarch64__)
    default: return "NEON with FMA";
#else
    default: return "baseline x86-64";
#endif
    }
}

/// Calls name_UNIT_LANES(arguments) for the unit in use.
#if defined(__x86_64__)
#define DISPATCH(name, lanes, arguments) \
    switch (timbre_vector_unit()) { \
    case TimbreVectorUnitAVX512: name##_avx512_##lanes arguments; break; \
    case TimbreVectorUnitAVX2: name##_avx2_##lanes arguments; break; \
    default: name##_baseline_##lanes arguments; break; \
    }
#else
#define DISPATCH(name, lanes, arguments) name##_baseline_##lanes arguments;
#endif

void timbre_direct_forward(const float *padded, long stride, long height, long width,
                           const float *weights, const float *biases, long filters, int relu, float *output) {
    DISPATCH(direct_forward, 16, (padded, stride, height, width, weights, biases, filters, relu, output))
}

void timbre_direct_forward_pooled_channels_last(const float *padded, long stride, long height, long width,
                                                const float *taps, const float *biases, long filters, float *output) {
    // 16 filters per vector where the count allows and the unit has 16 lanes.
    if (filters % 16 == 0 && timbre_vector_unit() == TimbreVectorUnitAVX512) {
        DISPATCH(direct_pooled, 16, (padded, stride, height, width, taps, biases, filters, output))
    } else {
        DISPATCH(direct_pooled, 8, (padded, stride, height, width, taps, biases, filters, output))
    }
}

void timbre_direct_weight_gradient(const float *padded, long stride, long height, long width,
                                   const float *output_gradient, const float *output, long filters,
                                   float *weight_gradient, float *bias_gradient) {
    DISPATCH(direct_weight_gradient, 16, (padded, stride, height, width, output_gradient, output, filters, weight_gradient, bias_gradient))
}

void timbre_winograd_transform_tiles(const float *input, long channels, long height, long width,
                                     long first_tile_row, long tiles, long tile_columns,
                                     float *v, long plane_stride) {
    if (channels % 16 == 0 && timbre_vector_unit() == TimbreVectorUnitAVX512) {
        DISPATCH(winograd_tiles, 16, (input, channels, height, width, first_tile_row, tiles, tile_columns, v, plane_stride))
    } else {
        DISPATCH(winograd_tiles, 8, (input, channels, height, width, first_tile_row, tiles, tile_columns, v, plane_stride))
    }
}

void timbre_winograd_output_pooled(const float *m, long plane_stride, long outputs,
                                   long first_tile_row, long tiles, long tile_columns,
                                   long pooled_height, long pooled_width,
                                   const float *bias, float *output) {
    if (outputs % 16 == 0 && timbre_vector_unit() == TimbreVectorUnitAVX512) {
        DISPATCH(winograd_output_pooled, 16, (m, plane_stride, outputs, first_tile_row, tiles, tile_columns, pooled_height, pooled_width, bias, output))
    } else {
        DISPATCH(winograd_output_pooled, 8, (m, plane_stride, outputs, first_tile_row, tiles, tile_columns, pooled_height, pooled_width, bias, output))
    }
}

void timbre_sigmoid(float *values, long count) {
    DISPATCH(sigmoid, 16, (values, count))
}
