#!/usr/bin/env bash
# Assembles the sound sources `timbre synth` plays beyond Debian's packages, as listed in
# datasets/sources.csv: each sample library at its pinned commit under DIR/<name>, the
# measured impulse responses under DIR/impulse-responses, and the real recordings (guitar
# tracks, solo violin) under DIR/recordings/<class>. Needs git and internet access to
# github.com, or TIMBRE_MIRROR pointing at local bare copies
# (TIMBRE_MIRROR/<owner>+<name>/repo). Re-running skips libraries already in place at the
# right commit.
#
#   scripts/get-sources.sh [DIR]        (default: $TIMBRE_SOURCES, else ./sources)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${TIMBRE_SOURCES:-sources}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# Files of COMMIT from a bare repository into DEST, one blob at a time: a partial mirror
# may lack some large files, which are reported and skipped.
extract_from_mirror() {
    local repo=$1 commit=$2 dest=$3 missing=0
    while IFS= read -r -d '' line; do
        local meta=${line%%$'\t'*} path=${line#*$'\t'}
        local type sha
        type=$(echo "$meta" | cut -d' ' -f2)
        sha=$(echo "$meta" | cut -d' ' -f3)
        [ "$type" = blob ] || continue
        mkdir -p "$dest/$(dirname "$path")"
        if ! git --git-dir="$repo" cat-file blob "$sha" > "$dest/$path" 2>/dev/null; then
            rm -f "$dest/$path"
            missing=$((missing + 1))
        fi
    done < <(git --git-dir="$repo" ls-tree -r -z "$commit")
    [ "$missing" -eq 0 ] || echo "  $missing files of $(basename "$dest") are not in the mirror and were skipped"
}

while IFS=, read -r name kind origin version rest; do
    [ "$kind" = github ] || continue
    # The name becomes a folder that is replaced: a plain name only.
    [[ "$name" =~ ^[A-Za-z0-9._-]+$ && "$name" != . && "$name" != .. ]] || { echo "bad library name '$name'" >&2; exit 1; }
    dest="$dir/$name"
    if [ -f "$dest/.timbre-commit" ] && [ "$(cat "$dest/.timbre-commit")" = "$version" ]; then
        echo "$name: in place at $version"
        continue
    fi
    rm -rf "$dest"
    owner_repo=${origin#https://github.com/}
    mirror="${TIMBRE_MIRROR:-}/${owner_repo%%/*}+${owner_repo#*/}/repo"
    if [ -n "${TIMBRE_MIRROR:-}" ] && [ -d "$mirror" ]; then
        echo "$name: from the mirror at $version"
        git --git-dir="$mirror" rev-parse --verify -q "$version^{commit}" > /dev/null \
            || { echo "$name: the mirror lacks commit $version" >&2; exit 1; }
        extract_from_mirror "$mirror" "$version" "$dest"
    else
        echo "$name: cloning $origin at $version"
        git clone -q "$origin" "$dest"
        git -C "$dest" checkout -q "$version"
        # The commit id is the checksum: git has verified every object it names.
        [ "$(git -C "$dest" rev-parse HEAD)" = "$version" ] || { echo "$name: wrong commit" >&2; exit 1; }
        rm -rf "$dest/.git"
    fi
    echo "$version" > "$dest/.timbre-commit"
done < <(tail -n +2 "$here/datasets/sources.csv" | python3 -c '
import csv, sys
for row in csv.reader(sys.stdin):
    print(",".join(field.replace(",", ";") for field in row))
')

# Impulse responses for the recording chains.
mkdir -p "$dir/impulse-responses"
ln -sfn "$dir/ToobAmp/impulseFiles/reverb" "$dir/impulse-responses/rooms"
ln -sfn "$dir/ToobAmp/impulseFiles/CabIR" "$dir/impulse-responses/cabinets"

# Links the guitar track of every Frets on Fire song of Debian package $1 into folder $2,
# as <song>.ogg; $3 says what the tracks are for, should the package be missing.
link_guitar_tracks() {
    local songs=/usr/share/games/fretsonfire/data/songs/${1#fretsonfire-songs-} song
    if [ -d "$songs" ]; then
        mkdir -p "$2"
        for song in "$songs"/*/; do ln -sfn "$song/guitar.ogg" "$2/$(basename "$song").ogg"; done
    else
        echo "$3 need the Debian package $1" >&2
    fi
}
# Real recordings, one folder per class (the `folders` layout of `timbre prepare`).
link_guitar_tracks fretsonfire-songs-muldjord "$dir/recordings/electric guitar" "real guitar recordings"
# The guitar tracks of Sectoid's four songs, for the real-solo test only (never trained on).
link_guitar_tracks fretsonfire-songs-sectoid "$dir/sectoid" "the real-solo test's Sectoid guitar tracks"
# Real solo violin from the Bach violin data set: only the recordings under CC BY 3.0 or in
# the public domain (the set's other folders forbid commercial use or derivatives).
violin=$dir/bach-violin
if [ -d "$violin" ]; then
    mkdir -p "$dir/recordings/violin"
    for take in bach-violin/audio/john-garner/john-garner_bwv1002_mov{6,7,8}.mp3 \
                bach-violin/audio/minji-kim/minji-kim_bwv1003_mov{3,4}.opus \
                docs/assets/audio/emil-telmanyi_bwv1001_trimmed_30sec.mp3; do
        if [ -f "$violin/$take" ]; then
            ln -sfn "$violin/$take" "$dir/recordings/violin/$(basename "$take")"
        else
            echo "bach-violin: $take is missing" >&2
        fi
    done
fi
# The MTG cello notes under the names the Freesound pack gives them: the app that ships them
# dropped the sharps from its file names ("cello-c-2" became "cello-c2"). They are copied
# to DIR/mtg-cello with the sharps spelled out as the note reader expects ("csharp2"); a
# link would point outside the instrument's folder, which the reader refuses.
cello=$dir/PlayItRight/sounds/cello
if [ -f "$cello/_readme_and_license.txt" ]; then
    rm -rf "$dir/mtg-cello"
    mkdir -p "$dir/mtg-cello"
    python3 - "$cello" "$dir/mtg-cello" <<'LINKS'
import os, re, shutil, sys
folder, dest = sys.argv[1:]
with open(os.path.join(folder, "_readme_and_license.txt")) as readme:
    pack = {number: letter + ("sharp" if sharp else "") + octave
            for number, letter, sharp, octave in re.findall(r"\* (\d+)__mtg__cello-([a-g])(-?)(\d)\.wav", readme.read())}
for name in sorted(os.listdir(folder)):
    number = name.split("__")[0]
    if name.endswith(".wav") and number in pack:
        shutil.copyfile(os.path.join(folder, name), os.path.join(dest, f"{number}__mtg__cello-{pack[number]}.wav"))
LINKS
    echo "mtg-cello: $(ls "$dir/mtg-cello" | wc -l) notes in place"
fi
# Two Freesound packs name a sharp with a hyphen before the octave ("a-0" is A#0), which the
# note reader would take for a negative octave: their notes are copied to DIR/<family> as
# "<family>-asharp0.ogg" ("-pmute" kept for the guitar's palm-muted chords). The piano's
# top three notes were made by speeding up lower ones and are left out.
copy_freesound_notes() {
    local folder=$1 family=$2 skip=$3
    [ -f "$folder/_readme_and_license.txt" ] || { echo "$family: $folder is missing" >&2; return; }
    rm -rf "${dir:?}/$family"
    mkdir -p "$dir/$family"
    python3 - "$folder" "$dir/$family" "$family" "$skip" <<'NOTES'
import os, re, shutil, sys
folder, dest, family, skip = sys.argv[1:]
for name in sorted(os.listdir(folder)):
    match = re.fullmatch(r"(?:.*__)?([a-g])(-?)(\d)(-pmute)?\.(ogg|wav)", name)
    if not match or f"{match[1]}{match[2]}{match[3]}" in skip.split():
        continue
    note = match[1] + ("sharp" if match[2] else "") + match[3]
    shutil.copyfile(os.path.join(folder, name), os.path.join(dest, f"{family}{match[4] or ''}-{note}.{match[5]}"))
NOTES
    echo "$family: $(ls "$dir/$family" | wc -l) notes in place"
}
copy_freesound_notes "$dir/dshop-light-up-piano/Hardware/logic-board/piano" tedagame-piano "a-7 b7 c8"
copy_freesound_notes "$dir/2PacAndBiggie/color2sound/electric-guitar-power-chords" axgrinder-guitar ""
echo "sources ready in $dir"
