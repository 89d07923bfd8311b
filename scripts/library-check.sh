#!/usr/bin/env bash
# Builds Tests/LibraryConsumer, a package that depends on Timbre's library products by
# version, as another package would, and runs it: it prepares a feature file and tags a
# recording with the bundled model through the library. SwiftPM refuses a versioned
# dependency with unsafe build flags, so this fails if any library target gains one.
# The dependency is a git copy of this checkout's files (committed or not), tagged 0.1.0.
set -euo pipefail
unset TIMBRE_MPI  # a user's package builds Timbre without MPI
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/timbre-library-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/timbre"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
    if [ -e "$file" ]; then cp --parents -P "$file" "$work/timbre/"; fi
done
git -C "$work/timbre" init -q
git -C "$work/timbre" add -A
git -C "$work/timbre" -c user.name=timbre -c user.email=timbre@localhost commit -q -m "library check"
git -C "$work/timbre" tag 0.1.0

cp -R Tests/LibraryConsumer "$work/consumer"
cd "$work/consumer"
TIMBRE_PACKAGE_URL="file://$work/timbre" swift build --product timbre-library-check
./.build/debug/timbre-library-check
