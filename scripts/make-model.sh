#!/usr/bin/env bash
# Reproduces the bundled model: renders a training corpus and a held-out corpus with
# `timbre synth`, prepares both, trains on the first (validation: 10% of its recordings,
# by group), scores the held-out corpus and installs the model as the package resource.
set -euo pipefail
timbre=${TIMBRE:-.build/release/timbre}
work=${WORK:-model-build}
epochs=${EPOCHS:-24}
mkdir -p "$work"

"$timbre" synth -o "$work/train" --split train --seed 1 --takes-per-class 100 --songs 40
"$timbre" synth -o "$work/held-out" --split held-out --seed 2 --takes-per-class 20 --songs 8
"$timbre" prepare "$work/train/IRMAS-TrainingData" "$work/train/MedleyDB" -o "$work/train.h5"
"$timbre" prepare "$work/held-out/IRMAS-TrainingData" "$work/held-out/MedleyDB" -o "$work/held-out.h5"
OPENBLAS_NUM_THREADS=1 "$timbre" train "$work/train.h5" -o "$work/model.h5" --epochs "$epochs" \
  --learning-rate 5e-4 --validation-fraction 0.1 --patience 4 --seed 1 ${RESUME:+--resume}
"$timbre" evaluate --model "$work/model.h5" "$work/held-out.h5" --report "$work/held-out-report" | tee "$work/held-out-report.txt"
cp "$work/model.h5" Sources/TimbreModel/default-model.h5
echo "installed Sources/TimbreModel/default-model.h5; held-out report in $work/held-out-report"
