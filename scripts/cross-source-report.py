#!/usr/bin/env python3
"""Cross-source validation report for `make model`.

Each fold is a model trained without one group of sound families, scored here on that
group's solo clips with `timbre evaluate`. Prints the cross-source table (top-1 error and
recall per class of every held-out group, and their means) as Markdown, or with
--thresholds the per-class decision thresholds averaged over the folds whose held-out
clips contained the class (each fold chose them on sounds it never trained on).

    cross-source-report.py --timbre T --fold NAME MODEL FEATURES... [--fold ...] [--thresholds]
                           [--confusion DIR]

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


def thresholds(timbre, models):
    sums, counts = {}, {}
    codes = None
    for model in models:
        info = json.loads(subprocess.run([timbre, "info", "--json", model], check=True, capture_output=True, text=True).stdout)
        codes = info["class_codes"]
        summary = info["training_summary"]
        seen = summary.get("validation_class_counts") or []
        for code, value, n in zip(codes, summary.get("class_thresholds") or [], seen):
            if n > 0:
                sums[code] = sums.get(code, 0) + value
                counts[code] = counts.get(code, 0) + 1
    return ",".join(f"{sums[c] / counts[c]:.3f}" if c in counts else "0.5" for c in codes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timbre", default=".build/release/timbre")
    parser.add_argument("--fold", nargs="+", action="append", required=True, metavar="NAME MODEL FEATURES")
    parser.add_argument("--thresholds", action="store_true")
    parser.add_argument("--confusion", metavar="DIR")
    args = parser.parse_args()
    if args.thresholds:
        print(thresholds(args.timbre, [fold[1] for fold in args.fold]))
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
        rows.append((name, " ".join(sorted(per_class)), total, 1 - correct / max(total, 1), weakest))
    print("| held-out sources | classes | clips | top-1 error | lowest recall |")
    print("| --- | --- | ---: | ---: | --- |")
    for name, classes, total, error, weakest in rows:
        print(f"| {name.replace('+', ', ')} | {classes} | {total} | {100 * error:.1f}% | {weakest[0]} {100 * weakest[1]:.0f}% |")
    mean = sum(r[3] for r in rows) / len(rows)
    print(f"| **mean** | | {sum(r[2] for r in rows)} | **{100 * mean:.1f}%** | |")
    if args.confusion and all_codes:
        write_confusion(args.confusion, all_codes, pooled)
    print()
    print("Recall of each class on the held-out groups that contain it:")
    print()
    print("| class | recall per held-out group | mean |")
    print("| --- | --- | ---: |")
    for code in sorted(recalls):
        values = recalls[code]
        print(f"| {code} | " + ", ".join(f"{n.replace('+', ', ')} {100 * r:.0f}%" for n, r in values)
              + f" | {100 * sum(r for _, r in values) / len(values):.0f}% |")


if __name__ == "__main__":
    sys.exit(main())
