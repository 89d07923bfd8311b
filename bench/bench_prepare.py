"""Benchmark: `timbre prepare` against the usual Python path, on the same files, in one run.

Generates a corpus of synthetic music-like audio (harmonic notes, noise hits, pauses) twice:
44.1 kHz stereo 16-bit (needs resampling) and 22.05 kHz mono (no resampling). On each it
times `timbre prepare` and python_prepare.py (librosa 0.11 + h5py) with 1 and 2 processes,
and compares the two feature files clip by clip in dB. A resampler sweep on a subset shows
why the default resampler was chosen.

The short-file case is IRMAS's training set in miniature: many 3-s files of 44.1 kHz
stereo in the IRMAS layout. It times whole commands, best of two alternating rounds, with
the user and system CPU time of each, and `timbre tag` on the same folder.

Usage: bench_prepare.py --timbre PATH --work DIR [--files N] [--seconds S] [--short-files N]
"""
import argparse
import json
import re
import os
import resource
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))


def make_corpus(root, rate, channels, files, seconds, seed=7):
    marker = os.path.join(root, ".complete")
    if os.path.exists(marker):
        return
    rng = np.random.default_rng(seed)
    for index in range(files):
        n = int(seconds * rate)
        t = np.arange(n) / rate
        y = np.zeros(n)
        position = 0.0
        while position < seconds:
            length = rng.uniform(0.2, 1.5)
            start, stop = int(position * rate), min(n, int((position + length) * rate))
            if rng.random() < 0.1:  # a pause
                position += length
                continue
            f0 = rng.uniform(60, 1200)
            seg = t[start:stop] - t[start]
            envelope = np.minimum(1, seg / 0.01) * np.exp(-seg * rng.uniform(0.5, 4))
            note = sum(np.sin(2 * np.pi * f0 * k * seg) / k ** rng.uniform(0.7, 1.5)
                       for k in range(1, 40) if f0 * k < rate / 2)
            y[start:stop] += 0.2 * envelope * note
            if rng.random() < 0.3:  # a broadband hit
                hit = rng.standard_normal(stop - start) * np.exp(-seg * 30)
                y[start:stop] += 0.1 * hit
            position += length * rng.uniform(0.6, 1.0)
        y = y / max(1e-9, np.max(np.abs(y))) * 0.8
        data = np.stack([y, np.roll(y, 17) * 0.9], axis=1) if channels == 2 else y
        folder = os.path.join(root, "piano" if index % 2 == 0 else "violin")
        os.makedirs(folder, exist_ok=True)
        sf.write(os.path.join(folder, f"take {index:03d}.wav"), data.astype(np.float32), rate, subtype="PCM_16")
    open(marker, "w").close()


def timed(command, env=None):
    """(wall-clock seconds of the whole command, seconds of warm work).

    The Python path reports its own time after import and JIT warm-up; for timbre the two
    are the same figure.
    """
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(command)}\n{result.stderr}")
    if command[0] == sys.executable:
        return elapsed, json.loads(result.stdout.strip().splitlines()[-1])["seconds"]
    return elapsed, elapsed


def make_irmas_corpus(root, files, seed=11):
    """`files` 3-s excerpts, 44.1 kHz stereo, named and foldered as IRMAS's training set."""
    marker = os.path.join(root, ".complete")
    if os.path.exists(marker):
        return
    staging = root + ".staging"
    make_corpus(staging, 44100, 2, files, 3.0, seed=seed)
    for folder, code in (("piano", "pia"), ("violin", "vio")):
        os.makedirs(os.path.join(root, code), exist_ok=True)
        for index, name in enumerate(sorted(os.listdir(os.path.join(staging, folder)))):
            os.rename(os.path.join(staging, folder, name),
                      os.path.join(root, code, f"[{code}][pop_roc]{index:04d}__{1 + index % 3}.wav"))
    open(marker, "w").close()


def timed_cpu(command, env=None):
    """(wall, user, system) seconds of a whole command, as /usr/bin/time reports them."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(command)}\n{result.stderr}")
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def short_files(args, reference):
    root = os.path.join(args.work, "audio-irmas-3s")
    make_irmas_corpus(root, args.short_files)
    one_thread = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    output = os.path.join(args.work, "short-timbre.h5")
    commands = {
        "librosa 0.11, 2 processes x 1 thread": ([sys.executable, reference, root, os.path.join(args.work, "short-py.h5"), "--processes", "2"], one_thread),
        "timbre prepare": ([args.timbre, "prepare", root, "-o", output], None),
    }
    best = {}
    for _ in range(2):  # alternating rounds; the best of each tool counts
        for label, (command, env) in commands.items():
            if label == "timbre prepare" and os.path.exists(output):
                os.remove(output)
            run = timed_cpu(command, env)
            if label not in best or run[0] < best[label][0]:
                best[label] = run
    n_files = args.short_files
    print(f"\nshort files: {n_files} IRMAS-style excerpts of 3 s (44.1 kHz stereo), whole commands, best of 2 alternating rounds")
    header = f"{'tool':<38} {'wall/s':>7} {'files/s':>8} {'user/s':>7} {'sys/s':>6} {'sys/user':>8} {'speed-up':>8}"
    print(header)
    print("-" * len(header))
    librosa_wall = best["librosa 0.11, 2 processes x 1 thread"][0]
    for label, (wall, user, system) in best.items():
        speed = f"{librosa_wall / wall:7.1f}x" if label == "timbre prepare" else ""
        print(f"{label:<38} {wall:7.2f} {n_files / wall:8.0f} {user:7.2f} {system:6.2f} {system / max(user, 1e-9):8.0%} {speed:>8}")
    common, nt, npy, mean, p99, worst = compare(output, os.path.join(args.work, "short-py.h5"))
    print(f"dB against librosa over {common} clips: mean {mean:.4f}, p99 {p99:.3f}, max {worst:.3f}")
    # Tagging shares the decoding path: the same folder with the bundled model.
    runs = [timed_cpu([args.timbre, "tag", root, "--format", "csv"]) for _ in range(2)]
    wall, user, system = min(runs)
    print(f"{'timbre tag (bundled model)':<38} {wall:7.2f} {n_files / wall:8.0f} {user:7.2f} {system:6.2f} {system / max(user, 1e-9):8.0%}"
          f"   {3.0 * n_files / wall:.0f}x real time")


def shards(args):
    """Shard processes side by side on the short-file corpus, then merge against copy."""
    root = os.path.join(args.work, "audio-irmas-3s")
    folder = os.path.join(args.work, "shards")
    os.makedirs(folder, exist_ok=True)
    print(f"\nshards: {args.short_files} files of 3 s as P shard processes at once, each with max(1, 2/P) workers, then merge")
    print(f"{'processes':>9} {'wall/s':>7} {'files/s':>8}")
    for processes in (1, 2, 4):
        outputs = [os.path.join(folder, f"p{processes}-{k}.h5") for k in range(processes)]
        for path in outputs:
            if os.path.exists(path):
                os.remove(path)
        threads = str(max(1, 2 // processes))
        start = time.perf_counter()
        running = [subprocess.Popen([args.timbre, "prepare", root, "-o", out, "--shard", f"{k}/{processes}", "-j", threads],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for k, out in enumerate(outputs)]
        if any(p.wait() != 0 for p in running):
            sys.exit("a shard process failed")
        wall = time.perf_counter() - start
        print(f"{processes:>9} {wall:7.2f} {args.short_files / wall:8.0f}")
    outputs = [os.path.join(folder, f"p4-{k}.h5") for k in range(4)]
    for label, extra in (("merge (virtual /mel)", []), ("merge --copy", ["--copy"])):
        target = os.path.join(folder, "merged.h5" if not extra else "copied.h5")
        runs = [timed_cpu([args.timbre, "merge", *outputs, "-o", target, *extra])[0] for _ in range(2)]
        print(f"{label:<22} {min(runs):6.3f} s  {os.path.getsize(target) / 1e6:7.1f} MB")


def mpi_training(args):
    """One epoch of `timbre train` on the merged shard features: one process with two
    engine threads against `mpirun -np 2` with one thread each (same global batch)."""
    features = os.path.join(args.work, "shards", "merged.h5")
    if shutil.which("mpirun") is None or "MPI: Open MPI" not in subprocess.run([args.timbre, "--version"], capture_output=True, text=True).stdout:
        print("\nMPI training: skipped (no mpirun, or timbre built without TIMBRE_MPI=1)")
        return
    print("\nMPI training: one epoch on the merged shard features, batch 32")
    print(f"{'layout':<28} {'wall/s':>7} {'clips/s':>8}")
    recipe = ["train", features, "--epochs", "1", "--validation-fraction", "0", "--seed", "1", "--no-calibrate"]
    for label, prefix, threads in (("1 rank x 2 threads", [], "2"),
                                   ("2 ranks x 1 thread (MPI)", ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2"], "1")):
        output = os.path.join(args.work, "shards", f"mpi-{threads}.h5")
        env = dict(os.environ, TIMBRE_THREADS=threads, OPENBLAS_NUM_THREADS="1")
        start = time.perf_counter()
        result = subprocess.run([*prefix, args.timbre, *recipe, "-o", output], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"MPI training failed: {result.stderr[-400:]}")
        clips = int(re.search(r"\((\d+) training clips", result.stdout).group(1))
        print(f"{label:<28} {wall:7.2f} {clips / wall:8.1f}")


def load(path):
    with h5py.File(path, "r") as f:
        sources = [s.decode() if isinstance(s, bytes) else s for s in f["source"][:]]
        keys = list(zip(sources, np.round(f["offset"][:], 3)))
        return keys, f["mel"]


def compare(timbre_path, python_path):
    """Mean / 99th percentile / max absolute dB difference over all clips both files hold."""
    t_keys, _ = load(timbre_path)
    p_keys, _ = load(python_path)
    with h5py.File(timbre_path, "r") as tf, h5py.File(python_path, "r") as pf:
        t_index = {k: i for i, k in enumerate(t_keys)}
        diffs = []
        for j, key in enumerate(p_keys):
            if key in t_index:
                diffs.append(np.abs(tf["mel"][t_index[key]] - pf["mel"][j]).ravel())
        if not diffs:
            sys.exit("no clips in common between the two feature files")
        d = np.concatenate(diffs)
        return len(diffs), len(t_keys), len(p_keys), d.mean(), np.percentile(d, 99), d.max()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--short-files", type=int, default=520)
    args = parser.parse_args()
    args.work = os.path.abspath(args.work)
    os.makedirs(args.work, exist_ok=True)
    corpora = {
        "44.1 kHz stereo": (os.path.join(args.work, "audio-44k"), 44100, 2),
        "22.05 kHz mono": (os.path.join(args.work, "audio-22k"), 22050, 1),
    }
    for root, rate, channels in corpora.values():
        make_corpus(root, rate, channels, args.files, args.seconds)
    python = sys.executable
    reference = os.path.join(HERE, "python_prepare.py")
    print(f"prepare: {args.files} files x {args.seconds:.0f} s per corpus, 3-s clips, 2 cores")
    print("whole: wall clock of the whole command; warm: librosa after import and numba JIT warm-up")
    print("speed-up: timbre against the faster librosa configuration, whole / warm")
    print("dB: timbre's log-mel against librosa's, clip by clip, over every value\n")
    # Two processes each with one BLAS thread is the fastest way to run librosa on 2 cores.
    one_thread = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    header = (f"{'input':<16} {'tool':<36} {'whole/s':>8} {'warm/s':>7} {'speed-up':>12}"
              f" {'mean|dB|':>9} {'p99|dB|':>8} {'max|dB|':>8}")
    print(header)
    print("-" * len(header))
    for name, (root, _, _) in corpora.items():
        out = {}
        rows = []
        for label, command, env in [
            ("librosa 0.11, 1 process", [python, reference, root, os.path.join(args.work, "py1.h5")], None),
            ("librosa 0.11, 2 processes x 1 thread", [python, reference, root, os.path.join(args.work, "py2.h5"), "--processes", "2"], one_thread),
            ("timbre prepare", [args.timbre, "prepare", root, "-o", os.path.join(args.work, "timbre.h5")], None),
        ]:
            out[label] = timed(command, env)
        n_clips = len(load(os.path.join(args.work, "timbre.h5"))[0])
        best_whole = n_clips / min(v[0] for k, v in out.items() if k.startswith("librosa"))
        best_warm = n_clips / min(v[1] for k, v in out.items() if k.startswith("librosa"))
        common, nt, npy, mean, p99, worst = compare(os.path.join(args.work, "timbre.h5"), os.path.join(args.work, "py1.h5"))
        for label, (whole, warm) in out.items():
            if label == "timbre prepare":
                rate = n_clips / whole
                extra = f"{rate / best_whole:5.1f}x/{rate / best_warm:4.1f}x {mean:9.4f} {p99:8.3f} {worst:8.3f}"
                rows.append(f"{name:<16} {label:<36} {rate:8.1f} {rate:7.1f} {extra}")
            else:
                rows.append(f"{name:<16} {label:<36} {n_clips / whole:8.1f} {n_clips / warm:7.1f}")
        print("\n".join(rows))
        if common != nt or common != npy:
            print(f"  note: clips differ: timbre {nt}, librosa {npy}, in common {common}")
    short_files(args, reference)
    shards(args)
    mpi_training(args)
    # Resampler sweep on a subset: speed and closeness to librosa's soxr_hq.
    subset = os.path.join(args.work, "audio-44k-subset")
    if not os.path.exists(subset):
        os.makedirs(subset)
        for folder in ("piano", "violin"):
            os.makedirs(os.path.join(subset, folder))
            for name in sorted(os.listdir(os.path.join(corpora["44.1 kHz stereo"][0], folder)))[:4]:
                os.symlink(os.path.join(corpora["44.1 kHz stereo"][0], folder, name), os.path.join(subset, folder, name))
    print(f"\nresampler choice (44.1 kHz stereo, {8} files; dB against librosa's soxr_hq):")
    print(f"{'resampler':<14} {'clips/s':>8} {'mean|dB|':>9} {'p99|dB|':>8} {'max|dB|':>8}")
    timed([python, reference, subset, os.path.join(args.work, "py-subset.h5")])
    for resampler in ["polyphase", "src-best", "src-medium", "src-fastest"]:
        path = os.path.join(args.work, f"timbre-{resampler}.h5")
        seconds, _ = timed([args.timbre, "prepare", subset, "-o", path, "--resampler", resampler])
        _, nt, _, mean, p99, worst = compare(path, os.path.join(args.work, "py-subset.h5"))
        print(f"{resampler:<14} {nt / seconds:8.1f} {mean:9.4f} {p99:8.3f} {worst:8.3f}")


if __name__ == "__main__":
    main()
