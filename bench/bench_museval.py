"""Benchmark: `timbre evaluate-separation` against museval 0.4.1 on the same files.

Renders multitrack songs with `timbre synth`, groups each song's stems into the MUSDB18
targets (vocals, drums, bass, other) as references, and makes imperfect estimates of them
(each target with some of the others leaking in and a little noise), all as float WAV so
both tools read the same values. Scores them with both tools in museval's default mode
(BSSEval v4, 1-s windows and hop, 512-tap filters; the median over each track's windows)
and prints the largest disagreement over every track, stem and metric, the medians side
by side, and the time each tool takes. museval is timed on its metrics module alone
(`museval.metrics.bss_eval` with the arguments `museval.evaluate` passes), without the
track loading of its command line.

Usage: bench_museval.py --timbre PATH --work DIR [--songs N] [--seconds S]
"""
import argparse
import glob
import importlib.util
import json
import os
import shutil
import subprocess
import time

import numpy as np
import soundfile as sf

TARGETS = ["bass", "drums", "other", "vocals"]
GROUP = {"electric bass": "bass", "double bass": "bass", "drum set": "drums", "kick drum": "drums", "snare drum": "drums",
         "toms": "drums", "cymbal": "drums", "vocalists": "vocals", "female singer": "vocals", "male singer": "vocals",
         "choir": "vocals"}


def museval_metrics():
    """museval.metrics alone: the package's __init__ imports musdb, which needs ffmpeg."""
    package = importlib.util.find_spec("museval").submodule_search_locations[0]
    spec = importlib.util.spec_from_file_location("museval_metrics", os.path.join(package, "metrics.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stems_of(song):
    """{target: stereo signal} of a synthesised MedleyDB-layout song."""
    name = os.path.basename(song)
    targets, current = {}, {}
    for line in open(os.path.join(song, f"{name}_METADATA.yaml")):
        line = line.strip()
        if line.startswith("filename:"):
            current["file"] = line.split(":", 1)[1].strip()
        elif line.startswith("instrument:"):
            current["instrument"] = line.split(":", 1)[1].strip()
        if "file" in current and "instrument" in current:
            audio, rate = sf.read(os.path.join(song, f"{name}_STEMS", current["file"]), always_2d=True)
            target = GROUP.get(current["instrument"], "other")
            targets[target] = targets.get(target, 0) + audio
            current = {}
    return targets, rate


def make_tracks(corpus, references, estimates, seed):
    rng = np.random.default_rng(seed)
    for song in sorted(glob.glob(os.path.join(corpus, "MedleyDB", "*"))):
        targets, rate = stems_of(song)
        targets = {t: s for t, s in targets.items() if np.any(s.sum(axis=1) != 0)}
        if len(targets) < 2:
            continue
        track = os.path.basename(song)
        # A recording's noise floor (-80 dBFS): rendered stems are silent above their samples'
        # bandwidth, which leaves BSSEval's normal equations singular to working precision
        # and both tools' scores at the mercy of rounding.
        targets = {t: s + 1e-4 * rng.standard_normal(s.shape) for t, s in targets.items()}
        mixture = sum(targets.values())
        for folder in (references, estimates):
            os.makedirs(os.path.join(folder, track), exist_ok=True)
        for target, signal in targets.items():
            leak = rng.uniform(0.05, 0.3)
            estimate = (1 - leak) * signal + leak * (mixture - signal) + 0.003 * rng.standard_normal(signal.shape)
            sf.write(os.path.join(references, track, f"{target}.wav"), signal, rate, subtype="FLOAT")
            sf.write(os.path.join(estimates, track, f"{target}.wav"), estimate, rate, subtype="FLOAT")


def museval_scores(metrics, references, estimates):
    """{track: {stem: {metric: median}}} as museval computes them, and the seconds taken."""
    scores, seconds = {}, 0.0
    for track in sorted(os.listdir(references)):
        stems = sorted(f[:-4] for f in os.listdir(os.path.join(references, track)))
        refs = np.array([sf.read(os.path.join(references, track, f"{s}.wav"), always_2d=True)[0] for s in stems])
        ests = np.array([sf.read(os.path.join(estimates, track, f"{s}.wav"), always_2d=True)[0] for s in stems])
        rate = sf.info(os.path.join(references, track, f"{stems[0]}.wav")).samplerate
        start = time.perf_counter()
        sdr, isr, sir, sar, _ = metrics.bss_eval(refs, ests, window=rate, hop=rate, compute_permutation=False,
                                                 filters_len=512, framewise_filters=False, bsseval_sources_version=False)
        seconds += time.perf_counter() - start
        scores[track] = {s: {"SDR": np.nanmedian(sdr[i]), "SIR": np.nanmedian(sir[i]), "SAR": np.nanmedian(sar[i]),
                             "ISR": np.nanmedian(isr[i])} for i, s in enumerate(stems)}
    return scores, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--songs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()

    corpus = os.path.join(args.work, "songs")
    references, estimates = os.path.join(args.work, "references"), os.path.join(args.work, "estimates")
    for folder in (references, estimates):
        shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([args.timbre, "synth", "-o", corpus, "--split", "held-out", "--seed", "5", "--takes-per-class", "0",
                    "--songs", str(args.songs), "--song-seconds", str(args.seconds)], check=True, stdout=subprocess.DEVNULL)
    make_tracks(corpus, references, estimates, seed=5)
    tracks = sorted(os.listdir(references))
    print(f"\nseparation metrics on {len(tracks)} synthesised songs of {args.seconds:.0f} s (44.1 kHz stereo), "
          "BSSEval v4, 1-s windows")

    report = os.path.join(args.work, "report")
    start = time.perf_counter()
    subprocess.run([args.timbre, "evaluate-separation", estimates, references, "--report", report, "--no-baselines"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    timbre_seconds = time.perf_counter() - start
    ours = json.load(open(os.path.join(report, "metrics.json")))["tracks"]

    theirs, museval_seconds = museval_scores(museval_metrics(), references, estimates)

    worst, where = 0.0, ""
    for track, stems in theirs.items():
        for stem, values in stems.items():
            for metric, value in values.items():
                mine = ours[track][stem][metric]
                difference = abs(float(mine) - value) if np.isfinite(value) else 0.0
                if difference > worst:
                    worst, where = difference, f"{track} {stem} {metric}"
    print(f"largest difference over {len(theirs)} tracks x stems x 4 metrics: {worst:.4f} dB ({where or 'none'})")
    print(f"{'median over tracks (dB)':24}{'timbre':>9}{'museval':>9}")
    for stem in TARGETS:
        for metric in ("SDR", "SIR", "SAR", "ISR"):
            a = [float(ours[t][stem][metric]) for t in theirs if stem in theirs[t]]
            b = [theirs[t][stem][metric] for t in theirs if stem in theirs[t]]
            if a:
                print(f"{'  ' + stem + ' ' + metric:24}{np.median(a):>9.3f}{np.median(b):>9.3f}")
    print(f"{'seconds':24}{timbre_seconds:>9.1f}{museval_seconds:>9.1f}   (timbre: whole command; museval: bss_eval only)")


if __name__ == "__main__":
    main()
