"""`wasmroutines.wasmer`: the wasmer-python API (see wasmroutines.bindings.wasmer, where it lives).

This module replaces itself with that package in `sys.modules`, submodules
included, so that `from wasmroutines import wasmer`, `import
wasmroutines.wasmer as wasmer` and `from wasmroutines.wasmer.engine import
Universal` all give the same objects. Type checkers read the re-exports below.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .bindings import wasmer as _package

if TYPE_CHECKING:
    from .bindings.wasmer import *  # noqa: F403
    from .bindings.wasmer import __core_version__, __version__, engine, errors, target, threads, wasi  # noqa: F401

for _name in ("engine", "target", "wasi", "errors", "threads"):
    sys.modules[f"{__name__}.{_name}"] = getattr(_package, _name)
sys.modules[__name__] = _package
