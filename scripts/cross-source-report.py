#!/usr/bin/env python3
"""Cross-source validation report for `make model`.

Each fold is a model trained without one group of sound families, scored here on that
group's solo clips with `timbre evaluate`. Prints the cross-source table (top-1 error and
recall per class of every held-out group, and their means) as Markdown, or with
--thresholds the per-class decision thresholds averaged over the folds whose held-out
clips contained the class (each fold chose them on sounds it never trained on).

    cross-source-report.py --timbre T --fold NAME MODEL FEATURES... [--fold ...] [--thresholds]
                           [--songs NAME SONGS...] [--confusion DIR]

--songs NAME SONGS... gives fold NAME song mixes of its held-out families (feature files of
multi-label mix clips). With any --songs, --thresholds chooses every fold's thresholds
again, each class at its own best F1 over the fold's held-out solo clips and its songs
(`timbre calibrate --thresholds --per-class`), instead of taking the ones its training
chose on the solo clips alone: a model that learned songs, where drums and bass nearly
always play, needs its thresholds chosen on songs too. Song files never enter the
cross-source table.

Beside each fold's top-1 error (its saved model's epoch: the last, as `make model` trains
folds with --last-epoch) the table gives the mean and range
of the held-out top-1 error over the second half of its epochs, from the training history
(the fold validates on its held-out group after every epoch). A fold's last epoch can land
far from its neighbours; the mean of the late epochs is the steadier figure for comparing
recipes. It covers everything the fold's training validated on (its whole held-out group),
so a fold scored as several rows, one per feature file, gives each row the same figure.

--confusion DIR also writes the confusion matrix pooled over every fold's held-out clips
(each clip predicted by the model that never heard its source) as confusion.csv and
confusion.svg.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile


def evaluate(timbre, model, features):
    """Pooled confusion matrix {true: {predicted: count}} of `model` over feature files."""
    confusion = {}
    codes = None
    for path in features:
        with tempfile.TemporaryDirectory() as report:
            subprocess.run([timbre, "evaluate", "--model", model, path, "--report", report],
                           check=True, stdout=subprocess.DEVNULL)
            matrix = os.path.join(report, "confusion.csv")
            if not os.path.exists(matrix):
                continue
            with open(matrix) as f:
                rows = list(csv.reader(f))
            codes = rows[0][1:]
            for row in rows[1:]:
                counts = confusion.setdefault(row[0], {})
                for code, value in zip(codes, row[1:]):
                    counts[code] = counts.get(code, 0) + int(value)
    return codes, confusion


def write_confusion(folder, codes, pooled):
    """Pooled confusion as CSV (the layout of `timbre evaluate --report`) and an SVG heat map."""
    os.makedirs(folder, exist_ok=True)
    present = [c for c in codes if sum(pooled.get(c, {}).values())]
    with open(os.path.join(folder, "confusion.csv"), "w") as f:
        f.write("true\\predicted," + ",".join(codes) + "\n")
        for c in present:
            f.write(c + "," + ",".join(str(pooled[c].get(p, 0)) for p in codes) + "\n")
    cell, left, top = 34, 60, 50
    width, height = left + cell * len(codes) + 10, top + cell * len(present) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<text x="{left}" y="16" font-size="13">cross-source confusion: rows true, columns predicted (share of the row)</text>']
    for j, p in enumerate(codes):
        parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 8}" text-anchor="middle">{p}</text>')
    for i, c in enumerate(present):
        total = sum(pooled[c].values())
        parts.append(f'<text x="{left - 8}" y="{top + i * cell + cell / 2 + 4}" text-anchor="end">{c}</text>')
        for j, p in enumerate(codes):
            share = pooled[c].get(p, 0) / total
            shade = int(255 * (1 - share))
            parts.append(f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 1}" height="{cell - 1}" fill="rgb({shade},{shade},255)"/>')
            if share >= 0.005:
                colour = "white" if share > 0.5 else "black"
                parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top + i * cell + cell / 2 + 4}" text-anchor="middle" fill="{colour}">{round(100 * share)}</text>')
    parts.append("</svg>")
    with open(os.path.join(folder, "confusion.svg"), "w") as f:
        f.write("\n".join(parts) + "\n")


def late_epochs(timbre, model):
    """The held-out figures of the second half of the epochs in `model`'s training history:
    (mean, lowest, highest) top-1 error, or None when it records no validation, and each
    class's mean recall {code: recall} where the history records recall."""
    info = json.loads(subprocess.run([timbre, "info", "--json", model], check=True, capture_output=True, text=True).stdout)
    history = info.get("training_summary", {}).get("history") or []
    late = [e for e in history if e.get("validationAccuracy") is not None and e["epoch"] > len(history) // 2]
    if not late:
        return None, {}
    errors = [1 - e["validationAccuracy"] for e in late]
    recalls = {}
    if all(e.get("validationRecall") for e in late):
        for k, code in enumerate(info["class_codes"]):
            values = [e["validationRecall"][k] for e in late if e["validationRecall"][k] is not None]
            if values:
                recalls[code] = sum(values) / len(values)
    return (sum(errors) / len(errors), min(errors), max(errors)), recalls


def chosen_thresholds(timbre, model, features):
    """(class codes, thresholds, clips holding each class) of `model`: as its training chose
    them on its validation clips, or, given `features`, chosen again on those per class."""
    with tempfile.TemporaryDirectory() as folder:
        if features:
            tuned = os.path.join(folder, "tuned.h5")
            subprocess.run([timbre, "calibrate", "--model", model, "--thresholds", "--per-class", *features, "-o", tuned],
                           check=True, stdout=subprocess.DEVNULL)
            model = tuned
        info = json.loads(subprocess.run([timbre, "info", "--json", model], check=True, capture_output=True, text=True).stdout)
    summary = info["training_summary"]
    seen = summary["thresholds_chosen_on"]["class_counts"] if features else summary.get("validation_class_counts") or []
    return info["class_codes"], summary.get("class_thresholds") or [], seen


def thresholds(timbre, folds):
    """Each class's threshold averaged over the folds whose clips held it; `folds` is a list
    of (model, feature files to choose on, or none to take the recorded choice)."""
    sums, counts = {}, {}
    codes = None
    for model, features in folds:
        codes, chosen, seen = chosen_thresholds(timbre, model, features)
        for code, value, n in zip(codes, chosen, seen):
            if n > 0:
                sums[code] = sums.get(code, 0) + value
                counts[code] = counts.get(code, 0) + 1
    return ",".join(f"{sums[c] / counts[c]:.3f}" if c in counts else "0.5" for c in codes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timbre", default=".build/release/timbre")
    parser.add_argument("--fold", nargs="+", action="append", required=True, metavar="NAME MODEL FEATURES")
    parser.add_argument("--thresholds", action="store_true")
    parser.add_argument("--songs", nargs="+", action="append", default=[], metavar="NAME SONGS")
    parser.add_argument("--confusion", metavar="DIR")
    args = parser.parse_args()
    songs = {name: files for name, *files in args.songs}
    unknown = set(songs) - {fold[0] for fold in args.fold}
    if unknown:
        parser.error(f"--songs names no fold: {', '.join(sorted(unknown))}")
    if args.thresholds:
        print(thresholds(args.timbre, [(model, features + songs.get(name, []) if songs else [])
                                       for name, model, *features in args.fold]))
        return
    rows, recalls, pooled, all_codes = [], {}, {}, None
    for name, model, *features in args.fold:
        codes, confusion = evaluate(args.timbre, model, features)
        all_codes = codes or all_codes
        for code, counts in confusion.items():
            row = pooled.setdefault(code, {})
            for predicted, n in counts.items():
                row[predicted] = row.get(predicted, 0) + n
        total = sum(sum(c.values()) for c in confusion.values())
        correct = sum(c.get(code, 0) for code, c in confusion.items())
        per_class = {}
        for code, c in confusion.items():
            n = sum(c.values())
            if n:
                per_class[code] = c.get(code, 0) / n
                recalls.setdefault(code, []).append((name, per_class[code]))
        weakest = min(per_class.items(), key=lambda kv: kv[1]) if per_class else ("-", 0)
        late, late_recalls = late_epochs(args.timbre, model)
        for code in per_class:
            if code in late_recalls:
                recalls[code][-1] = (name, per_class[code], late_recalls[code])
        rows.append((name, " ".join(sorted(per_class)), total, 1 - correct / max(total, 1), weakest, late))
    print("| held-out sources | classes | clips | top-1 error | lowest recall | second half of the epochs: mean (range) |")
    print("| --- | --- | ---: | ---: | --- | ---: |")
    for name, classes, total, error, weakest, late in rows:
        spread = f"{100 * late[0]:.1f}% ({100 * late[1]:.0f}–{100 * late[2]:.0f})" if late else "–"
        print(f"| {name.replace('+', ', ')} | {classes} | {total} | {100 * error:.1f}% | {weakest[0]} {100 * weakest[1]:.0f}% | {spread} |")
    mean = sum(r[3] for r in rows) / len(rows)
    lates = [r[5][0] for r in rows if r[5]]
    late_mean = f"**{100 * sum(lates) / len(lates):.1f}%**" if len(lates) == len(rows) else "–"
    print(f"| **mean** | | {sum(r[2] for r in rows)} | **{100 * mean:.1f}%** | | {late_mean} |")
    if args.confusion and all_codes:
        write_confusion(args.confusion, all_codes, pooled)
    print()
    print("Recall of each class on the held-out groups that contain it (in brackets, its mean over")
    print("the second half of the epochs, where the fold's training history records it):")
    print()
    print("| class | recall per held-out group | mean |")
    print("| --- | --- | ---: |")
    for code in sorted(recalls):
        values = recalls[code]
        print(f"| {code} | " + ", ".join(f"{v[0].replace('+', ', ')} {100 * v[1]:.0f}%" + (f" [{100 * v[2]:.0f}%]" if len(v) > 2 else "")
                                         for v in values)
              + f" | {100 * sum(v[1] for v in values) / len(values):.0f}%"
              + (f" [{100 * sum(v[2] for v in values) / len(values):.0f}%]" if all(len(v) > 2 for v in values) else "") + " |")


if __name__ == "__main__":
    sys.exit(main())
