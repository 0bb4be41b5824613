"""ARCHITECTURE.md stays true: every repository path it names in backquotes exists.

A token counts as a path when it contains a '/' (a path from the repository root; a glob must match
something) or is a bare file name with a known extension (it must exist somewhere in the tree).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTE = ROOT / "ARCHITECTURE.md"
EXTENSIONS = {".c", ".h", ".inc", ".def", ".cdef", ".py", ".md", ".txt", ".toml", ".json", ".sh"}
SKIP_DIRS = {".git", "build", "__pycache__", ".venv", "venv"}
PATH_RE = re.compile(r"^[\w.*-]+(?:/[\w.*-]+)*/?$")


def named_paths(text: str) -> list[str]:
    paths = []
    for token in re.findall(r"`([^`\n]+)`", text):
        if not PATH_RE.match(token) or token.startswith(("-", "../")):
            continue
        name = Path(token.rstrip("/"))
        if "/" in token or (name.suffix in EXTENSIONS and name.stem):
            paths.append(token)
    return sorted(set(paths))


def exists(token: str) -> bool:
    pattern = token.rstrip("/")
    if "/" in token:
        return any(ROOT.glob(pattern))
    return any(not SKIP_DIRS.intersection(p.relative_to(ROOT).parts) for p in ROOT.rglob(pattern))


def test_note_names_paths() -> None:
    assert len(named_paths(NOTE.read_text())) > 10


@pytest.mark.parametrize("token", named_paths(NOTE.read_text()))
def test_named_path_exists(token: str) -> None:
    assert exists(token), f"ARCHITECTURE.md names `{token}`, which does not exist"


def test_named_paths_filter() -> None:
    text = "`wr_exec()` `local.get` `.def` `-DX` `../shared` `a/b.c` `x.h` `insns/*.def` `.ci/run`"
    assert named_paths(text) == [".ci/run", "a/b.c", "insns/*.def", "x.h"]
