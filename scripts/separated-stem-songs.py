"""Turns separated songs into MedleyDB-layout songs for training a stem classifier.

For each song of SONGS (MedleyDB layout) whose stems `timbre separate` wrote into
STEMS/<song>_MIX/<group>.wav, writes OUT/<song>-<group>/: the separated stem as the song's
mix, and the song's true stems of that group (labels/separation-groups.csv) as its stems.
`timbre prepare --multitrack-clips mixes` then labels each clip of a separated stem with
the instruments of its group that really sound there, and with none where the stem only
holds what the other groups leaked into it. Files are hard links (copies across file
systems).

    python3 scripts/separated-stem-songs.py SONGS STEMS OUT
"""
import csv, os, shutil, sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
GROUPS = ("vocals", "drums", "bass", "other")


def instrument_groups():
    with open(os.path.join(HERE, "..", "labels", "separation-groups.csv")) as f:
        return {row["instrument"].lower(): row["group"] for row in csv.DictReader(f)}


def link(source, target):
    if os.path.exists(target):
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    songs, stems, out = sys.argv[1:]
    groups = instrument_groups()
    written = 0
    for song in sorted(os.listdir(songs)):
        folder = os.path.join(songs, song)
        meta_path = os.path.join(folder, f"{song}_METADATA.yaml")
        separated = os.path.join(stems, f"{song}_MIX")
        if not os.path.isfile(meta_path) or not os.path.isdir(separated):
            continue
        meta = yaml.safe_load(open(meta_path))
        for group in GROUPS:
            mix = os.path.join(separated, f"{group}.wav")
            if not os.path.isfile(mix):
                continue
            name = f"{song}-{group}"
            target = os.path.join(out, name)
            os.makedirs(os.path.join(target, f"{name}_STEMS"), exist_ok=True)
            link(mix, os.path.join(target, f"{name}_MIX.wav"))
            kept = {}
            for key, stem in (meta.get("stems") or {}).items():
                names = stem["instrument"] if isinstance(stem["instrument"], list) else [stem["instrument"]]
                if any(groups.get(n.lower()) == group for n in names):
                    link(os.path.join(folder, meta["stem_dir"], stem["filename"]),
                         os.path.join(target, f"{name}_STEMS", stem["filename"]))
                    kept[key] = {"filename": stem["filename"], "instrument": stem["instrument"]}
            with open(os.path.join(target, f"{name}_METADATA.yaml"), "w") as f:
                yaml.safe_dump({"mix_filename": f"{name}_MIX.wav", "stem_dir": f"{name}_STEMS", "stems": kept}, f)
            written += 1
    print(f"wrote {written} separated stems as songs into {out}")


if __name__ == "__main__":
    main()
