#!/usr/bin/env bash
# The comparisons the model families' papers make, at one small budget each (the same
# number of training mixtures), scored on the held-out songs of make-separator-model.sh:
# - multitask U-Net: simultaneous, independent, interleaved and interleaved-acc training;
# - Sams-Net with attention (chunks of 16 frames: 4 slices of 64), without attention, and
#   with chunks of 8 and 32 frames (8 and 2 slices);
# - the three families against each other.
# A variant already scored is skipped, an interrupted one resumes. Prints one line per variant: mean SDR over stems and SDR per stem (median over windows,
# then over tracks).
set -euo pipefail
timbre=${TIMBRE:-.build/release/timbre}
work=${WORK:-separator-build}
budget=${BUDGET:-640}      # training mixtures per variant
batch=8
out="$work/compare"
mkdir -p "$out"

train() {  # name, batches per epoch, epochs, then train-separator options
    local name=$1 batches=$2 epochs=$3; shift 3
    # ONLY (a pattern) runs some variants, e.g. to spread them over two workers.
    [[ "$name" == ${ONLY:-*} ]] || return 0
    [ -f "$out/table-$name.txt" ] && return 0
    if [ ! -f "$out/$name.done" ]; then
        local resume=()
        [ -f "$out/$name.checkpoint.h5" ] && resume=(--resume)
        "$timbre" train-separator "$work/train/MedleyDB" -o "$out/$name.h5" --epochs "$epochs" --batches-per-epoch "$batches" \
            --batch-size $batch --validation-examples 48 --patience 0 --seed 1 "${resume[@]}" "$@" > "$out/$name.log"
        touch "$out/$name.done"
    fi
    rm -rf "$out/estimates-$name"
    "$timbre" separate "$work"/test-musdb/*/mixture.wav -o "$out/estimates-$name" --model "$out/$name.h5" --format float > /dev/null
    "$timbre" evaluate-separation "$out/estimates-$name" "$work/test-musdb" --no-baselines --report "$out/report-$name" 2>/dev/null > "$out/table-$name.txt"
    awk -v name="$name" '$1 ~ /^(bass|drums|other|vocals)$/ { sdr[$1] = $3; sum += $3; n++ }
        END { printf "%-28s mean %6.2f  vocals %6.2f  drums %6.2f  bass %6.2f  other %6.2f\n", name, sum / n, sdr["vocals"], sdr["drums"], sdr["bass"], sdr["other"] }' \
        "$out/table-$name.txt" | tee -a "$out/summary.txt"
}

steps=$((budget / batch))
train multitask-simultaneous 20 $((steps / 20)) --arch multitask --mode simultaneous
train multitask-interleaved 20 $((steps / 20)) --arch multitask --mode interleaved
train multitask-interleaved-acc 5 $((steps / 20)) --arch multitask --mode interleaved-acc
train multitask-independent 20 $((steps / 20)) --arch multitask --mode independent
train sams-attention-16 20 $((steps / 20)) --arch sams --chunk 16
train sams-no-attention 20 $((steps / 20)) --arch sams --no-attention
train sams-attention-8 20 $((steps / 20)) --arch sams --chunk 8
train sams-attention-32 20 $((steps / 20)) --arch sams --chunk 32
train chandna 20 $((steps / 20)) --arch chandna
