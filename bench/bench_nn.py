"""Benchmark: Timbre's CNN engine against the same network in Keras 3 on TensorFlow-CPU.

Runs `timbre-bench` (sgemm peak, convolution GFLOP/s, training and inference throughput)
and keras_cnn.py's throughput mode, both on this machine's cores, batch 32, 13 classes,
alternately for a few rounds (the best figures of each tool count), and prints them side
by side.

Usage: bench_nn.py --timbre-bench PATH [--seconds S] [--rounds N]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def lines(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(command)}\n{result.stderr}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre-bench", required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternate the two tools this many times and keep each one's best figures "
                             "(this machine's speed drifts between runs)")
    args = parser.parse_args()
    pick = lambda rows, what: next(r for r in rows if r["what"] == what)
    best = lambda runs, what: max(pick(rows, what)["clips_per_second"] for rows in runs)
    timbre_runs, keras_runs = [], []
    for _ in range(args.rounds):
        timbre_runs.append(lines([args.timbre_bench, "--seconds", str(int(args.seconds))]))
        keras_runs.append(lines([sys.executable, os.path.join(HERE, "keras_cnn.py"), "throughput", "--seconds", str(args.seconds)]))
    # Convolution figures from timbre's fastest training round.
    timbre = max(timbre_runs, key=lambda rows: pick(rows, "train")["clips_per_second"])
    peak = pick(timbre, "sgemm_peak")["gflops"]
    print("\nCNN: standardise, 4 x (conv 3x3, 64 filters, ReLU, max-pool 2x2), dense 256, 13 classes;")
    print(f"input 1 x 128 x 130, batch 32, 2 cores; best of {args.rounds} alternating rounds per tool\n")
    print(f"{'':<26} {'train clips/s':>14} {'infer clips/s':>14}")
    k_train, k_infer = best(keras_runs, "train"), best(keras_runs, "infer")
    t_train, t_infer = best(timbre_runs, "train"), best(timbre_runs, "infer")
    print(f"{'Keras 3 / TensorFlow-CPU':<26} {k_train:14.1f} {k_infer:14.1f}")
    print(f"{'timbre':<26} {t_train:14.1f} {t_infer:14.1f}")
    print(f"{'timbre / Keras':<26} {t_train / k_train:13.2f}x {t_infer / k_infer:13.2f}x")
    conv = pick(timbre, "conv_total")["gflops"]
    print(f"\ncblas_sgemm peak (2048^3, 2 threads): {peak:.1f} GFLOP/s")
    print(f"timbre convolutions, forward + backward: {conv:.1f} GFLOP/s = {100 * conv / peak:.0f}% of peak")
    print("(counting direct-convolution FLOPs; Winograd layers perform fewer multiplications)")
    for row in (r for r in timbre if r["what"] == "conv_layer"):
        shape = "x".join(str(d) for d in row["input"][1:])
        print(f"  layer {row['layer']:>2} input {shape:<10} forward {row['forward_gflops']:6.1f}  backward {row['backward_gflops']:6.1f} GFLOP/s")


if __name__ == "__main__":
    main()
