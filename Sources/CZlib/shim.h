#pragma once
#include <zlib.h>

/* deflateInit2 is a macro that passes ZLIB_VERSION and sizeof(z_stream); Swift cannot
   call macros, so it is wrapped here. */
static inline int timbre_deflateInit2(z_streamp stream, int level, int strategy) {
    return deflateInit2(stream, level, Z_DEFLATED, 15, 8, strategy);
}
