# The steps the model recipes share, each of which does nothing when its output is already
# there and was made from the same inputs with the same arguments, so that a recipe run
# again resumes instead of starting over. Sourced by scripts/make-*.sh, which set $timbre.

# What a set of files holds, as one line: each file's path, size and modification time,
# sorted, hashed.
listing_of() { (cd "$1" && find -L . -type f -printf '%P %s %T@\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1); }

# Prepares folder $1 into feature file $2 (more prepare options after them) unless $2 was
# prepared from the same files with the same options, as recorded beside it: a source that
# gains or loses files since (new recordings, a re-rendered corpus), or a change of options,
# prepares it again.
prepare_once() {
    local folder=$1 out=$2 listing
    shift 2
    listing=$(listing_of "$folder")
    [ $# -eq 0 ] || listing+=" $*"
    [ -f "$out" ] && [ "$(cat "$out.sources" 2>/dev/null)" = "$listing" ] && return
    rm -f "$out" "$out.sources"
    # Status 2: some files could not be read and are left out; the rest stands.
    "$timbre" prepare "$folder" "$@" -o "$out" | tail -1 || [ $? -eq 2 ]
    echo "$listing" > "$out.sources"
}

# Renders corpus $1 with `timbre synth` and the rest of the arguments, first removing what
# an earlier recipe rendered there with other arguments (as recorded beside it; a corpus
# without a record is kept) or with other settings than these arguments give today (a
# family's sound sources changed in labels/sound-sources.csv, say). A take that fails is
# reported and left out (status 2); the rest of the corpus stands.
render_once() {
    local corpus=$1 settings
    shift
    [ -f "$corpus.args" ] && [ "$(cat "$corpus.args")" != "$*" ] && rm -rf "$corpus"
    if [ -f "$corpus/synth-settings.txt" ]; then
        # An assignment of its own, so that a synth that fails stops the recipe (set -e)
        # instead of comparing as different and removing the corpus.
        settings=$("$timbre" synth "$@" -o "$corpus" --print-settings)
        [ "$settings" = "$(cat "$corpus/synth-settings.txt")" ] || rm -rf "$corpus"
    fi
    echo "$*" > "$corpus.args"
    "$timbre" synth "$@" -o "$corpus" > /dev/null || [ $? -eq 2 ]
}

# Renders song set $1 (the `timbre synth` arguments after --) and prepares its songs into
# feature file $2 (the prepare options before --), then removes the rendered audio: the
# songs take gigabytes and render again in minutes, so only the feature file stays, with
# the record of what made it ($2.songs: the synth arguments, the settings synth records
# for them and the prepare options). Run again with the same record, it does nothing.
# KEEP_SONGS=1 keeps the audio (a later run without it removes it). A feature file prepared
# by an earlier recipe, which kept its songs, is kept when prepare_once finds it up to date.
songs_once() {
    local corpus=$1 out=$2 prepare=() made
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do prepare+=("$1"); shift; done
    [ $# -gt 0 ] || { echo "songs_once: no -- before the synth arguments" >&2; return 1; }
    shift
    # An assignment of its own, so that a synth that fails stops the recipe (set -e).
    made=$(printf 'synth %s\nprepare %s\n' "$*" "${prepare[*]}"; "$timbre" synth "$@" -o "$corpus" --print-settings)
    if [ ! -f "$out" ] || [ "$(cat "$out.songs" 2>/dev/null)" != "$made" ]; then
        rm -f "$out.songs"
        render_once "$corpus" "$@"
        prepare_once "$corpus/MedleyDB" "$out" "${prepare[@]}"
        echo "$made" > "$out.songs"
    fi
    [ "${KEEP_SONGS:-0}" = 1 ] || rm -rf "$corpus" "$corpus.args"
}

# The fold groups (arguments: every group, its families separated by spaces) that FOLDS
# names, in FOLDS's order, one a line; every group when FOLDS is unset or empty. FOLDS
# names folds as the cross-source table does, families joined by "+", separated by spaces
# ("solfege+festival recordings"). A name that is no fold stops the recipe, listing the folds.
# NO_FOLDS=1 chooses none (nothing is printed), and then FOLDS must not name any.
chosen_folds() {
    local name group found
    if [ "${NO_FOLDS:-0}" = 1 ]; then
        [ -z "${FOLDS:-}" ] || { echo "NO_FOLDS=1 runs no fold, so FOLDS cannot name any" >&2; return 1; }
        return 0
    fi
    if [ -z "${FOLDS:-}" ]; then printf '%s\n' "$@"; return; fi
    for name in $FOLDS; do
        found=
        for group in "$@"; do [ "${group// /+}" = "$name" ] && found=$group; done
        if [ -z "$found" ]; then
            echo "FOLDS: there is no fold $name; the folds are: $(for group in "$@"; do echo "${group// /+}"; done | paste -sd' ')" >&2
            return 1
        fi
        echo "$found"
    done
}
