#!/usr/bin/env bash
# tools/fuzz.sh TARGET SECONDS [libFuzzer options...]: build the `fuzz` preset (clang, libFuzzer,
# ASan+UBSan) and fuzz one target for SECONDS seconds. TARGET is decode, translate or run (or
# fuzz_decode, ...), or `all` to run each in turn for SECONDS.
#
# Seeds: every distinct .wasm of ../shared/spectest (or $WR_SPECTEST), gathered into
# build/fuzz/seeds on first use. New inputs go to build/fuzz/corpus/TARGET, kept between runs;
# findings (crash-*, leak-*, timeout-*, oom-*) to build/fuzz/findings/TARGET/. Exit status 0 means
# no findings. WR_FUZZ_JOBS=N runs N fuzzing processes (libFuzzer -fork=N).
#
# Reproduce a finding: build/fuzz/tests/fuzz/fuzz_TARGET FILE
set -euo pipefail

if (($# < 2)); then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
target=${1#fuzz_}
seconds=$2
shift 2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SPECTEST=${WR_SPECTEST:-$(cd "$ROOT/.." && pwd)/shared/spectest}
BUILD=$ROOT/build/fuzz

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
    cmake --preset fuzz >/dev/null
fi
cmake --build --preset fuzz -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

python3 tests/fuzz/gather_corpus.py "$BUILD/seeds" "$SPECTEST"

fuzz_one() { # NAME
    local name=$1 bin=$BUILD/tests/fuzz/fuzz_$1
    shift
    [[ -x $bin ]] || { echo "fuzz.sh: no target fuzz_$name (decode, translate, run)" >&2; exit 2; }
    mkdir -p "$BUILD/corpus/$name" "$BUILD/findings/$name"
    local fork=()
    [[ -n ${WR_FUZZ_JOBS:-} ]] && fork=(-fork="$WR_FUZZ_JOBS" -ignore_crashes=0)
    echo "==== fuzz_$name for ${seconds}s ===="
    # -timeout: one input running 10 s is a finding (a hang the fuel or limits should prevent).
    # -rss_limit_mb: ASan's shadow plus a few capped memories fit well below it.
    # -max_len: spec modules reach ~100 KiB; longer inputs only slow the search.
    "$bin" "$BUILD/corpus/$name" "$BUILD/seeds" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=131072 \
        -dict="$ROOT/tests/fuzz/wasm.dict" \
        -artifact_prefix="$BUILD/findings/$name/" -print_final_stats=1 "${fork[@]}" "$@"
}

if [[ $target == all ]]; then
    for name in decode translate run; do
        fuzz_one "$name" "$@"
    done
else
    fuzz_one "$target" "$@"
fi
