// KernelBody.h at 16 and then 8 floats per vector, for the unit VectorKernels.c has just
// named in KERNEL_UNIT and KERNEL_TARGET (both undefined afterwards). No include guard.
#define KERNEL_LANES 16
#include "KernelBody.h"
#undef KERNEL_LANES
#define KERNEL_LANES 8
#include "KernelBody.h"
#undef KERNEL_LANES
#undef KERNEL_TARGET
#undef KERNEL_UNIT
