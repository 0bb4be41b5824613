#!/usr/bin/env bash
# benchmarks/simd/build.sh: build kernel.c twice, kernel_scalar.wasm and kernel_simd.wasm (-msimd128), with zig cc
# (pip install ziglang==0.13.0). The built .wasm files are committed, so the benchmark needs no compiler.
#     bash benchmarks/simd/build.sh [PYTHON]     (default: python3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PY=${1:-python3}
# -fno-vectorize/-fno-slp-vectorize would not matter for the scalar build: without -msimd128 there are no vectors.
COMMON=(--target=wasm32-freestanding -O2 -nostdlib -Wl,--no-entry -Wl,--export=fill -Wl,--export=dot
        -Wl,--export=checksum -Wl,--export-memory -Wall -Wextra -Werror)
"$PY" -m ziglang cc "${COMMON[@]}" -o kernel_scalar.wasm kernel.c
"$PY" -m ziglang cc "${COMMON[@]}" -msimd128 -o kernel_simd.wasm kernel.c
ls -l kernel_scalar.wasm kernel_simd.wasm
