"""Benchmark: `timbre tag` against the Python path (librosa + Keras predict), same files.

Renders a folder of multitrack song mixes with `timbre synth` (44.1 kHz stereo float WAV,
the held-out split), then times `timbre tag` and python_tag.py over all of them, on 2
cores, window hop = window. Reports real-time factors: seconds of audio tagged per second
of wall time, for whole commands and (Python) after start-up and the first file.

It then reports the peak memory of `timbre tag` on one file of 1 hour and one of 10
hours (8 kHz mono FLAC, written once and kept in DIR): long files are tagged a batch at a
time, so the peak must not grow with the length.

Usage: bench_tag.py --timbre PATH --work DIR [--songs N] [--seconds S]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def long_file(path, hours, rate=8000):
    """A quiet, varied tone of `hours` hours, written a minute at a time."""
    if os.path.exists(path):
        return
    import numpy as np
    import soundfile as sf
    rng = np.random.default_rng(3)
    t = np.arange(60 * rate) / rate
    with sf.SoundFile(path + ".partial", "w", rate, 1, subtype="PCM_16", format="FLAC") as f:
        for minute in range(int(hours * 60)):
            f0 = 110 * 2 ** (minute % 24 / 12)
            y = 0.2 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.25 * t)) + 0.01 * rng.standard_normal(t.size)
            f.write(y.astype(np.float32))
    os.rename(path + ".partial", path)


def peak_memory(command):
    """(wall seconds, peak resident memory in MB) of one command, from wait4's rusage."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        sys.exit(f"command failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def memory_bound(args):
    print("\npeak memory of timbre tag on one long file (8 kHz mono FLAC), hop = window")
    print(f"{'file':>10} {'wall/s':>8} {'x real time':>12} {'peak MB':>8}")
    for hours in (1, 10):
        path = os.path.join(args.work, f"long-{hours}h.flac")
        long_file(path, hours)
        wall, peak = peak_memory([args.timbre, "tag", path])
        print(f"{hours:>8} h {wall:8.1f} {hours * 3600 / wall:12.0f} {peak:8.0f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--songs", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    corpus = os.path.join(args.work, "songs")
    subprocess.run([args.timbre, "synth", "-o", corpus, "--split", "held-out", "--seed", "11",
                    "--takes-per-class", "0", "--songs", str(args.songs), "--song-seconds", str(args.seconds)],
                   check=True, stdout=subprocess.DEVNULL)
    mixes = sorted(glob.glob(os.path.join(corpus, "MedleyDB", "*", "*_MIX.wav")))
    total_audio = args.songs * args.seconds
    print(f"\ntagging {len(mixes)} song mixes of {args.seconds:.0f} s (44.1 kHz stereo float WAV), 2 cores, hop = window")

    # Both tools read the files from the page cache: one untimed pass first.
    subprocess.run([args.timbre, "tag", "--format", "jsonl", *mixes], check=True, capture_output=True)
    start = time.perf_counter()
    out = subprocess.run([args.timbre, "tag", "--format", "jsonl", *mixes], check=True, capture_output=True, text=True)
    timbre_seconds = time.perf_counter() - start
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == len(mixes) and all("tags" in line for line in lines)

    env = dict(os.environ, OMP_NUM_THREADS="2")
    out = subprocess.run([sys.executable, os.path.join(HERE, "python_tag.py"), *mixes], check=True, capture_output=True, text=True, env=env)
    python = json.loads(out.stdout.strip().splitlines()[-1])

    timbre_rtf = total_audio / timbre_seconds
    python_rtf = python["seconds_audio"] / python["seconds_total"]
    python_warm = python["audio_warm"] / python["seconds_warm"]
    print(f"{'':28}{'timbre tag':>14}{'librosa+Keras':>16}{'ratio':>9}")
    print(f"{'whole command (x real time)':28}{timbre_rtf:>14.0f}{python_rtf:>16.0f}{timbre_rtf / python_rtf:>8.1f}x")
    print(f"{'Python warm (x real time)':28}{'':>14}{python_warm:>16.0f}{timbre_rtf / python_warm:>8.1f}x")
    print(f"{'wall seconds':28}{timbre_seconds:>14.1f}{python['seconds_total']:>16.1f}")
    memory_bound(args)


if __name__ == "__main__":
    main()
