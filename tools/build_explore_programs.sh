#!/usr/bin/env bash
# Builds the schedule explorer's test programs (tests/programs/explore/*.zig) into .wasm beside them.
#
# Zig 0.13 from PyPI (pip install ziglang==0.13.0), as DESIGN.md "Toolchains" says: wasi-threads
# programs need -fno-single-threaded, atomics and a shared imported memory; Debug builds, because
# 0.13's Futex is deleted by the optimizer in release modes. The built .wasm files are committed,
# so the tests need no toolchain; rerun this after changing a source.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$here/tests/programs/explore"
python="${PYTHON:-python3}"
zig=("$python" -m ziglang)
if ! "${zig[@]}" version 2>/dev/null | grep -qx '0.13.0'; then
    echo "need Zig 0.13.0: pip install ziglang==0.13.0 (found: $("${zig[@]}" version 2>&1 || true))" >&2
    exit 1
fi

cd "$dir"
for src in spawn_join lock_order lost_update producer_consumer; do
    extra=()
    # All but spawn_join (which is about std.Thread's own bug) use wt.zig and its assembly entry point.
    [ "$src" != spawn_join ] && extra=(wt_start.s)
    "${zig[@]}" build-exe "$src.zig" "${extra[@]}" -target wasm32-wasi -O Debug -fno-single-threaded \
        -mcpu=generic+atomics+bulk_memory --import-memory --export-memory --shared-memory \
        --max-memory=16777216 --stack 262144 --export=wasi_thread_start -femit-bin="$src.wasm"
    rm -f "$src.wasm.o" wt_start.o
    echo "built $dir/$src.wasm"
done
