#!/usr/bin/env bash
# Checks `make install` as a user would meet it: installs into a fresh prefix, then, from
# another folder, the installed binary renders a take and tags it with the bundled model,
# and `man -l` shows its manual page.
set -euo pipefail
prefix=$(mktemp -d)
elsewhere=$(mktemp -d)
trap 'rm -rf "$prefix" "$elsewhere"' EXIT
make --no-print-directory install PREFIX="$prefix" > /dev/null
cd "$elsewhere"
"$prefix/bin/timbre" synth -o corpus --split held-out --seed 7 --classes pia --takes-per-class 1 --excerpts 1 --songs 0 > /dev/null
file=$(find corpus -name '*.wav' | head -1)
"$prefix/bin/timbre" tag "$file" --format jsonl > tags.jsonl
grep -q "\"tags\"" tags.jsonl || { echo "install check: the installed timbre wrote no tags for $file" >&2; exit 1; }
MANWIDTH=80 man -l "$prefix/share/man/man1/timbre.1" | grep -q "Say which instruments play in audio files" \
    || { echo "install check: man -l does not show the timbre page" >&2; exit 1; }
echo "install check: the installed binary tagged $file from $elsewhere, and man -l shows its page"
