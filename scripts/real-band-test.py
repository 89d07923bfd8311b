#!/usr/bin/env python3
"""Tags and separates real band recordings: Frets on Fire songs ship their guitar track
apart from the rest of the band, so their sum is the song as recorded and the guitar
track is a true stem. Sectoid's four songs (MIT, Debian fretsonfire-songs-sectoid) are
never trained on; Muldjord's four (CC BY-SA 3.0, fretsonfire-songs-muldjord) lend their
guitar tracks to the classifier's training, so they only test the separator, which never
hears them.

Tagging (Sectoid's songs): the guitar track says in which 3-s windows the guitar is
clearly heard (within GAP dB of the mix's level). Prints, with and without `--separate`,
in how many of those windows `timbre tag` names electric guitar, and how often it names
each class there. Only the guitar is labelled: the band's other instruments are not
known, so the other tags are counted, not judged.

Separation (--separation, both sets): `timbre separate` splits each song; its `other`
stem is scored as the guitar and the sum of its vocals, drums and bass as the band,
against the two tracks, by `timbre evaluate-separation` (museval's metrics, beside the
mixture and oracle-mask baselines). Instruments of the band that belong in `other`
(keyboards, say) count against it, so the figures are a lower bound for a four-stem
reference.

    python3 scripts/real-band-test.py --timbre .build/release/timbre [--model M]
        [--separator-model S] [--input-gain lift|match|DB] [--separation [--report DIR]] [--gain-db DB]
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

SONGS = "/usr/share/games/fretsonfire/data/songs"
# (set, Debian package, whether the classifier never trained on its guitar)
SETS = (("sectoid", "fretsonfire-songs-sectoid", True), ("muldjord", "fretsonfire-songs-muldjord", False))


def fail(message):
    sys.exit(f"real-band-test: {message}")


def write_songs(songs, folder, gain):
    """Each song as folder/<song>/{mixture,guitar,band}.wav (the mix as the game plays it,
    the two tracks it sums), times gain, in 32-bit float so that nothing clips."""
    names = []
    for name in sorted(os.listdir(songs)):
        guitar_path, band_path = os.path.join(songs, name, "guitar.ogg"), os.path.join(songs, name, "song.ogg")
        if not (os.path.isfile(guitar_path) and os.path.isfile(band_path)):
            continue
        guitar, rate = sf.read(guitar_path, always_2d=True)
        band, band_rate = sf.read(band_path, always_2d=True)
        if band_rate != rate or band.shape[1] != guitar.shape[1]:
            fail(f"{name}: the guitar and band tracks differ in rate or channels")
        length = min(len(guitar), len(band))
        song = os.path.join(folder, name.replace(" ", "_"))
        os.makedirs(song)
        guitar, band = gain * guitar[:length], gain * band[:length]
        for stem, audio in (("guitar", guitar), ("band", band), ("mixture", guitar + band)):
            sf.write(os.path.join(song, f"{stem}.wav"), audio.astype(np.float32), rate, subtype="FLOAT")
        names.append(song)
    if not names:
        fail(f"{songs}: no song with guitar.ogg and song.ogg")
    return names


def run(command):
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"{' '.join(command[:2])} failed: {out.stderr.strip()}")
    return out.stdout


def mono(path):
    audio, rate = sf.read(path, always_2d=True)
    return audio.mean(axis=1), rate


def tagging(args, songs):
    mixes = [os.path.join(song, "mixture.wav") for song in songs]
    # Each song's guitar and mix, read once for both modes.
    audio = {mix: (mono(os.path.join(os.path.dirname(mix), "guitar.wav")), mono(mix)) for mix in mixes}
    for mode in ([], ["--separate"]):
        command = [args.timbre, "tag", "--format", "jsonl", "--timeline", *mode, *mixes]
        if args.model:
            command[2:2] = ["--model", args.model]
        if mode and args.separator:
            command += ["--separator-model", args.separator]
        if mode and args.input_gain:
            command += ["--input-gain", args.input_gain]
        found = heard = 0
        named = collections.Counter()
        for line in run(command).splitlines():
            record = json.loads(line)
            (guitar, rate), (mix, _) = audio[record["path"]]
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


def separation(args, set_name, songs, folder):
    """Scores the separator on songs (folders of mixture, guitar and band), in folder."""
    references, estimates, stems = (os.path.join(folder, part) for part in ("references", "estimates", "stems"))
    os.makedirs(references)
    names = [os.path.basename(song) for song in songs]
    for song, name in zip(songs, names):
        os.rename(song, os.path.join(references, name))
    # A file named mixture.wav is separated into STEMS/<its folder's name>/<stem>.wav.
    command = [args.timbre, "separate", *[os.path.join(references, name, "mixture.wav") for name in names],
               "-o", stems, "--format", "float"]
    if args.separator:
        command += ["--model", args.separator]
    if args.input_gain:
        command += ["--input-gain", args.input_gain]
    run(command)
    for name in names:
        parts = {stem: sf.read(os.path.join(stems, name, f"{stem}.wav"), always_2d=True)
                 for stem in ("vocals", "drums", "bass", "other")}
        rate = parts["other"][1]
        band = parts["vocals"][0] + parts["drums"][0] + parts["bass"][0]
        os.makedirs(os.path.join(estimates, name))
        sf.write(os.path.join(estimates, name, "guitar.wav"), parts["other"][0].astype(np.float32), rate, subtype="FLOAT")
        sf.write(os.path.join(estimates, name, "band.wav"), band.astype(np.float32), rate, subtype="FLOAT")
    command = [args.timbre, "evaluate-separation", estimates, references]
    if args.report:
        command += ["--report", os.path.join(args.report, set_name)]
    print(run(command), end="")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre", required=True)
    parser.add_argument("--model", help="classifier model (default: the bundled one)")
    parser.add_argument("--separator-model", dest="separator", help="separator model (default: the bundled one)")
    parser.add_argument("--input-gain", help="the separator's --input-gain (default: timbre's)")
    parser.add_argument("--separation", action="store_true", help="also score the separator, guitar against band, on both sets")
    parser.add_argument("--report", help="write each set's evaluate-separation report to REPORT/<set> (for scripts/paired-sdr.py)")
    parser.add_argument("--songs", default=SONGS, help="where Debian installs the Frets on Fire songs (default: %(default)s)")
    parser.add_argument("--gain-db", type=float, default=0, help="play the songs this many dB louder (negative: quieter)")
    parser.add_argument("--gap", type=float, default=12, help="a window counts when the guitar is at most GAP dB under the mix")
    args = parser.parse_args()
    for name, package, unseen in SETS:
        if not (unseen or args.separation):
            continue
        songs = os.path.join(args.songs, name)
        if not os.path.isdir(songs):
            fail(f"{songs}: missing (apt-get install {package})")
        with tempfile.TemporaryDirectory() as folder:
            written = write_songs(songs, os.path.join(folder, "songs"), 10 ** (args.gain_db / 20))
            if unseen:
                print(f"{name}: tagging")
                tagging(args, written)
            if args.separation:
                print(f"{name}: separation")
                separation(args, name, written, folder)


if __name__ == "__main__":
    main()
