"""instance.py: linking imports, start functions, instantiation traps, exports access."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmroutines import (
    Function,
    FuncType,
    Global,
    GlobalType,
    Instance,
    LinkError,
    Memory,
    MemoryType,
    Module,
    Store,
    Table,
    TableType,
    Trap,
    ValType,
)

I32 = ValType.I32
Wat = Callable[[str], bytes]


def test_exports_access(store: Store, wat: Wat) -> None:
    inst = Instance(store, Module(wat('(module (func (export "f") (result i32) i32.const 1) (memory (export "m") 1))')))
    e = inst.exports
    assert isinstance(e.f, Function) and e["f"] is e.f
    assert isinstance(e.m, Memory)
    assert "f" in e and "g" not in e and len(e) == 2
    assert [name for name, _ in e] == ["f", "m"]
    assert dict(e)["m"] is e.m
    with pytest.raises(AttributeError):
        e.g  # noqa: B018
    with pytest.raises(KeyError):
        e["g"]


def test_all_import_kinds(store: Store, wat: Wat) -> None:
    module = Module(
        wat(
            """(module
                 (import "env" "f" (func $f (param i32) (result i32)))
                 (import "env" "m" (memory 1))
                 (import "env" "t" (table 1 funcref))
                 (import "env" "g" (global $g (mut i32)))
                 (func (export "run") (param i32) (result i32)
                   (global.set $g (call $f (local.get 0)))
                   (i32.store (i32.const 0) (global.get $g))
                   (global.get $g)))"""
        )
    )
    mem = Memory(store, MemoryType(1))
    g = Global(store, GlobalType(I32, mutable=True), 0)
    imports = {
        "env": {
            "f": Function(store, lambda x: x * 2, FuncType((I32,), (I32,))),
            "m": mem,
            "t": Table(store, TableType(ValType.FUNCREF, 1)),
            "g": g,
        }
    }
    inst = Instance(store, module, imports)
    assert inst.exports.run(21) == 42
    assert g.value == 42 and mem.read(0, 4) == (42).to_bytes(4, "little")


def test_plain_callable_import(store: Store, wat: Wat) -> None:
    module = Module(wat('(module (import "env" "f" (func $f (result i64))) (func (export "g") (result i64) call $f))'))
    assert Instance(store, module, {"env": {"f": lambda: -5}}).exports.g() == -5


def test_exports_of_another_instance_as_imports(store: Store, wat: Wat) -> None:
    a = Instance(store, Module(wat('(module (func (export "one") (result i32) i32.const 1))')))
    b = Instance(
        store,
        Module(
            wat('(module (import "a" "one" (func $one (result i32))) (func (export "two") (result i32) call $one))')
        ),
        {"a": a.exports},
    )
    assert b.exports.two() == 1


def test_link_errors(store: Store, wat: Wat) -> None:
    module = Module(wat('(module (import "env" "f" (func (param i32))))'))
    with pytest.raises(LinkError, match=r"unknown import: env\.f"):
        Instance(store, module)
    with pytest.raises(LinkError, match=r"unknown import: env\.f"):
        Instance(store, module, {"env": {}})
    wrong = Function(store, lambda: None, FuncType((), ()))
    with pytest.raises(LinkError):
        Instance(store, module, {"env": {"f": wrong}})
    with pytest.raises(LinkError):
        Instance(store, module, {"env": {"f": Memory(store, MemoryType(1))}})
    other = Function(Store(), lambda x: None, FuncType((I32,), ()))
    with pytest.raises(LinkError, match="another store"):
        Instance(store, module, {"env": {"f": other}})
    mem_module = Module(wat('(module (import "env" "m" (memory 2)))'))
    with pytest.raises(LinkError):
        Instance(store, mem_module, {"env": {"m": Memory(store, MemoryType(1))}})


def test_start_function_runs(store: Store, wat: Wat) -> None:
    calls = []
    module = Module(
        wat(
            """(module (import "env" "log" (func $log (param i32)))
                 (func $main (call $log (i32.const 7))) (start $main))"""
        )
    )
    Instance(store, module, {"env": {"log": calls.append}})
    assert calls == [7]


def test_start_function_is_a_host_import(store: Store, wat: Wat) -> None:
    calls = []
    module = Module(wat('(module (import "env" "go" (func $go)) (start $go))'))
    Instance(store, module, {"env": {"go": lambda: calls.append(1)}})
    assert calls == [1]


def test_start_trap_and_segment_trap(store: Store, wat: Wat) -> None:
    with pytest.raises(Trap, match="unreachable"):
        Instance(store, Module(wat("(module (func $s unreachable) (start $s))")))
    with pytest.raises(Trap) as info:
        Instance(store, Module(wat('(module (memory 1) (data (i32.const 65535) "ab"))')))
    assert info.value.kind == "out of bounds memory access"


def test_host_exception_in_start_propagates(store: Store, wat: Wat) -> None:
    def boom() -> None:
        raise KeyError("mine")

    module = Module(wat('(module (import "env" "go" (func $go)) (func $s call $go) (start $s))'))
    with pytest.raises(KeyError, match="mine"):
        Instance(store, module, {"env": {"go": boom}})


def test_function_gives_typed_code_a_function(instantiate: Callable[..., Instance]) -> None:
    inst = instantiate(
        '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)'
        ' (memory (export "m") 1))'
    )
    assert inst.function("add")(1, 2) == 3
    with pytest.raises(TypeError, match="export 'm' is a Memory, not a function"):
        inst.function("m")
    with pytest.raises(KeyError):
        inst.function("missing")


def test_the_readmes_python_examples_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Every ```python block of README.md runs as shown (from the repository root, as its paths are)."""
    root = Path(__file__).resolve().parent.parent.parent
    blocks = re.findall(r"^```python\n(.*?)^```", (root / "README.md").read_text(), re.S | re.M)
    assert len(blocks) >= 2
    monkeypatch.chdir(root)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert "condition: 300 items through a queue of 4, sum 45150" in capsys.readouterr().out
