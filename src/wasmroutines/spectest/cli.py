"""Command line: `python -m wasmroutines.spectest [options] PATH...`.

PATH is a JSON script, a test's folder, or a group folder (core/): every
*.json below it runs. One summary line per script, then the totals as
`N passed, M failed, K skipped`; the exit code is 1 when anything failed or nothing ran.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from .isolate import run_many_isolated
from .outcome import FAILED, SKIPPED, FileResult, Outcome
from .script import run_script

__all__ = ["discover", "folder_table", "main"]


def discover(paths: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(p.rglob("*.json")))
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such test path: {p}")
    return found


def folder_table(paths: Sequence[str], results: Sequence[FileResult]) -> str:
    """A Markdown table of the totals per group folder (a folder of test folders, such as wasm-3.0/memory64/) of
    each PATH; a PATH's own test folders count as its "top level"."""
    totals: dict[str, list[int]] = {}
    roots = [Path(p).resolve() for p in paths]
    for r in results:
        path = Path(r.path).resolve()
        row = str(path)
        for root in roots:
            if path.is_relative_to(root):
                parts = path.relative_to(root).parts
                # root/test/test.json is the root's own; root/group/test/test.json is the group's.
                row = f"{root.name}/{parts[0]}" if len(parts) >= 3 else f"{root.name} (top level)"
                break
        t = totals.setdefault(row, [0, 0, 0, 0])
        t[0] += r.passed + r.failed + r.skipped
        t[1] += r.passed
        t[2] += r.failed
        t[3] += r.skipped
    lines = ["| folder | commands | passed | failed | skipped |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {t[0]:,} | {t[1]:,} | {t[2]:,} | {t[3]:,} |" for name, t in sorted(totals.items())]
    return "\n".join(lines)


def _emit(o: Outcome) -> None:
    print(json.dumps(o.as_dict()), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wasmroutines.spectest", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a .json script, a test folder or a group folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every failure and skip with its reason")
    parser.add_argument("--only", type=int, metavar="LINE", help="run the script up to the command at LINE; report it")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="S", help="seconds per command (default 60)")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT ('-' for stdout)")
    parser.add_argument(
        "--seed", type=int, metavar="N", help="schedule threads with SeededPolicy(N): one reproducible interleaving"
    )
    parser.add_argument("--isolate", action="store_true", help="run each script in a child process (survives crashes)")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="N scripts at once (implies --isolate)")
    parser.add_argument(
        "--by-folder",
        action="store_true",
        help="end with a table of the totals per group folder of each PATH (its own tests: 'top level')",
    )
    parser.add_argument("--emit-outcomes", action="store_true", help=argparse.SUPPRESS)  # the child side of --isolate
    args = parser.parse_args(argv)

    try:
        files = discover(args.paths)
    except FileNotFoundError as e:
        parser.error(str(e))
    if args.only is not None and len(files) != 1:
        parser.error("--only needs exactly one script")

    if args.emit_outcomes:
        for path in files:
            result = run_script(path, timeout=args.timeout, on_outcome=_emit, seed=args.seed)
            for note in result.notes:
                print(json.dumps({"note": note}), flush=True)
        # The end marker, then status 0, whatever failed (the outcomes say): the parent takes
        # anything else (an exception's status 1, a signal) for a child that died.
        print(json.dumps({"end": True}), flush=True)
        return 0

    results: list[FileResult] = []
    out = sys.stderr if args.json == "-" else sys.stdout
    if args.isolate or args.jobs > 1:
        stream: Iterator[FileResult] = run_many_isolated(files, jobs=args.jobs, timeout=args.timeout, seed=args.seed)
    else:
        stream = (run_script(p, timeout=args.timeout, only_line=args.only, seed=args.seed) for p in files)
    for result in stream:
        results.append(result)
        print(result.summary(), file=out, flush=True)
        if args.verbose or args.only is not None:
            for o in result.outcomes:
                if o.status == FAILED or (o.status == SKIPPED and args.verbose) or args.only is not None:
                    print(f"  line {o.line} {o.command}: {o.status}{': ' + o.reason if o.reason else ''}", file=out)
            if args.verbose:
                for note in result.notes:
                    print(f"  note: {note}", file=out)

    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    if args.json:
        files_doc = [r.as_dict() for r in results]
        doc = json.dumps({"passed": passed, "failed": failed, "skipped": skipped, "files": files_doc})
        if args.json == "-":
            print(doc)
        else:
            Path(args.json).write_text(doc)
    print(f"{passed} passed, {failed} failed, {skipped} skipped", file=out)
    if args.by_folder:
        print(folder_table(args.paths, results), file=out)
    if passed + failed + skipped == 0:
        # A run that found no command is a broken setup (a wrong folder, no JSON), not a pass.
        print("spectest: no command ran", file=sys.stderr)
        return 1
    return 1 if failed else 0
