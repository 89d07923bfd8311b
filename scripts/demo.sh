#!/usr/bin/env bash
# Renders a few seconds of example audio per class with sox, in the folder-per-class
# layout, and turns it into a feature file with `timbre prepare`.
set -euo pipefail
timbre=${1:-.build/release/timbre}
root=demo/audio
mkdir -p "$root/piano" "$root/Acoustic Guitar" "$root/flute" "$root/organ"
note() {
  local bits=(-b 16)
  [[ $1 == *.ogg ]] && bits=()
  sox -q -n -r 44100 -c 2 "${bits[@]}" "$1" synth "${@:2}" fade 0.01 0 0.05 gain -6
}
for n in 0 1 2; do
  f=$((220 + 40 * n))
  note "$root/piano/take $n.wav" 7 pluck $f pluck $((f * 5 / 4)) pluck $((f * 3 / 2)) tremolo 1.5 100
  note "$root/Acoustic Guitar/take $n.flac" 7 pluck $((f / 2)) pluck $((f * 3 / 4))
  note "$root/flute/take $n.ogg" 7 sine $((f * 2)) sine $((f * 4))
  note "$root/organ/take $n.wav" 7 square $f square $((f * 2))
done
echo "rendered $(find "$root" -type f | wc -l) files into $root"
"$timbre" prepare "$root" -o demo/features.h5
