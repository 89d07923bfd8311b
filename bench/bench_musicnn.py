"""Benchmark: `timbre tag`, with and without `--separate`, against musicnn on the same multi-instrument songs.

musicnn (Pons & Serra, 2019; PyPI `musicnn`, its MagnaTagATune model, run on TensorFlow
through `tf_keras`) was trained on real music; this is the comparison users make. Timbre
tags the mix as it is and, with `--separate`, each separated stem (a window's score for a
class is its stem's highest). All tag 3-s windows of the same song mixes; the truth of a
window is every instrument whose stem is above -50 dBFS in it. Scored on the classes both can name (voice, drums, guitar,
piano, violin, cello, flute): per-window micro F1, each class at its best threshold for
each tool (oracle thresholds, so neither side's calibration decides), plus the area under
each class's precision-recall curve; and the speed of each tool on the same files.

The songs are rendered from the Synthesis ToolKit's physical models by default, the sound
family the bundled model never trained on (`make model` keeps it for testing), so neither
tool has heard these instruments.

Usage: bench_musicnn.py --timbre PATH --work DIR [--model M] [--songs N] [--seconds S] [--families F]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = ["voice", "drums", "guitar", "piano", "violin", "cello", "flute"]
# Timbre's codes behind each shared class.
TIMBRE_CODES = {"voice": ["voi"], "drums": ["dru"], "guitar": ["gac", "gel"], "piano": ["pia"],
                "violin": ["vio"], "cello": ["cel"], "flute": ["flu"]}
# MagnaTagATune tags behind each shared class (the highest of them is the class's score).
MUSICNN_TAGS = {
    "voice": ["vocal", "vocals", "voice", "singing", "male vocal", "female vocal", "male voice", "female voice",
              "male", "female", "woman", "man", "choir", "choral", "opera"],
    "drums": ["drums", "beat", "beats"], "guitar": ["guitar"], "piano": ["piano"],
    "violin": ["violin"], "cello": ["cello"], "flute": ["flute"],
}
# MedleyDB instrument names the synthesised songs use, per shared class.
STEM_CLASS = {"vocalists": "voice", "choir": "voice", "female singer": "voice", "male singer": "voice",
              "drum set": "drums", "kick drum": "drums", "snare drum": "drums", "toms": "drums", "cymbal": "drums",
              "acoustic guitar": "guitar", "clean electric guitar": "guitar", "distorted electric guitar": "guitar",
              "piano": "piano", "electric piano": "piano", "violin": "violin", "cello": "cello", "flute": "flute",
              "piccolo": "flute"}
WINDOW = 3.0


def truth(song_dir, windows):
    """[windows, classes] presence from the stems named in the song's metadata."""
    name = os.path.basename(song_dir)
    meta = open(os.path.join(song_dir, f"{name}_METADATA.yaml")).read().split("\n")
    present = np.zeros((windows, len(SHARED)), dtype=bool)
    stem_file, instrument = None, None
    for line in meta:
        line = line.strip()
        if line.startswith("filename:"):
            stem_file = line.split(":", 1)[1].strip()
        elif line.startswith("instrument:"):
            instrument = line.split(":", 1)[1].strip()
        if stem_file and instrument:
            cls = STEM_CLASS.get(instrument)
            if cls:
                y, sr = sf.read(os.path.join(song_dir, f"{name}_STEMS", stem_file), always_2d=True)
                y = y.mean(axis=1)
                n = int(WINDOW * sr)
                for w in range(windows):
                    chunk = y[w * n:(w + 1) * n]
                    if len(chunk) and 20 * np.log10(np.sqrt(np.mean(chunk ** 2)) + 1e-12) >= -50:
                        present[w, SHARED.index(cls)] = True
            stem_file, instrument = None, None
    return present


def best_f1(scores, present):
    """Per class: the threshold maximising F1; returns (tp, fp, fn) summed at those thresholds."""
    tp = fp = fn = 0
    for c in range(len(SHARED)):
        s, t = scores[:, c], present[:, c]
        best = (-1, 0, 0, 0)
        for threshold in np.unique(np.concatenate([s, [np.inf]])):
            chosen = s >= threshold
            a, b, d = int(np.sum(chosen & t)), int(np.sum(chosen & ~t)), int(np.sum(~chosen & t))
            f1 = 2 * a / max(1, 2 * a + b + d)
            if f1 > best[0]:
                best = (f1, a, b, d)
        tp, fp, fn = tp + best[1], fp + best[2], fn + best[3]
    return 2 * tp / max(1, 2 * tp + fp + fn)


def average_precision(s, t):
    if not t.any():
        return float("nan")
    order = np.argsort(-s)
    hits = t[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(np.sum(precision * hits) / hits.sum())


def timbre_timelines(timbre, mixes, options):
    """Per mix, [windows, classes] scores from `timbre tag` (with `options`), and the seconds it took."""
    start = time.perf_counter()
    out = subprocess.run([timbre, "tag", *options, "--format", "jsonl", "--timeline", "--all-scores", *mixes],
                         check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    scores = {}
    for line in out.stdout.splitlines():
        record = json.loads(line)
        rows = []
        for window in record["timeline"]:
            window_scores = window.get("scores") or {}
            rows.append([max(window_scores.get(code, 0) for code in TIMBRE_CODES[c]) for c in SHARED])
        scores[record["path"]] = np.array(rows)
    return scores, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--songs", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--families", default="stk")
    parser.add_argument("--model", help="timbre's classifier model (default: the bundled one)")
    args = parser.parse_args()
    model = ["--model", args.model] if args.model else []

    corpus = os.path.join(args.work, "songs")
    subprocess.run([args.timbre, "synth", "-o", corpus, "--families", args.families, "--split", "held-out", "--seed", "2027",
                    "--takes-per-class", "0", "--songs", str(args.songs), "--song-seconds", str(args.seconds)],
                   check=True, stdout=subprocess.DEVNULL)
    songs = sorted(glob.glob(os.path.join(corpus, "MedleyDB", "*")))
    mixes = [os.path.join(s, os.path.basename(s) + "_MIX.wav") for s in songs]
    audio_seconds = sum(sf.info(m).duration for m in mixes)
    print(f"\n{len(mixes)} song mixes of {args.seconds:.0f} s ({args.families}, held-out split), 3-s windows, 2 cores")

    timbre_scores, timbre_seconds = timbre_timelines(args.timbre, mixes, model)
    separated_scores, separated_seconds = timbre_timelines(args.timbre, mixes, model + ["--separate"])

    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3", OMP_NUM_THREADS="2")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, os.path.join(HERE, "musicnn_tag.py"), *mixes], check=True, capture_output=True,
                         text=True, env=env)
    musicnn_seconds = time.perf_counter() - start
    musicnn = json.loads(out.stdout.strip().splitlines()[-1])
    for mix, taggram in musicnn["taggrams"].items():
        if not np.isfinite(np.array(taggram, dtype=float)).all():
            sys.exit(f"bench_musicnn: musicnn gave non-finite tag probabilities for {mix}")

    t_rows, s_rows, m_rows, truths = [], [], [], []
    for song, mix in zip(songs, mixes):
        a, separated = timbre_scores[mix], separated_scores[mix]
        tags = musicnn["tags"]
        b = np.array([[max(row[tags.index(tag)] for tag in MUSICNN_TAGS[c]) for c in SHARED] for row in musicnn["taggrams"][mix]])
        windows = min(len(a), len(separated), len(b))
        truths.append(truth(song, windows))
        t_rows.append(a[:windows])
        s_rows.append(separated[:windows])
        m_rows.append(b[:windows])
    present = np.concatenate(truths)
    columns = [("timbre tag", np.concatenate(t_rows), timbre_seconds), ("tag --separate", np.concatenate(s_rows), separated_seconds),
               ("musicnn", np.concatenate(m_rows), musicnn_seconds)]

    print(f"{len(present)} windows; classes present: " + ", ".join(f"{c} {int(present[:, i].sum())}" for i, c in enumerate(SHARED)))
    print(f"{'':34}" + "".join(f"{name:>16}" for name, _, _ in columns))
    print(f"{'micro F1, best threshold per class':34}" + "".join(f"{best_f1(scores, present):>16.3f}" for _, scores, _ in columns))
    for i, c in enumerate(SHARED):
        if present[:, i].any():
            print(f"{'  average precision, ' + c:34}" + "".join(f"{average_precision(scores[:, i], present[:, i]):>16.3f}" for _, scores, _ in columns))
    print(f"{'whole command, x real time':34}" + "".join(f"{audio_seconds / seconds:>16.0f}" for _, _, seconds in columns))
    print(f"{'after start-up, x real time':34}{'':>32}{musicnn['audio_warm'] / musicnn['seconds_warm']:>16.0f}")

if __name__ == "__main__":
    main()
