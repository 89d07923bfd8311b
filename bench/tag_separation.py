"""Per-window multi-label micro-F1 of `timbre tag` with and without `--separate` on
MedleyDB-layout songs: a window's true classes are the instruments whose stems sound in it
(RMS above the gate), mapped through labels/medleydb.csv; predictions are the timeline's tags.

    python bench/tag_separation.py --timbre .build/release/timbre [--model M] [--separator S] [--stem-model C] [--input-gain lift|match|DB] [--top-k K] [--per-class] [--union] SONGS...
"""
import argparse, csv, json, os, subprocess, sys

import numpy as np
import soundfile as sf
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def instrument_codes():
    with open(os.path.join(HERE, "..", "labels", "medleydb.csv")) as f:
        return {row["instrument"].lower(): row["code"] for row in csv.DictReader(f)}


def truth(song, window, gate_db):
    """Classes sounding in each window of a song, from its stems."""
    name = os.path.basename(song)
    meta = yaml.safe_load(open(os.path.join(song, f"{name}_METADATA.yaml")))
    codes = instrument_codes()
    windows = None
    for stem in meta["stems"].values():
        names = stem["instrument"] if isinstance(stem["instrument"], list) else [stem["instrument"]]
        code = next((codes.get(n.lower()) for n in names if codes.get(n.lower())), None)
        audio, rate = sf.read(os.path.join(song, meta["stem_dir"], stem["filename"]), always_2d=True)
        mono = audio.mean(axis=1)
        size = int(window * rate)
        count = max(1, int(np.ceil(len(mono) / size)))
        if windows is None:
            windows = [set() for _ in range(count)]
        for k in range(min(count, len(windows))):
            piece = mono[k * size:(k + 1) * size]
            if code and len(piece) and 20 * np.log10(np.sqrt(np.mean(piece ** 2)) + 1e-12) > gate_db:
                windows[k].add(code)
    return windows


def predictions(timbre, mixes, extra):
    out = subprocess.run([timbre, "tag", "--format", "jsonl", "--timeline"] + extra + mixes, capture_output=True, text=True)
    # Status 2: some files failed and the rest were tagged; anything else tagged nothing.
    if out.returncode not in (0, 2):
        sys.exit(f"timbre tag {' '.join(extra)} failed: {out.stderr.strip()}")
    result = {}
    for line in out.stdout.splitlines():
        record = json.loads(line)
        if "timeline" in record:
            result[record["path"]] = [set(t["code"] for t in w["tags"]) for w in record["timeline"]]
    return result


def per_class(pairs):
    """Right, false and missed windows of each class, as `code right/false/missed`."""
    counts = {}
    for true, predicted in pairs:
        for code in true | predicted:
            right, false, missed = counts.get(code, (0, 0, 0))
            counts[code] = (right + (code in true and code in predicted), false + (code not in true), missed + (code not in predicted))
    return " ".join(f"{code} {r}/{f}/{m}" for code, (r, f, m) in sorted(counts.items()))


def micro_f1(pairs):
    tp = sum(len(t & p) for t, p in pairs)
    fp = sum(len(p - t) for t, p in pairs)
    fn = sum(len(t - p) for t, p in pairs)
    return 2 * tp / max(1, 2 * tp + fp + fn), tp, fp, fn


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre", required=True)
    parser.add_argument("--model", help="classifier model (default: the bundled one)")
    parser.add_argument("--separator", help="separator model (default: the bundled one)")
    parser.add_argument("--stem-model", help="classifier for the stems (default: as tag --separate chooses)")
    parser.add_argument("--input-gain", help="the separator's --input-gain (default: timbre's)")
    parser.add_argument("--per-class", action="store_true", help="also print each class's right/false/missed windows")
    parser.add_argument("--union", action="store_true", help="also score each window's tags of the mix and of the stems together")
    parser.add_argument("--top-k", type=int, help="tag's --top-k for both modes (default: timbre's)")
    parser.add_argument("--gate-db", type=float, default=-50.0)
    parser.add_argument("--stem-threshold", type=float)
    parser.add_argument("--stem-gate-db", type=float)
    parser.add_argument("songs", nargs="+", help="MedleyDB-layout song folders")
    args = parser.parse_args()
    songs = sorted(s for s in args.songs if os.path.isdir(s))
    mixes = [os.path.join(s, f"{os.path.basename(s)}_MIX.wav") for s in songs]
    common = (["--model", args.model] if args.model else []) + (["--top-k", str(args.top_k)] if args.top_k else [])
    plain = predictions(args.timbre, mixes, common)
    separated = predictions(args.timbre, mixes, common + ["--separate"] + (["--separator-model", args.separator] if args.separator else [])
                            + (["--stem-model", args.stem_model] if args.stem_model else [])
                            + (["--input-gain", args.input_gain] if args.input_gain else [])
                            + (["--stem-threshold", str(args.stem_threshold)] if args.stem_threshold is not None else [])
                            + ([f"--stem-gate-db={args.stem_gate_db}"] if args.stem_gate_db is not None else []))
    pairs_plain, pairs_separated = [], []
    for song, mix in zip(songs, mixes):
        windows = truth(song, 3.0, args.gate_db)
        for k, true in enumerate(windows):
            if k < len(plain.get(mix, [])) and k < len(separated.get(mix, [])):
                pairs_plain.append((true, plain[mix][k]))
                pairs_separated.append((true, separated[mix][k]))
    f1, tp, fp, fn = micro_f1(pairs_plain)
    g1, tq, fq, fo = micro_f1(pairs_separated)
    print(f"{len(songs)} songs, {len(pairs_plain)} windows of 3 s")
    print(f"{'':24}{'micro-F1':>9}{'TP':>6}{'FP':>6}{'FN':>6}")
    print(f"{'timbre tag':24}{f1:9.3f}{tp:6d}{fp:6d}{fn:6d}")
    print(f"{'timbre tag --separate':24}{g1:9.3f}{tq:6d}{fq:6d}{fo:6d}")
    print(f"gain {g1 - f1:+.3f}")
    if args.union:
        pairs_union = [(true, p | q) for (true, p), (_, q) in zip(pairs_plain, pairs_separated)]
        u1, tu, fu, nu = micro_f1(pairs_union)
        print(f"{'union of the two':24}{u1:9.3f}{tu:6d}{fu:6d}{nu:6d}")
    if args.per_class:
        print(f"per class, right/false/missed windows:\n  timbre tag             {per_class(pairs_plain)}\n  timbre tag --separate  {per_class(pairs_separated)}")
        if args.union:
            print(f"  union of the two       {per_class(pairs_union)}")


if __name__ == "__main__":
    sys.exit(main())
