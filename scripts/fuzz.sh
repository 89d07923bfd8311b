#!/usr/bin/env bash
# Fuzzes the parsers of untrusted files with libFuzzer and AddressSanitizer: audio
# decoding, IRMAS label files and names, MedleyDB metadata YAML, and feature and model
# files (HDF5 files crafted to lie about their contents; see CraftedHDF5File). Each harness starts from
# seeds written the way the tests write their files, runs on two processes until
# FUZZ_RUNS executions in all (or FUZZ_SECONDS), and must end with no crash, no hang and no
# allocation over 2 GB. Prints executions per second and coverage per harness; exits 1 if
# anything was found (the inputs are kept in FUZZ_WORK/HARNESS/ for a regression test).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${FUZZ_RUNS:-1000000}
SECONDS_EACH=${FUZZ_SECONDS:-10800}
WORK=${FUZZ_WORK:-.fuzz}
HARNESSES=${FUZZ_HARNESSES:-audio irmas-labels medleydb-yaml feature-file model-file}
mkdir -p "$WORK"

# The replayer (plain build) writes the seeds; the fuzzer build is instrumented. SwiftPM
# links through gold, which fails on libFuzzer's objects, so the toolchain's lld links it.
swift build -c release --product timbre-fuzz >/dev/null
lld="$(dirname "$(readlink -f "$(command -v swift)")")/ld.lld"
printf '{"schemaVersion": "1.0", "linker": {"path": "%s"}}\n' "$lld" > "$WORK/toolset.json"
swift build -c release --product timbre-fuzz --build-path .build/fuzz --toolset "$WORK/toolset.json" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -parse-as-library \
    -Xcc -fsanitize=fuzzer-no-link,address >/dev/null
fuzzer=.build/fuzz/release/timbre-fuzz
replayer=.build/release/timbre-fuzz

printf '%-14s %12s %8s %10s %8s %8s  %s\n' harness executions seconds 'execs/s' coverage features found
status=0
for harness in $HARNESSES; do
    dir="$WORK/$harness"
    mkdir -p "$dir/corpus"
    "$replayer" seeds "$harness" "$dir/corpus"
    max_len=4096; case $harness in audio|model-file) max_len=16384;; esac
    start=$(date +%s.%N)
    # A 64-MB quarantine (not 256): crafted files may make one read take up to 64 MB per
    # clip, allowed by design, and freed blocks held in quarantine doubled the peak.
    for worker in 1 2; do
        SWIFT_BACKTRACE=enable=no TIMBRE_FUZZ="$harness" ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:quarantine_size_mb=64 \
            "$fuzzer" -runs=$((RUNS / 2)) -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
            -timeout=10 -max_len=$max_len -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$dir/" \
            "$dir/corpus" > "$dir/worker-$worker.log" 2>&1 &
    done
    wait || true
    elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    runs=$(cat "$dir"/worker-*.log | sed -n 's/^stat::number_of_executed_units: *//p' | awk '{ n += $1 } END { print n + 0 }')
    coverage=$(grep -h -o 'cov: [0-9]*' "$dir"/worker-*.log | awk '{print $2}' | sort -n | tail -1)
    features=$(grep -h -o 'ft: [0-9]*' "$dir"/worker-*.log | awk '{print $2}' | sort -n | tail -1)
    found=$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
    printf '%-14s %12s %8.0f %10.0f %8s %8s  %s\n' "$harness" "${runs:-0}" "$elapsed" "$(awk -v n="$runs" -v t="$elapsed" 'BEGIN { print n / t }')" \
        "${coverage:-?}" "${features:-?}" "$found"
    if [ "$found" -gt 0 ]; then status=1; find "$dir" -maxdepth 1 -name '*-*' -type f | sed 's/^/  found: /'; fi
done
exit $status
