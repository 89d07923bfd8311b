#!/usr/bin/env bash
# Installs a release build of timbre under PREFIX: the binary in PREFIX/bin, the bundled
# models and label tables in PREFIX/share/timbre (where the binary looks for them), the
# man page in PREFIX/share/man/man1 and bash, zsh and fish completions. DESTDIR stages
# the files elsewhere, as packagers expect.
#
#   bash scripts/install.sh BUILD_FOLDER PREFIX
set -euo pipefail
build=${1:?the release build folder, e.g. .build/release}
prefix=${2:?the installation prefix, e.g. /usr/local}
root=${DESTDIR:-}$prefix
swift=${SWIFT:-swift}

install -d "$root/bin" "$root/share/timbre" "$root/share/man/man1" \
    "$root/share/bash-completion/completions" "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"
install -m 755 "$build/timbre" "$root/bin/timbre"
[ ! -f "$build/timbre-commit" ] || install -m 644 "$build/timbre-commit" "$root/share/timbre/timbre-commit"
for resources in Timbre_TimbreModel.resources Timbre_TimbreLabels.resources; do
    rm -rf "$root/share/timbre/$resources"
    cp -R "$build/$resources" "$root/share/timbre/$resources"
    chmod -R u=rwX,go=rX "$root/share/timbre/$resources"
done

# The manual comes from the command-line definitions themselves (swift-argument-parser's
# generate-manual plugin), so it never drifts from --help.
manual=$(mktemp -d)
trap 'rm -rf "$manual"' EXIT
"$swift" package --disable-sandbox --allow-writing-to-directory "$manual" \
    generate-manual --output-directory "$manual" > /dev/null 2>&1 \
    || { echo "install: swift package generate-manual failed" >&2; exit 1; }
# Blank lines in the help's discussions become paragraph breaks (mdoc warns on empty lines).
sed 's/^$/.Pp/' "$manual/timbre.1" > "$manual/timbre.mdoc"
install -m 644 "$manual/timbre.mdoc" "$root/share/man/man1/timbre.1"

"$build/timbre" --generate-completion-script bash > "$root/share/bash-completion/completions/timbre"
"$build/timbre" --generate-completion-script zsh > "$root/share/zsh/site-functions/_timbre"
"$build/timbre" --generate-completion-script fish > "$root/share/fish/vendor_completions.d/timbre.fish"
echo "installed timbre in $root/bin, its models in $root/share/timbre and its manual in $root/share/man/man1"
