#!/usr/bin/env python3
"""Gather the fuzzers' seed corpus: every distinct .wasm file of the spec test suites, by content hash.

    python tests/fuzz/gather_corpus.py OUT_DIR [SPECTEST_DIR ...]

SPECTEST_DIR defaults to ../shared/spectest beside the repository. The corpus is generated at run
time (tools/fuzz.sh) rather than committed: it is thousands of files, all derived from the suites.
The modules marked malformed or invalid are kept too: they are good seeds for the decoder.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPECTEST = ROOT.parent / "shared" / "spectest"
MAX_SEED_BYTES = 1 << 20  # libFuzzer handles big inputs poorly; the suites' modules are small


def gather(out: Path, sources: list[Path]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    have = {p.name for p in out.iterdir()}
    added = 0
    for src in sources:
        for path in sorted(src.rglob("*.wasm")):
            data = path.read_bytes()
            if len(data) > MAX_SEED_BYTES:
                continue
            name = hashlib.sha1(data).hexdigest()
            if name not in have:
                (out / name).write_bytes(data)
                have.add(name)
                added += 1
    return added


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    out = Path(argv[0])
    sources = [Path(a) for a in argv[1:]] or [DEFAULT_SPECTEST]
    missing = [str(s) for s in sources if not s.is_dir()]
    if missing:
        print(f"gather_corpus: no such directory: {', '.join(missing)}", file=sys.stderr)
        return 1
    added = gather(out, sources)
    total = sum(1 for _ in out.iterdir())
    print(f"gather_corpus: {added} new seeds, {total} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
