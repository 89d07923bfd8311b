#!/usr/bin/env bash
# Renders a small demo folder that the bundled model has never heard (held-out programs,
# drum kits and seed): a few solo clips per class and two short songs. Tags all of it,
# then scores the solo clips and writes the report (confusion matrix picture, metrics).
set -euo pipefail
timbre=${1:-.build/release/timbre}
root=demo
rm -rf "$root/corpus" "$root/report"
"$timbre" synth -o "$root/corpus" --split held-out --seed 2026 --takes-per-class 4 --excerpts 1 --songs 2 --song-seconds 20 > /dev/null
echo "rendered $(find "$root/corpus" -name '*.wav' | wc -l) files into $root/corpus"
echo
echo "== timbre tag $root/corpus/IRMAS-TrainingData $root/corpus/MedleyDB/*/*_MIX.wav"
"$timbre" tag "$root/corpus/IRMAS-TrainingData" "$root"/corpus/MedleyDB/*/*_MIX.wav
echo
echo "== timbre evaluate $root/corpus/IRMAS-TrainingData --report $root/report"
"$timbre" evaluate "$root/corpus/IRMAS-TrainingData" --report "$root/report"
