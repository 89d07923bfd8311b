#!/usr/bin/env bash
# Trains the classifier from many independent sound sources, choosing its recipe by
# cross-source validation: no decision is taken on sounds of a source it trains on
# (except with NO_FOLDS=1, below, which chooses the thresholds without folds).
#
# 1. Renders one solo corpus per sound family (labels/sound-sources.csv) and prepares each
#    into its own feature file; the real recordings under SOURCES/recordings are prepared
#    as they are.
# 2. Cross-source folds: for each group of families, trains on all the others for a fixed
#    number of epochs and scores the held-out group (its top-1 error is the cross-source
#    table); per-class thresholds are chosen on the held-out group's clips and mixtures.
# 3. Trains the bundled model on every family but the test family with the fold recipe,
#    records the thresholds averaged over the folds that held each class out, and installs it.
#    With songs, each fold's thresholds are chosen again per class on its held-out solo
#    clips and on songs played by its held-out families alone.
# 4. Scores the bundled model on the test family, which no step above has heard (its solo
#    clips and song mixes rendered from it), and on real recordings kept for testing.
#
# The test family is the Synthesis ToolKit's physical models: they cover every class, and
# cross-source folds measured that training on them makes real samples worse.
#
# SONGS=N adds the mix clips of N songs of 20 s to every training (`train
# --multi-label-clips`): polyphonic context with each window labelled by the stems sounding
# in it. They are rendered from the families that play whole songs, with training programs
# only, and a fold's songs leave out its held-out families, so no fold hears them even
# inside a mix. The bundled model's recipe is 200; SONGS=0 trains on solo clips and
# mixtures of them only. SONG_CLIPS names the classes whose song stems train as clips of
# their own beside the mix clips: by default every class but violin, saxophone and trumpet
# (the SoundFont ones pull real violin towards the winds); "both" takes every stem, "mixes"
# none. REAL_SINGER=1 (the default) adds the family of a real singer (below);
# RECORDING_REPITCH=N (4 by default) plays each of its parts, in takes and training songs,
# up to N semitones faster or slower (`synth --recording-repitch`), so that one singer
# sounds like several (the fold that holds the singer out then validates on those takes
# too). FOLDS="NAME..." runs only the folds named as in the cross-source table
# ("solfege+festival recordings+pjs"), reports them and stops before the bundled model.
# NO_FOLDS=1 runs no fold: the bundled model alone, one training instead of nine, with
# its thresholds (and its temperature) chosen per class on a tenth of its own recordings
# held back from training, so they are not cross-source; no cross-source table is made,
# and make stem-model, which needs the folds' thresholds, does not run after it.
# TRAIN_OPTIONS="..." adds `timbre train` options to the recipe of every training (a
# candidate such as "--spec-augment", measured with FOLDS against the recipe without it).
#
# Needs the sources of datasets/sources.md in $TIMBRE_SOURCES (scripts/get-sources.sh).
# Every step resumes: rendering, preparing and training pick up where they stopped, and
# redo what was made from sources or with arguments that changed since. A set of songs is
# removed once prepared (KEEP_SONGS=1 keeps it).
set -euo pipefail
timbre=${TIMBRE:-.build/release/timbre}
work=${WORK:-model-build}
sources=${TIMBRE_SOURCES:-sources}
takes=${TAKES:-40}
epochs=${EPOCHS:-22}
songs=${SONGS:-200}
# Which clips of the songs train (`prepare --multitrack-clips`): "mixes", each window of
# the mix labelled by the stems sounding in it, "both", the stems' own clips as well, or
# class codes ("voi"), the mix clips and the clips of those classes' stems.
song_clips=${SONG_CLIPS:-cel,cla,flu,gac,gel,org,pia,voi,dru,bas}
case "$song_clips" in
    mixes|both) song_clip_options=(--multitrack-clips "$song_clips") ;;
    *) song_clip_options=(--multitrack-clips both --stem-clip-classes "$song_clips") ;;
esac
# REAL_SINGER=1 adds the PJS corpus's real singer (family pjs): trained on as takes, singing
# in the songs, and held out with the real recordings. Its seed comes after every other
# family's, so the rest of the corpus stays as it was.
added_families=()
[ "${REAL_SINGER:-1}" = 1 ] && added_families=(pjs)
# The families whose parts are real recordings, and how their training takes and songs play them.
recorded_families=(pjs)
recording_repitch=${RECORDING_REPITCH:-4}
repitch_options=()
[ "$recording_repitch" = 0 ] || repitch_options=(--recording-repitch "$recording_repitch")
recipe=(--learning-rate 5e-4 --output-layer sigmoid --mix-fraction 0.25 --max-mix 4 --seed 1 --last-epoch)
read -r -a train_options <<< "${TRAIN_OPTIONS:-}"
recipe+=("${train_options[@]}")
test_family=stk
# Every family with the seed of its place in this list (the test family included):
# families added later come last, so adding one leaves the takes of the others as they were.
render_order=(fluidr3 gmbank airfont hydrogen muldjord samssonor mtg-sax ixox-flute winer-cello headroom-piano
              sullivan-epianos gtown strat solfege philharmonia festival stk mtg-trumpet mtg-cello exter-cello fretless-bass
              mtg-violin)
# Real recordings kept for testing only, after the families in the seed numbering: the
# bundled model is scored on them and no step trains on them.
real_test_families=(tedagame-piano axgrinder-guitar)
families=()
for family in "${render_order[@]}" "${added_families[@]}"; do [ "$family" = "$test_family" ] || families+=("$family"); done
# Held out together: sources that share an origin or a role.
# Ethan Winer's cello notes are FluidR3's cello recordings, so they are held out with it.
groups=("fluidr3 winer-cello" "gmbank" "airfont" "hydrogen muldjord samssonor"
        "mtg-sax mtg-trumpet mtg-cello mtg-violin exter-cello fretless-bass ixox-flute headroom-piano sullivan-epianos gtown strat" "philharmonia"
        "solfege festival"
        "recordings")
[ ${#added_families[@]} -eq 0 ] || groups[${#groups[@]}-1]+=" ${added_families[*]}"
# The families that play whole songs (those the separator trains on).
song_families=(fluidr3 gmbank airfont hydrogen samssonor muldjord ixox-flute sullivan-epianos gtown solfege festival
               mtg-sax philharmonia headroom-piano strat winer-cello "${added_families[@]}")
# Song families of one instrument (drum kits, singers): songs of them alone are solo
# clips, which a fold's thresholds see already.
single_instrument_families=(hydrogen samssonor muldjord solfege festival "${added_families[@]}")
# Songs a fold's thresholds are chosen on besides its held-out solo clips: this many songs
# of 20 s played by the held-out families alone.
heldout_songs=40
mkdir -p "$work/corpus" "$work/features" "$work/folds" "$work/test" "$work/songs"
export OPENBLAS_NUM_THREADS=1

. "$(dirname "$0")/resumable-steps.sh"

# FOLDS="NAME..." runs only those folds (and renders only their songs), then reports them
# and stops: for measuring a recipe on the folds it should change first. The bundled
# model is trained when every fold runs, or none (NO_FOLDS=1).
chosen=$(chosen_folds "${groups[@]}")
groups=()
[ -z "$chosen" ] || mapfile -t groups <<< "$chosen"

# Trains model $1 with the rest of the arguments unless it was finished ($1.done) on the
# same feature files and arguments (their hash in $1.inputs). A training that was finished
# or interrupted on other inputs starts again instead of resuming. A $1.done without
# $1.inputs, as earlier versions of this script left, counts as finished on these inputs.
train_once() {
    local model=$1 inputs
    shift
    inputs=$(for a in "$@"; do if [ -f "$a.sources" ]; then echo "$a $(cat "$a.sources")"; else echo "$a"; fi; done | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$model.inputs" 2>/dev/null)" != "$inputs" ]; then
        [ -f "$model.done" ] && [ ! -f "$model.inputs" ] || rm -f "$model" "${model%.h5}.checkpoint.h5" "$model.done"
        echo "$inputs" > "$model.inputs"
    fi
    [ -f "$model.done" ] && return
    "$timbre" train "$@" -o "$model" --resume
    touch "$model.done"
}

# The song families a training that leaves out the families in $1 keeps, one a line.
songs_kept() { for f in "${song_families[@]}"; do [[ " $1 " == *" $f "* ]] || echo "$f"; done; }
# The name of those songs: "all" when the training keeps every song family.
songs_name() { [ "$(songs_kept "$1" | wc -l)" -eq "${#song_families[@]}" ] && echo all || echo "${1// /+}"; }
# The song families among the families in $1 that play more than one instrument.
songs_held() {
    for f in "${song_families[@]}"; do
        [[ " $1 " == *" $f "* && " ${single_instrument_families[*]} " != *" $f "* ]] && echo "$f"
    done
    return 0
}
# The song-mix feature file for a training that leaves out the families in $1; nothing
# when SONGS is 0.
song_mixes() { [ "$songs" -eq 0 ] || echo "$work/features/songs-$(songs_name "$1").h5"; }
song_options=()
[ "$songs" -gt 0 ] && song_options=(--multi-label-clips)

echo "== 1. corpora"
seed=1
for family in "${render_order[@]}" "${real_test_families[@]}" "${added_families[@]}"; do
    seed=$((seed + 1))
    corpus=$work/corpus/$family
    [[ " ${real_test_families[*]} " == *" $family "* ]] && corpus=$work/test/$family
    played=()
    [[ " ${recorded_families[*]} " == *" $family "* ]] && played=("${repitch_options[@]}")
    render_once "$corpus" --families "$family" --sources "$sources" --seed "$seed" --takes-per-class "$takes" --songs 0 "${played[@]}"
    prepare_once "$corpus/IRMAS-TrainingData" "$work/features/$family.h5"
done
render_once "$work/test/$test_family-songs" --families "$test_family" --sources "$sources" --split held-out --seed 77 \
    --takes-per-class 0 --songs 24 --song-seconds 30
prepare_once "$work/test/$test_family-songs/MedleyDB" "$work/features/$test_family-songs.h5"
prepare_once "$sources/recordings" "$work/features/recordings.h5" --layout folders
if [ "$songs" -gt 0 ]; then
    rendered=" "
    # The songs of every family ("all") train only the bundled model.
    training_sets=("")
    [ -z "${FOLDS:-}" ] || training_sets=()
    for group in "${training_sets[@]}" "${groups[@]}"; do
        name=$(songs_name "$group")
        [[ "$rendered" == *" $name "* ]] && continue
        rendered+="$name "
        # Songs without a recorded family keep their arguments, so they are not rendered again.
        played=()
        for f in "${recorded_families[@]}"; do
            [[ " $(songs_kept "$group" | paste -sd' ') " == *" $f "* ]] && played=("${repitch_options[@]}")
        done
        songs_once "$work/songs/$name" "$work/features/songs-$name.h5" --layout medleydb "${song_clip_options[@]}" -- \
            --families "$(songs_kept "$group" | paste -sd,)" --sources "$sources" --seed 21 \
            --takes-per-class 0 --songs "$songs" --song-seconds 20 --song-voice-share 0.6 "${played[@]}"
    done
    for group in "${groups[@]}"; do
        held=$(songs_held "$group" | paste -sd,)
        [ -n "$held" ] || continue
        name=${group// /+}
        songs_once "$work/songs/heldout-$name" "$work/features/heldout-songs-$name.h5" --layout medleydb \
            --multitrack-clips mixes -- --families "$held" --sources "$sources" --seed 31 --takes-per-class 0 \
            --songs "$heldout_songs" --song-seconds 20 --song-voice-share 0.6
    done
fi

files_of() { for f in $1; do echo "$work/features/$f.h5"; done; }

[ ${#groups[@]} -eq 0 ] || echo "== 2. cross-source folds ($epochs epochs each)"
for group in "${groups[@]}"; do
    name=${group// /+}
    train=()
    for f in "${families[@]}" recordings; do [[ " $group " == *" $f "* ]] || train+=("$work/features/$f.h5"); done
    train+=($(song_mixes "$group"))
    validation=()
    for f in $(files_of "$group"); do validation+=(--validation "$f"); done
    train_once "$work/folds/$name.h5" "${train[@]}" "${validation[@]}" --epochs "$epochs" "${recipe[@]}" "${song_options[@]}"
done

folds=()
heldout=()
for group in "${groups[@]}"; do
    name=${group// /+}
    folds+=(--fold "$name" "$work/folds/$name.h5" $(files_of "$group"))
    [ "$songs" -gt 0 ] && [ -n "$(songs_held "$group")" ] && heldout+=(--songs "$name" "$work/features/heldout-songs-$name.h5")
done
if [ -n "${FOLDS:-}" ]; then
    report=$work/cross-source-${FOLDS// /,}
    python3 scripts/cross-source-report.py --timbre "$timbre" "${folds[@]}" --confusion "$report" | tee "$report.md"
    echo "only the folds of FOLDS ran (report in $report.md); the bundled model needs every fold"
    exit 0
fi
echo "== 3. the bundled model"
all=()
for f in "${families[@]}" recordings; do all+=("$work/features/$f.h5"); done
all+=($(song_mixes ""))
printf '%s\n' "${all[@]}" > "$work/training-files.txt"
if [ ${#groups[@]} -eq 0 ]; then
    echo "no folds (NO_FOLDS=1): thresholds chosen on a tenth of the training recordings, held back"
    rm -rf "$work/thresholds.txt" "$work/cross-source" "$work/cross-source.md"
    train_once "$work/model.h5" "${all[@]}" --epochs "$epochs" --validation-fraction 0.1 "${recipe[@]}" "${song_options[@]}"
else
    python3 scripts/cross-source-report.py --timbre "$timbre" "${folds[@]}" --confusion "$work/cross-source" | tee "$work/cross-source.md"
    thresholds=$(python3 scripts/cross-source-report.py --timbre "$timbre" "${folds[@]}" "${heldout[@]}" --thresholds)
    # Kept for the stem classifier (make stem-model), which trains on the same files with the same thresholds.
    echo "$thresholds" > "$work/thresholds.txt"
    train_once "$work/model.h5" "${all[@]}" --epochs "$epochs" --validation-fraction 0 "${recipe[@]}" "${song_options[@]}" \
        --class-thresholds "$thresholds"
fi
cp "$work/model.h5" Sources/TimbreModel/default-model.h5
# The checksum record that the bundled-model loader verifies.
python3 -c 'import sys, zlib; d = open(sys.argv[1], "rb").read(); print("%08x %d" % (zlib.crc32(d), len(d)))' \
    Sources/TimbreModel/default-model.h5 > Sources/TimbreModel/default-model.h5.crc32
echo "installed Sources/TimbreModel/default-model.h5"
[ ${#groups[@]} -eq 0 ] || echo "cross-source table in $work/cross-source.md"

echo "== 4. the bundled model on the unseen test family ($test_family)"
{
    echo "solo clips: $("$timbre" evaluate --model "$work/model.h5" "$work/features/$test_family.h5" | head -1)"
    echo "song mixes: $("$timbre" evaluate --model "$work/model.h5" "$work/features/$test_family-songs.h5" | grep multi-label)"
    for family in "${real_test_families[@]}"; do
        echo "$family: $("$timbre" evaluate --model "$work/model.h5" "$work/features/$family.h5" | head -1)"
    done
} | tee "$work/unseen.md"
