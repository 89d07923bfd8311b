#!/usr/bin/env bash
# Reproduces the bundled separator and the separation table of the README.
#
# 1. Renders 200 training songs of 20 s and 30 held-out songs of 30 s (another split: other
#    seeds, and programs and kits training never plays) from every sound family of the
#    classifier's training, three songs in five with a singer.
# 2. Writes the held-out songs as MUSDB18's four stems (timbre group-stems).
# 3. Learns the network-free floor (fixed per-frequency masks) and trains the Chandna network,
#    validating on songs held out by song, then separates and scores the held-out songs with
#    both, beside the mixture and oracle baselines (timbre evaluate-separation).
# 4. Installs the network as Sources/TimbreModel/default-separator.h5.
#
# Needs the sources of datasets/sources.md in $TIMBRE_SOURCES (scripts/get-sources.sh).
# Rendering and training resume when the script is run again.
set -euo pipefail
timbre=${TIMBRE:-.build/release/timbre}
work=${WORK:-separator-build}
sources=${TIMBRE_SOURCES:-sources}
epochs=${EPOCHS:-30}
families=fluidr3,gmbank,airfont,hydrogen,samssonor,muldjord,ixox-flute,sullivan-epianos,gtown,solfege,festival,mtg-sax,philharmonia,headroom-piano,strat,winer-cello
mkdir -p "$work"

"$timbre" synth -o "$work/train" --takes-per-class 0 --songs 200 --song-seconds 20 --song-voice-share 0.6 \
    --families "$families" --sources "$sources"
"$timbre" synth -o "$work/test" --split held-out --seed 7 --takes-per-class 0 --songs 30 --song-seconds 30 \
    --song-voice-share 0.6 --families "$families" --sources "$sources"
"$timbre" group-stems "$work/test/MedleyDB" -o "$work/test-musdb"

"$timbre" train-separator "$work/train/MedleyDB" -o "$work/floor.h5" --arch floor
resume=()
[ -f "$work/chandna.checkpoint.h5" ] && resume=(--resume)
"$timbre" train-separator "$work/train/MedleyDB" -o "$work/chandna.h5" --arch chandna --epochs "$epochs" \
    --batches-per-epoch 200 --batch-size 16 --patience 6 --seed 1 "${resume[@]}"

for model in floor chandna; do
    "$timbre" separate "$work"/test-musdb/*/mixture.wav -o "$work/estimates-$model" --model "$work/$model.h5" --format float
    "$timbre" evaluate-separation "$work/estimates-$model" "$work/test-musdb" --report "$work/report-$model" | tee "$work/table-$model.txt"
done
cp "$work/chandna.h5" Sources/TimbreModel/default-separator.h5
echo "installed Sources/TimbreModel/default-separator.h5"
