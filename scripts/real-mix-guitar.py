#!/usr/bin/env python3
"""Finds the guitar in real band recordings no model trains on: Sectoid's four songs
(MIT, Debian fretsonfire-songs-sectoid) ship their guitar track apart from the rest of
the band, so their sum is the song as recorded, and the guitar track says in which 3-s
windows the guitar is clearly heard (within GAP dB of the mix's level). Prints, with
and without `--separate`, in how many of those windows `timbre tag` names electric
guitar, and how often it names each class there. Only the guitar is labelled: the band's
other instruments are not known, so the other tags are counted, not judged.

    python3 scripts/real-mix-guitar.py --timbre .build/release/timbre [--model M] [--separator-model S]
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf

SONGS = "/usr/share/games/fretsonfire/data/songs/sectoid"


def mono(path):
    audio, rate = sf.read(path, always_2d=True)
    return audio.mean(axis=1), rate


def write_mixes(songs, folder):
    """Each song's guitar and band tracks summed as the game plays them; the guitar per song."""
    guitars = {}
    for name in sorted(os.listdir(songs)):
        guitar_path, band_path = os.path.join(songs, name, "guitar.ogg"), os.path.join(songs, name, "song.ogg")
        if not (os.path.isfile(guitar_path) and os.path.isfile(band_path)):
            continue
        guitar, rate = sf.read(guitar_path, always_2d=True)
        band, band_rate = sf.read(band_path, always_2d=True)
        if band_rate != rate or band.shape[1] != guitar.shape[1]:
            sys.exit(f"real-mix-guitar: {name}: the guitar and band tracks differ in rate or channels")
        length = min(len(guitar), len(band))
        mix = guitar[:length] + band[:length]
        peak = np.abs(mix).max()
        if peak > 1:
            mix /= peak
        sf.write(os.path.join(folder, f"{name}.wav"), mix.astype(np.float32), rate, subtype="FLOAT")
        guitars[name] = (guitar[:length].mean(axis=1), mix.mean(axis=1), rate)
    return guitars


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre", required=True)
    parser.add_argument("--model", help="classifier model (default: the bundled one)")
    parser.add_argument("--separator-model", dest="separator", help="separator model for --separate (default: the bundled one)")
    parser.add_argument("--songs", default=SONGS, help="the Sectoid songs' folder (default: where Debian installs it)")
    parser.add_argument("--gap", type=float, default=12, help="a window counts when the guitar is at most GAP dB under the mix")
    args = parser.parse_args()
    if not os.path.isdir(args.songs):
        sys.exit(f"real-mix-guitar: {args.songs}: missing (apt-get install fretsonfire-songs-sectoid)")

    with tempfile.TemporaryDirectory() as folder:
        guitars = write_mixes(args.songs, folder)
        if not guitars:
            sys.exit(f"real-mix-guitar: {args.songs}: no song with guitar.ogg and song.ogg")
        for mode in ([], ["--separate"]):
            command = [args.timbre, "tag", "--format", "jsonl", "--timeline", *mode, folder]
            if args.model:
                command[2:2] = ["--model", args.model]
            if mode and args.separator:
                command += ["--separator-model", args.separator]
            out = subprocess.run(command, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"real-mix-guitar: timbre tag failed: {out.stderr.strip()}")
            found = heard = 0
            named = collections.Counter()
            for line in out.stdout.splitlines():
                record = json.loads(line)
                guitar, mix, rate = guitars[os.path.basename(record["path"])[:-4]]
                for window in record["timeline"]:
                    a, b = int(window["start_s"] * rate), int(window["end_s"] * rate)
                    level = lambda x: 10 * np.log10(np.mean(x[a:b] ** 2) + 1e-20)
                    if window["silent"] or level(guitar) < level(mix) - args.gap:
                        continue
                    heard += 1
                    codes = [tag["code"] for tag in window["tags"]]
                    found += "gel" in codes
                    named.update(codes)
            share = 100 * found / heard if heard else float("nan")
            counts = ", ".join(f"{code} {n}" for code, n in named.most_common())
            print(f"{'tag --separate' if mode else 'tag':15} electric guitar named in {found} of {heard} windows "
                  f"where it is heard ({share:.1f}%); tags there: {counts}")


if __name__ == "__main__":
    main()
