"""The documented command outputs are what the commands print, so they cannot drift.

A ```console block of README.md or docs/*.md preceded by the line `<!-- doctest: cwd=DIR -->` is
run: each `$ command` line (through bash) in a scratch copy of DIR's files (DIR relative to the
repository root; `.`: a scratch folder where `tests/` is the repository's), its stdout and stderr
together compared with the lines that follow it. In the
expected text a line `...` matches any number of lines, and the figures that depend on the
machine (seconds, schedules per second) match any value. `$ echo $?` prints the previous
command's exit status. Refresh a block after a change with `python tests/test_docs.py`, which
prints every marked block's actual output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_MARK = re.compile(r"^<!-- doctest: cwd=(\S+) -->\n```console\n(.*?)^```", re.M | re.S)
#: Machine-dependent figures: replaced by the same placeholder in expected and actual text.
_VARYING = [(re.compile(r"in \d+(\.\d+)? s \([\d.,]+/s\)"), "in <seconds> s (<rate>/s)")]


@dataclass
class Step:
    command: str
    expected: list[str]


@dataclass
class Block:
    doc: Path
    line: int
    cwd: str
    steps: list[Step]

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for m in _MARK.finditer(text):
            steps: list[Step] = []
            for line in m.group(2).splitlines():
                if line.startswith("$ "):
                    steps.append(Step(line[2:], []))
                elif steps:
                    steps[-1].expected.append(line)
            found.append(Block(doc, text.count("\n", 0, m.start()) + 1, m.group(1), steps))
    return found


def _normal(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        for pattern, placeholder in _VARYING:
            line = pattern.sub(placeholder, line)
        out.append(line.rstrip())
    return out


def _matches(expected: list[str], actual: list[str]) -> bool:
    """`expected` (with `...` lines matching any run of lines) against `actual`."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(_matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and _matches(expected[1:], actual[1:])


def run_block(block: Block, scratch: Path) -> list[tuple[Step, list[str]]]:
    """Run the block's commands in a scratch copy of its folder: each step with its output lines."""
    if block.cwd == ".":  # the repository root: its test programs, by their paths from it
        (scratch / "tests").symlink_to(ROOT / "tests")
    else:
        for item in (ROOT / block.cwd).iterdir():
            if item.is_file():
                shutil.copy(item, scratch / item.name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "200"}
    results = []
    status = 0
    for step in block.steps:
        if step.command == "echo $?":
            results.append((step, [str(status)]))
            continue
        p = subprocess.run(
            ["bash", "-c", step.command],
            cwd=scratch,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
        status = p.returncode
        results.append((step, p.stdout.decode("utf-8", "replace").splitlines()))
    return results


BLOCKS = blocks()


def test_the_docs_have_tested_blocks() -> None:
    assert len(BLOCKS) >= 3  # a marker that no longer matches would silently test nothing


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_documented_output_is_what_the_command_prints(block: Block, tmp_path: Path) -> None:
    for step, actual in run_block(block, tmp_path):
        expected = _normal(step.expected)
        got = _normal(actual)
        assert _matches(expected, got), f"{block.id}: `$ {step.command}` printed:\n" + "\n".join(actual)


if __name__ == "__main__":  # print every marked block's actual output, to refresh the docs
    import tempfile

    for block in BLOCKS:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"== {block.id} (cwd={block.cwd})")
            for step, actual in run_block(block, Path(tmp)):
                print(f"$ {step.command}")
                print("\n".join(actual))
