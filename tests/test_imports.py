"""The package's modules import each other without cycles: each layer of `src/wasmroutines/core/` (and the
rest of the package) builds on the ones below it, and no module needs a bottom-of-file or
in-function import to work around another (ARCHITECTURE.md). Imports under `if TYPE_CHECKING:` are
for annotations only and do not count."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import wasmroutines

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "wasmroutines"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_imports(tree: ast.AST) -> list[ast.ImportFrom | ast.Import]:
    """Every import statement, at any depth (functions too), except those under `if TYPE_CHECKING:`."""
    found: list[ast.ImportFrom | ast.Import] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_imports(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = package.split(".")
                if node.level:
                    base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else [])) if node.level else (node.module or "")
                targets = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of modules (first == last), or None. Package __init__ modules that
    import their own submodules are the package's face, not a layer: edges into a package's own
    __init__ from its submodules are what Python resolves first, so they are left out."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own submodules
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = dfs(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = dfs(node)
            if found:
                return found
    return None


def test_the_graph_sees_imports() -> None:
    graph = _graph()
    # A few edges that must be there, so an empty graph cannot pass.
    assert "wasmroutines.core.scheduler" in graph["wasmroutines.core.store"]
    assert "wasmroutines.core.execution" in graph["wasmroutines.core.function"]
    assert "wasmroutines.core.policy" in graph["wasmroutines.core.scheduler"]


def test_no_import_cycles() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("text", ["if TYPE_CHECKING:\n    from .x import y\n"])
def test_annotation_only_imports_do_not_count(text: str) -> None:
    assert _runtime_imports(ast.parse(text)) == []


def test_asyncio_is_imported_on_first_use() -> None:
    """`wasmroutines run` and `import wasmroutines` leave asyncio (and ssl with it) unimported; the package's asyncio
    names still resolve, and importing them brings it in."""
    probe = (
        "import sys, wasmroutines, wasmroutines.cli\n"
        "before = 'asyncio' in sys.modules\n"
        "from wasmroutines import call_async, await_only\n"
        "print(before, 'asyncio' in sys.modules, call_async.__module__, await_only.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["False", "True", "wasmroutines.core.aio", "wasmroutines.core.aio"]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        wasmroutines.nope  # noqa: B018
