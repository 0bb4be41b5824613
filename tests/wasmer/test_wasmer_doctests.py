"""The docstrings of wasmroutines.wasmer stay true: every example runs, and every public class and function has one."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import wasmroutines.bindings.wasmer as package

MODULES: list[ModuleType] = [
    package,
    *(importlib.import_module(f"{package.__name__}.{m.name}") for m in pkgutil.iter_modules(package.__path__)),
    *(importlib.import_module(f"wasmroutines.wasmer_compiler_{n}") for n in ("cranelift", "llvm", "singlepass")),
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(module):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module.__name__}"


def _public_api() -> list[tuple[str, object]]:
    """Every public class and function of the wasmer face, with its dotted name."""
    from wasmroutines import wasmer

    found: list[tuple[str, object]] = []
    for space_name, space in [
        ("wasmer", wasmer),
        ("wasmer.engine", wasmer.engine),
        ("wasmer.target", wasmer.target),
        ("wasmer.wasi", wasmer.wasi),
        ("wasmer.errors", wasmer.errors),
        ("wasmer.threads", wasmer.threads),
    ]:
        names = getattr(space, "__all__", [n for n in dir(space) if not n.startswith("_")])
        for name in names:
            obj = getattr(space, name)
            # The core's classes re-exported by wasmer.errors are documented in the core.
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__.startswith("wasmroutines.bind"):
                found.append((f"{space_name}.{name}", obj))
    return found


@pytest.mark.parametrize(("name", "obj"), _public_api(), ids=lambda x: x if isinstance(x, str) else "")
def test_public_classes_and_functions_have_examples(name: str, obj: object) -> None:
    doc = inspect.getdoc(obj) or ""
    assert ">>>" in doc, f"{name} has no runnable example in its docstring"


def _public_members() -> list[tuple[str, object]]:
    from wasmroutines import wasmer

    members = []
    for name in wasmer.__all__:
        cls = getattr(wasmer, name)
        if not inspect.isclass(cls):
            continue
        for attr, value in vars(cls).items():
            if attr.startswith("_"):
                continue
            if isinstance(value, (property, staticmethod, classmethod)) or inspect.isfunction(value):
                members.append((f"{name}.{attr}", value))
    return members


@pytest.mark.parametrize(("name", "member"), _public_members(), ids=lambda x: x if isinstance(x, str) else "")
def test_public_methods_and_properties_are_documented(name: str, member: object) -> None:
    target = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
    assert (inspect.getdoc(target) or "").strip(), f"{name} has no docstring"
