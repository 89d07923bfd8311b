#!/usr/bin/env python3
"""How well separators find each kind of singer: vocals SDR grouped by the voice part's source.

Reads the `synth-manifest.csv` of a set of `timbre synth` songs (which family played each
song's voice part) and one or more `timbre evaluate-separation --report` folders of those
songs, and prints, per report and singer family, the number of songs and the median over
them of each song's vocals SDR (the median over its 1-s windows, as evaluate-separation
reports it). A song without a voice part, or whose vocals were not scored, is left out.

With --sung-db DB, each song's windows are split by the level of its true vocals there
(windows.csv's reference_db): the windows at or above DB dBFS, where the singer sings, and
the ones below, which hold what a recording keeps between phrases (its noise floor). Each
song then gets one median per part, and each singer one median over its songs per part.

    scripts/vocals-by-singer.py [--sung-db DB] SONGS/synth-manifest.csv REPORT [REPORT ...]
"""
import argparse
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


def vocals_by_song(report, sung_db=None):
    """(song, part) -> median vocals SDR over the part's finite windows; the part is "all",
    or "sung" and "between" when split at sung_db."""
    windows = defaultdict(list)
    with open(f"{report}/windows.csv", newline="") as file:
        for row in csv.DictReader(file):
            sdr = float(row["SDR"])
            if row["stem"] != "vocals" or row["estimate"] != "estimate" or not math.isfinite(sdr):
                continue
            if sung_db is None:
                part = "all"
            elif "reference_db" not in row:
                sys.exit(f"{report}/windows.csv: no reference_db column (written by an older timbre)")
            else:
                part = "sung" if float(row["reference_db"]) >= sung_db else "between"
            windows[(row["track"], part)].append(sdr)
    return {key: statistics.median(values) for key, values in windows.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--sung-db", type=float, help="split each song's windows at this vocals level (dBFS)")
    parser.add_argument("manifest")
    parser.add_argument("reports", nargs="+")
    arguments = parser.parse_args()
    singers = singer_of_song(arguments.manifest)
    for report in arguments.reports:
        by_singer = defaultdict(list)
        for (song, part), sdr in vocals_by_song(report, arguments.sung_db).items():
            if song in singers:
                by_singer[(singers[song], part)].append(sdr)
        cells = [f"{singer}{'' if part == 'all' else ' ' + part} {statistics.median(values):.2f} dB ({len(values)} songs)"
                 for (singer, part), values in sorted(by_singer.items())]
        print(f"{report}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
