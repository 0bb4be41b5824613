"""Parameters for tests run once per file of a folder under ../shared, that cannot silently vanish.

An empty parameter list makes pytest collect no test at all (or one quiet skip), so a missing folder
would drop the whole set without anyone noticing. Here a folder with no matching file gives one
placeholder test marked needs_shared (conftest.py): it fails in CI and is skipped and counted locally.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import needs_shared


def shared_files(
    folder: Path, pattern: str = "*.wasm", ids: Callable[[Path], str] = lambda p: p.stem, missing_id: str = ""
) -> list[Any]:
    """pytest.param of each file of `folder` matching `pattern`, sorted; or the placeholder (id `missing_id`)."""
    found = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if found:
        return [pytest.param(p, id=ids(p)) for p in found]
    # folder/pattern never exists as a path: needs_shared reports it missing, naming what was looked for.
    wanted = folder / pattern
    return [pytest.param(wanted, id=missing_id or f"{folder.name}-missing", marks=needs_shared(wanted))]
