#!/usr/bin/env python3
"""How well separators find each kind of singer: vocals SDR grouped by the voice part's source.

Reads the `synth-manifest.csv` of a set of `timbre synth` songs (which family played each
song's voice part) and one or more `timbre evaluate-separation --report` folders of those
songs, and prints, per report and singer family, the number of songs and the median over
them of each song's vocals SDR (the median over its 1-s windows, as evaluate-separation
reports it). A song without a voice part, or whose vocals were not scored, is left out.

    scripts/vocals-by-singer.py SONGS/synth-manifest.csv REPORT [REPORT ...]
"""
import csv
import math
import statistics
import sys
from collections import defaultdict


def singer_of_song(manifest):
    """Song folder name -> family of its voice part, from the manifest's voi rows."""
    singers = {}
    with open(manifest, newline="") as file:
        for row in csv.reader(file):
            if len(row) > 3 and row[1] == "voi":
                singers[row[0].split("/")[1]] = row[3]
    return singers


def vocals_by_song(report):
    """Song -> median vocals SDR over its finite windows."""
    windows = defaultdict(list)
    with open(f"{report}/windows.csv", newline="") as file:
        for row in csv.DictReader(file):
            sdr = float(row["SDR"])
            if row["stem"] == "vocals" and row["estimate"] == "estimate" and math.isfinite(sdr):
                windows[row["track"]].append(sdr)
    return {song: statistics.median(values) for song, values in windows.items()}


def main(arguments):
    if len(arguments) < 2:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    singers = singer_of_song(arguments[0])
    for report in arguments[1:]:
        by_singer = defaultdict(list)
        for song, sdr in vocals_by_song(report).items():
            if song in singers:
                by_singer[singers[song]].append(sdr)
        cells = [f"{singer} {statistics.median(values):.2f} dB ({len(values)} songs)"
                 for singer, values in sorted(by_singer.items())]
        print(f"{report}: " + ", ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1:])
