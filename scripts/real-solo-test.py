#!/usr/bin/env python3
"""Scores a classifier on real solo recordings it never trained on, listed in
datasets/real-solo-test.csv by library: the sms-tools sounds (CC BY 4.0, from
freesound.org), the DI guitar and bass phrases of nam-inputs (MIT) and the sung clips of
DrakoTune (CC BY 4.0, from VocalSet) and the guitar tracks of Sectoid's songs (MIT, Debian
fretsonfire-songs-sectoid); get them with scripts/get-sources.sh.
Each file's checksum is verified first. Prints every file's top class, then the top-1
error over files and over 3-s windows, in all and per library, and the recall per class.

    python3 scripts/real-solo-test.py --timbre .build/release/timbre --sources DIR [--model M]
"""
import argparse
import collections
import csv
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre", required=True)
    parser.add_argument("--sources", required=True, help="the folder scripts/get-sources.sh filled")
    parser.add_argument("--model", help="classifier model (default: the bundled one)")
    args = parser.parse_args()

    with open(os.path.join(HERE, "..", "datasets", "real-solo-test.csv")) as f:
        rows = list(csv.DictReader(f))
    paths = []
    for row in rows:
        path = os.path.join(args.sources, row["library"], row["file"])
        if not os.path.isfile(path):
            sys.exit(f"real-solo-test: {path}: missing (run scripts/get-sources.sh {args.sources})")
        with open(path, "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != row["sha256"]:
                sys.exit(f"real-solo-test: {path}: checksum differs from datasets/real-solo-test.csv")
        paths.append(path)

    command = [args.timbre, "tag", "--format", "jsonl", "--timeline", "--all-scores", *paths]
    if args.model:
        command[2:2] = ["--model", args.model]
    # Status 2 means some files failed; they are scored as wrong below.
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode not in (0, 2):
        sys.exit(f"real-solo-test: timbre tag failed: {out.stderr.strip()}")
    records = {json.loads(line)["path"]: json.loads(line) for line in out.stdout.splitlines()}

    # Per library and in all ("" key): files, wrong files, windows, wrong windows.
    counts = collections.defaultdict(lambda: [0, 0, 0, 0])
    hits, totals = collections.Counter(), collections.Counter()
    print(f"{'file':72}{'class':>6}{'top':>6}{'windows right':>15}")
    for row, path in zip(rows, paths):
        record = records.get(path, {})
        # A file that failed, or is silent under the gate, has no scores: it counts as wrong.
        scores = record.get("scores") or {"-": 0}
        top = max(scores, key=scores.get)
        right = 0
        loud = [w for w in record.get("timeline", []) if not w["silent"] and w.get("scores")]
        for window in loud:
            right += max(window["scores"], key=window["scores"].get) == row["code"]
        for key in ("", row["library"]):
            tally = counts[key]
            tally[0] += 1
            tally[1] += top != row["code"]
            tally[2] += len(loud)
            tally[3] += len(loud) - right
        totals[row["code"]] += 1
        hits[row["code"]] += top == row["code"]
        print(f"{row['file']:72}{row['code']:>6}{top:>6}{f'{right}/{len(loud)}':>15}")
    print()
    for key, (files, wrong, windows, wrong_windows) in sorted(counts.items()):
        print(f"{key or 'all':12}{files} files, top-1 error {wrong / files:.1%}; "
              f"{windows} windows, top-1 error {wrong_windows / max(1, windows):.1%}")
    print("recall per class: " + ", ".join(f"{code} {hits[code]}/{totals[code]}" for code in sorted(totals)))


if __name__ == "__main__":
    main()
