#pragma once
#include <sndfile.h>

/// The first loop of a file's instrument chunk (SF_INSTRUMENT's loop array is an
/// anonymous struct, which Swift does not import). Returns 1 and the frames when the
/// file stores a forward, backward or alternating loop, 0 otherwise.
static inline int timbre_first_loop(SNDFILE *file, unsigned *start, unsigned *end) {
    SF_INSTRUMENT instrument;
    if (sf_command(file, SFC_GET_INSTRUMENT, &instrument, sizeof(instrument)) != SF_TRUE) return 0;
    if (instrument.loop_count < 1 || instrument.loops[0].mode == SF_LOOP_NONE) return 0;
    *start = instrument.loops[0].start;
    *end = instrument.loops[0].end;
    return instrument.loops[0].end > instrument.loops[0].start;
}
