"""The usual Python path for log-mel features, as the benchmark's reference.

For every audio file under INPUT (folder-per-class, like `timbre prepare --layout folders`):
librosa.load(sr=22050, mono=True) -> 3-s clips with a 3-s hop -> RMS gate -> librosa
melspectrogram + power_to_db (defaults) -> one HDF5 file written with h5py in Timbre's layout
(/mel chunked one clip per chunk, shuffle + gzip). Clip rules mirror timbre's defaults:
a final partial clip is zero-padded when it holds at least 1.5 s, silent clips (< -50 dBFS)
are dropped.

Usage: python_prepare.py INPUT OUTPUT.h5 [--processes N]
Prints one JSON line: {"clips", "seconds", "clips_per_second", "processes"}. The clock
starts after every process has imported librosa and run it once (numba compiles on first
use, about 3 s per process), so the figure is librosa's steady state.
"""
import argparse
import json
import os
import sys
import time
from multiprocessing import Pool

import h5py
import librosa
import numpy as np

SR = 22050
CLIP = 3 * SR
MIN_LAST = int(1.5 * SR)
AUDIO = {".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".opus"}


def clips_of(path):
    y, _ = librosa.load(path, sr=SR, mono=True)
    out = []
    for start in range(0, max(len(y), 1), CLIP):
        clip = y[start:start + CLIP]
        valid = len(clip)
        if valid < CLIP:
            if valid < MIN_LAST:
                break
            clip = np.pad(clip, (0, CLIP - valid))
        rms = np.sqrt(np.mean(np.square(clip[:valid], dtype=np.float64)))
        if rms <= 0 or 20 * np.log10(rms) < -50:
            continue
        mel = librosa.power_to_db(librosa.feature.melspectrogram(y=clip, sr=SR))
        out.append((start / SR, mel.astype(np.float32)))
    return path, out


def warm_up(_=None):
    y = np.zeros(CLIP, dtype=np.float32)
    y[::100] = 0.1
    librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR))
    librosa.resample(y, orig_sr=44100, target_sr=SR)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(args.input) for f in fs
                   if os.path.splitext(f)[1].lower() in AUDIO)
    if args.processes > 1:
        pool = Pool(args.processes, initializer=warm_up)
        pool.map(time.sleep, [0.2] * (4 * args.processes), chunksize=1)  # every worker initialised
        start = time.perf_counter()
        results = pool.map(clips_of, files, chunksize=1)
        pool.close()
    else:
        warm_up()
        start = time.perf_counter()
        results = [clips_of(f) for f in files]
    rows = [(os.path.relpath(p, args.input), off, mel) for p, clips in results for off, mel in clips]
    with h5py.File(args.output, "w") as f:
        mel = f.create_dataset("mel", shape=(len(rows), 128, 130), dtype="float32",
                               chunks=(1, 128, 130), shuffle=True, compression="gzip", compression_opts=1)
        for i, (_, _, m) in enumerate(rows):
            mel[i] = m
        f.create_dataset("source", data=[r[0] for r in rows], dtype=h5py.string_dtype())
        f.create_dataset("offset", data=np.array([r[1] for r in rows], dtype=np.float32))
    seconds = time.perf_counter() - start
    print(json.dumps({"clips": len(rows), "seconds": seconds, "clips_per_second": len(rows) / seconds,
                      "processes": args.processes}))


if __name__ == "__main__":
    sys.exit(main())
