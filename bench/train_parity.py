"""Same data, same recipe: `timbre train` against the Keras reference (keras_cnn.py).

Renders a small training corpus and a held-out corpus with `timbre synth`, prepares both
with `timbre prepare`, then trains the instrument CNN on the first with each tool (same
architecture, initialisers, Adam settings, batch size, class-balanced epochs, epochs and
seed; no early stopping) and prints the held-out validation top-1 error of every epoch
side by side. Both on 2 cores, one after the other.

One seed's final error swings by several points in either tool on a set this small, so
`--seeds 1,2,3` trains each tool once per seed and also prints the mean final errors.

Usage: train_parity.py --timbre PATH --work DIR [--takes 30] [--epochs 10] [--lr 5e-4] [--seeds 1,2,3]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(*command, **kwargs):
    return subprocess.run([str(c) for c in command], check=True, **kwargs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--takes", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seeds", default="1", help="comma-separated training seeds")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    quiet = dict(stdout=subprocess.DEVNULL)

    features = {}
    for split, seed, takes in [("train", 3, args.takes), ("held-out", 4, max(1, args.takes // 3))]:
        corpus = os.path.join(args.work, split)
        run(args.timbre, "synth", "-o", corpus, "--split", split, "--seed", seed, "--takes-per-class", takes, "--songs", 0, **quiet)
        features[split] = os.path.join(args.work, f"{split}.h5")
        run(args.timbre, "prepare", os.path.join(corpus, "IRMAS-TrainingData"), "-o", features[split], **quiet)

    finals = []
    for seed in [int(seed) for seed in args.seeds.split(",")]:
        finals.append(train_both(args, features, seed, quiet))
    if len(finals) > 1:
        timbre_mean = sum(t for t, _ in finals) / len(finals)
        keras_mean = sum(k for _, k in finals) / len(finals)
        print(f"\nmean final error over seeds {args.seeds}: timbre {timbre_mean:.1f}%, Keras {keras_mean:.1f}%, "
              f"difference {abs(timbre_mean - keras_mean):.1f} points")


def train_both(args, features, seed, quiet):
    """Trains with timbre and with Keras for one seed, prints both curves, returns the final errors."""
    model = os.path.join(args.work, "timbre-model.h5")
    for stale in (model, model.replace(".h5", ".checkpoint.h5")):
        if os.path.exists(stale):
            os.remove(stale)
    run(args.timbre, "train", features["train"], "-o", model, "--validation", features["held-out"],
        "--epochs", args.epochs, "--patience", args.epochs, "--learning-rate", args.lr, "--seed", seed, **quiet)
    summary = json.loads(subprocess.run(
        [sys.executable, "-c", "import h5py,sys; print(h5py.File(sys.argv[1])['/'].attrs['training_summary'])", model],
        check=True, capture_output=True, text=True).stdout)
    timbre_errors = [100 * (1 - epoch["validationAccuracy"]) for epoch in summary["history"]]

    out = subprocess.run([sys.executable, os.path.join(HERE, "keras_cnn.py"), "train", features["train"], features["held-out"],
                          "--epochs", str(args.epochs), "--lr", str(args.lr), "--seed", str(seed)],
                         check=True, capture_output=True, text=True)
    keras_errors = [100 * (1 - json.loads(line)["validation_accuracy"]) for line in out.stdout.splitlines() if line.startswith("{")]

    print(f"\nvalidation top-1 error (%), held-out corpus, lr {args.lr}, batch 32, seed {seed}")
    print(f"{'epoch':>6}{'timbre':>9}{'Keras':>9}")
    for epoch, (a, b) in enumerate(zip(timbre_errors, keras_errors), start=1):
        print(f"{epoch:>6}{a:>9.1f}{b:>9.1f}")
    print(f"{'best':>6}{min(timbre_errors):>9.1f}{min(keras_errors):>9.1f}")
    print(f"{'last':>6}{timbre_errors[-1]:>9.1f}{keras_errors[-1]:>9.1f}   difference {abs(timbre_errors[-1] - keras_errors[-1]):.1f} points")

    return timbre_errors[-1], keras_errors[-1]

if __name__ == "__main__":
    main()
