#!/usr/bin/env python3
"""Whether separator B beats separator A on the same songs, beyond the spread between songs.

Reads `timbre evaluate-separation --report` folders in pairs (A's report, then B's, for each
song set), pools the songs of every set, and prints each separator's mean over the stems
(the design's four, or whichever the reports score) of the median SDR over songs (each
song's SDR being the median over its 1-s windows, as evaluate-separation reports it),
their difference, and a 95% interval for that difference from a paired bootstrap over
songs (1,000 resamples, fixed seed).

    scripts/paired-sdr.py REPORT_A REPORT_B [REPORT_A2 REPORT_B2 ...]
"""
import csv
import math
import random
import statistics
import sys
from collections import defaultdict


def song_medians(report, song_set):
    """(song, stem) -> median SDR over the song's finite windows."""
    windows = defaultdict(list)
    with open(f"{report}/windows.csv", newline="") as file:
        for row in csv.DictReader(file):
            sdr = float(row["SDR"])
            if row["estimate"] == "estimate" and math.isfinite(sdr):
                windows[(f"{song_set}/{row['track']}", row["stem"])].append(sdr)
    return {key: statistics.median(values) for key, values in windows.items()}


def mean_sdr(songs, medians):
    stems = sorted({stem for _, stem in medians})
    per_stem = [[medians[(song, stem)] for song in songs if (song, stem) in medians] for stem in stems]
    return statistics.mean(statistics.median(values) for values in per_stem if values)


def main(reports):
    if len(reports) < 2 or len(reports) % 2:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    a, b = {}, {}
    for index in range(0, len(reports), 2):
        a.update(song_medians(reports[index], index))
        b.update(song_medians(reports[index + 1], index))
    songs = sorted({song for song, _ in a} & {song for song, _ in b})
    difference = mean_sdr(songs, b) - mean_sdr(songs, a)
    generator = random.Random(0)
    resampled = sorted(
        mean_sdr(sample, b) - mean_sdr(sample, a)
        for sample in ([generator.choice(songs) for _ in songs] for _ in range(1000)))
    print(f"{len(songs)} songs: A {mean_sdr(songs, a):.3f} dB, B {mean_sdr(songs, b):.3f} dB, "
          f"B - A {difference:+.3f} dB, 95% interval [{resampled[25]:+.3f}, {resampled[974]:+.3f}]")


if __name__ == "__main__":
    main(sys.argv[1:])
