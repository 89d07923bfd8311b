#!/usr/bin/env bash
# Trains a stem classifier for `tag --separate --stem-model` and measures it.
#
# A classifier trained on solo clips and song mixes hears a separated stem as a mix: what
# the other stems leaked into it (a voice in the other stem, a guitar in the vocals) can
# become tags. This one also learns separated stems as they come out of the bundled
# separator.
#
# 1. Renders 300 songs of 20 s from the families the separator trains on (another seed than
#    the separator's and the classifier's songs, training programs only) and separates them
#    with the bundled separator.
# 2. Makes each separated stem a song of its own (scripts/separated-stem-songs.py): the
#    stem is the mix, and the song's true stems of that group label it, clip by clip, with
#    the instruments that really sound there, and with none where it only holds leakage.
# 3. Trains the bundled model's recipe on its training data (the solo corpora and song
#    mixes of `make model`) plus these clips, with the bundled model's thresholds, into
#    $WORK/model.h5.
# 4. With the separator's held-out songs at hand (`make separator-model`), prints the
#    per-window micro-F1 of `tag`, of `tag --separate`, and of `tag --separate` with the
#    stem classifier, at the default stem floor and at 0.4.
#
# Needs `make model`'s work folder ($MODEL_WORK) and the sources of datasets/sources.md in
# $TIMBRE_SOURCES. Every step resumes.
set -euo pipefail
timbre=${TIMBRE:-.build/release/timbre}
work=${WORK:-stem-model-build}
model_work=${MODEL_WORK:-model-build}
separator_work=${SEPARATOR_WORK:-separator-build}
sources=${TIMBRE_SOURCES:-sources}
epochs=${EPOCHS:-22}
recipe=(--learning-rate 5e-4 --output-layer sigmoid --mix-fraction 0.25 --max-mix 4 --seed 1 --last-epoch --multi-label-clips)
# The separator's song families (make-separator-model.sh without REAL_SINGER).
song_families=fluidr3,gmbank,airfont,hydrogen,samssonor,muldjord,ixox-flute,sullivan-epianos,gtown,solfege,festival,mtg-sax,philharmonia,headroom-piano,strat,winer-cello
export OPENBLAS_NUM_THREADS=1
mkdir -p "$work"
. "$(dirname "$0")/resumable-steps.sh"
for f in thresholds.txt training-files.txt; do
    [ -f "$model_work/$f" ] || { echo "make-stem-model: $model_work/$f is missing; run make model first, without NO_FOLDS=1 (the stem classifier takes the folds' thresholds)" >&2; exit 1; }
done
mapfile -t train < "$model_work/training-files.txt"

echo "== 1. songs, separated"
render_once "$work/songs" --seed 41 --takes-per-class 0 --songs 300 --song-seconds 20 --song-voice-share 0.6 \
    --families "$song_families" --sources "$sources"
# What was made from other songs (their separations, the stem songs, their clips and the
# model) is made again; a work folder without this record is kept as it is.
songs=$(listing_of "$work/songs/MedleyDB")
if [ -f "$work/songs.listing" ] && [ "$(cat "$work/songs.listing")" != "$songs" ]; then
    rm -rf "$work/separated" "$work/stem-songs" "$work/stems.h5" "$work/model.h5" "$work/model.checkpoint.h5" "$work/model.done"
fi
echo "$songs" > "$work/songs.listing"
"$timbre" separate "$work"/songs/MedleyDB/*/*_MIX.wav -o "$work/separated" --format float > "$work/separate.log" || [ $? -eq 2 ]
tail -1 "$work/separate.log"

echo "== 2. separated stems as songs"
python3 scripts/separated-stem-songs.py "$work/songs/MedleyDB" "$work/separated" "$work/stem-songs"
[ -f "$work/stems.h5" ] || { "$timbre" prepare "$work/stem-songs" --layout medleydb --multitrack-clips mixes -o "$work/stems.h5" | tail -1 || [ $? -eq 2 ]; }

echo "== 3. the stem classifier ($epochs epochs)"
[ -f "$work/model.done" ] || {
    "$timbre" train "${train[@]}" "$work/stems.h5" --epochs "$epochs" --validation-fraction 0 "${recipe[@]}" \
        --class-thresholds "$(cat "$model_work/thresholds.txt")" -o "$work/model.h5" --resume
    touch "$work/model.done"
}
echo "wrote $work/model.h5"

echo "== 4. tagging with and without separation on the separator's held-out songs"
for split in validation-heldout test; do
    [ -d "$separator_work/$split/MedleyDB" ] || continue
    echo "-- $split: the classifier, then the stem classifier at the default floor and at 0.4"
    python3 bench/tag_separation.py --timbre "$timbre" "$separator_work/$split/MedleyDB"/* | tail -3
    python3 bench/tag_separation.py --timbre "$timbre" --stem-model "$work/model.h5" "$separator_work/$split/MedleyDB"/* | tail -2 | head -1
    python3 bench/tag_separation.py --timbre "$timbre" --stem-model "$work/model.h5" --stem-threshold 0.4 "$separator_work/$split/MedleyDB"/* | tail -2 | head -1
done
