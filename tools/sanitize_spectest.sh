#!/usr/bin/env bash
# tools/sanitize_spectest.sh: run the spec test suite against the cffi extension built with
# AddressSanitizer + UndefinedBehaviorSanitizer, in a venv of its own. One command:
#
#     bash tools/sanitize_spectest.sh [SPECTEST_DIR...]    (default: ../shared/spectest/core)
#
# Exits non-zero on any sanitizer report (exit code 86) or when the runner itself fails.
# Environment: WR_SAN_VENV=DIR reuses (or creates) that venv instead of a temporary one;
# WR_SAN_KEEP=1 keeps the temporary folder; WR_SAN_PYTEST="ARGS" also runs `pytest ARGS` (paths in
# the repository) against the same build, such as the thread tests, which drive the core's switching.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITES=()
for suite in "${@:-$ROOT/../shared/spectest/core}"; do
    SUITES+=("$(cd "$suite" && pwd)") # absolute: the runner runs from the work folder
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wr-sanitize.XXXXXX")
if [[ "${WR_SAN_KEEP:-0}" != 1 ]]; then
    trap 'rm -rf "$WORK"' EXIT
fi
VENV=${WR_SAN_VENV:-"$WORK/venv"}

# Sanitizers need gcc's runtimes: build and preload with the same compiler.
export CC=gcc
SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
LIBASAN=$(gcc -print-file-name=libasan.so)
if [[ ! -e "$LIBASAN" ]]; then
    echo "sanitize_spectest: libasan not found (gcc -print-file-name=libasan.so gave $LIBASAN)" >&2
    exit 2
fi

# Build from a clean copy: setuptools reuses object files in the source tree's build/ folder, which
# would mix sanitized and plain objects in both directions.
mkdir -p "$WORK/src"
tar -C "$ROOT" --exclude=./build --exclude=./.git --exclude='*.so' --exclude='*.egg-info' \
    --exclude=__pycache__ -cf - . | tar -C "$WORK/src" -xf -

[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
# -UNDEBUG: keep the core's asserts on.
CFLAGS="$SAN_FLAGS -UNDEBUG -g" LDFLAGS="$SAN_FLAGS" \
    "$VENV/bin/python" -m pip install --quiet --no-cache-dir --force-reinstall "$WORK/src[test]"

# Run from the work folder so the source tree's `wasmroutines` (no compiled core) cannot shadow
# the installed one. detect_leaks=0: CPython does not free everything at exit.
# PYTHONMALLOC=malloc: cffi buffers handed to C come from malloc, so ASan sees their bounds.
cd "$WORK"
status=0
env PATH="$VENV/bin:$PATH" \
    LD_PRELOAD="$LIBASAN" \
    PYTHONMALLOC=malloc \
    ASAN_OPTIONS="detect_leaks=0:exitcode=86:abort_on_error=0" \
    UBSAN_OPTIONS="print_stacktrace=1:exitcode=86" \
    "$VENV/bin/python" -m wasmroutines.spectest "${SUITES[@]}" || status=$?
if [[ $status == 86 ]]; then
    echo "sanitize_spectest: sanitizer error (see the report above)" >&2
elif [[ $status != 0 ]]; then
    echo "sanitize_spectest: the spec runner exited with status $status" >&2
fi
if [[ $status == 0 && -n "${WR_SAN_PYTEST:-}" ]]; then
    # greenlet throws C++ exceptions across switches: its runtime must be preloaded with ASan's, or
    # ASan's interceptor finds no __cxa_throw to forward to. pytest captures the reports: ASan
    # writes them to files, printed here.
    LIBSTDCXX=$(gcc -print-file-name=libstdc++.so)
    cd "$WORK/src"
    read -r -a pytest_args <<<"$WR_SAN_PYTEST"
    env PATH="$VENV/bin:$PATH" \
        LD_PRELOAD="$LIBASAN $LIBSTDCXX" \
        PYTHONMALLOC=malloc \
        ASAN_OPTIONS="detect_leaks=0:exitcode=86:abort_on_error=0:log_path=$WORK/asan" \
        UBSAN_OPTIONS="print_stacktrace=1:exitcode=86:log_path=$WORK/asan" \
        "$VENV/bin/python" -m pytest -q -p no:cacheprovider "${pytest_args[@]}" || status=$?
    if compgen -G "$WORK/asan*" >/dev/null; then
        cat "$WORK"/asan* >&2
        status=86
    fi
    if [[ $status != 0 ]]; then
        echo "sanitize_spectest: pytest $WR_SAN_PYTEST under the sanitizers exited with status $status" >&2
    fi
fi
exit "$status"
