"""wasmroutines.wasmer.wasi: Version, get_version, StateBuilder, Environment (WASMER_API.md "wasi").

The WASI calls live in wasmroutines.bindings.wasi; here the Environment's side of
the seam (_wasi_seam.py) is exercised with a small fake host.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED, needs_shared

from wasmroutines import wasmer
from wasmroutines.bindings.wasi.errors import WasiExit
from wasmroutines.bindings.wasmer import _wasi_seam
from wasmroutines.core.function import Function as CoreFunction
from wasmroutines.core.memory import Memory as CoreMemory
from wasmroutines.core.store import Store as CoreStore
from wasmroutines.core.types import FuncType, ValType
from wasmroutines.wasmer import ImportObject, Instance, Module, Store, wasi

I32 = ValType.I32


def module_importing(*namespaces: str, memory: bool = False) -> Module:
    imports = " ".join(f'(import "{ns}" "f{i}" (func))' for i, ns in enumerate(namespaces))
    return Module(Store(), f"(module {imports} {'(memory 1)' if memory else ''})")


def test_version_enum() -> None:
    assert [(v.name, int(v)) for v in wasi.Version] == [("LATEST", 1), ("SNAPSHOT0", 2), ("SNAPSHOT1", 3)]


@pytest.mark.parametrize(
    ("namespaces", "strict", "expected"),
    [
        (("wasi_unstable",), True, wasi.Version.SNAPSHOT0),
        (("wasi_snapshot_preview1", "wasi_snapshot_preview1"), True, wasi.Version.SNAPSHOT1),
        (("wasi_snapshot_preview1", "env"), True, None),
        (("env", "wasi_snapshot_preview1"), True, None),
        (("env", "wasi_snapshot_preview1"), False, wasi.Version.SNAPSHOT1),
        (("wasi_unstable", "wasi_snapshot_preview1"), False, wasi.Version.SNAPSHOT0),
        (("env",), False, None),
        ((), False, None),
        ((), True, None),
    ],
)
def test_get_version(namespaces: tuple[str, ...], strict: bool, expected: wasi.Version | None) -> None:
    assert wasi.get_version(module_importing(*namespaces), strict) == expected


def test_get_version_ignores_non_function_imports() -> None:
    module = Module(Store(), '(module (import "env" "m" (memory 1)) (import "wasi_unstable" "fd_write" (func)))')
    assert wasi.get_version(module, strict=True) is wasi.Version.SNAPSHOT0


def test_state_builder_chains(tmp_path: Path) -> None:
    builder = wasi.StateBuilder("prog", arguments=["a"], environments={"A": "1"})
    same = (
        builder.arguments(["b"])
        .argument("c")
        .environments({"B": "2"})
        .environment("C", "3")
        .preopen_directories([str(tmp_path)])
        .preopen_directory(tmp_path)
        .map_directories({"/data": str(tmp_path)})
        .map_directory("/other", str(tmp_path))
    )
    assert same is builder
    config = builder.finalize().config
    assert config.arguments == ("prog", "a", "b", "c")
    assert config.environments == (("A", "1"), ("B", "2"), ("C", "3"))
    assert config.preopen_directories == (str(tmp_path), str(tmp_path))
    assert config.map_directories == (("/data", str(tmp_path)), ("/other", str(tmp_path)))
    # finalize() may be called repeatedly.
    assert builder.finalize().config == config


def test_state_builder_constructor_arguments(tmp_path: Path) -> None:
    config = (
        wasi.StateBuilder(
            "p", ["x"], {"K": "V"}, preopen_directories=[str(tmp_path)], map_directories={"/m": str(tmp_path)}
        )
        .finalize()
        .config
    )
    assert config.arguments == ("p", "x") and config.environments == (("K", "V"),)


def test_finalize_errors(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    cases = [
        (
            wasi.StateBuilder("p").preopen_directory(missing),
            f'wasi filesystem creation error: `Could not get metadata for file "{missing}": entity not found`',
        ),
        (
            wasi.StateBuilder("p").map_directory("/x", missing),
            f'wasi filesystem creation error: `Could not get metadata for file "{missing}": entity not found`',
        ),
        (
            wasi.StateBuilder("p").environment("A=B", "1"),
            'bad environment variable format: `found equal sign in env var key "A=B" (key=value)`',
        ),
        (wasi.StateBuilder("p").argument("a\x00b"), "argument contains null byte: `a\x00b`"),
        (wasi.StateBuilder("p\x00"), "argument contains null byte: `p\x00`"),
    ]
    for builder, message in cases:
        with pytest.raises(RuntimeError) as info:
            builder.finalize()
        assert str(info.value) == message
    with pytest.raises(RuntimeError, match="nul byte"):
        wasi.StateBuilder("p").environment("A", "x\x00").finalize()
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(RuntimeError, match="not a directory"):
        wasi.StateBuilder("p").preopen_directory(str(a_file)).finalize()


def test_state_builder_type_errors() -> None:
    with pytest.raises(TypeError):
        wasi.StateBuilder(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wasi.StateBuilder("p").arguments("abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wasi.StateBuilder("p").argument(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wasi.StateBuilder("p").environments(["A=1"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wasi.StateBuilder("p").stdout("file.txt")
    with pytest.raises(TypeError):
        wasi.StateBuilder("p").stdin(42)


def test_stdio_additions() -> None:
    out = bytearray()
    config = wasi.StateBuilder("p").stdin(b"input").stdout(out).stderr(out).finalize().config
    assert config.stdin == b"input" and config.stdout is out and config.stderr is out


def test_environment_is_not_constructible() -> None:
    with pytest.raises(TypeError):
        wasi.Environment()


# ---- the Environment side of the seam, with a fake host ----


class FakeHost:
    def __init__(self) -> None:
        self.memory: CoreMemory | None = None
        self.written: list[bytes] = []
        self.namespaces: list[str] = []

    def functions(self, store: CoreStore, namespace: str) -> Mapping[str, CoreFunction]:
        self.namespaces.append(namespace)
        out = {name: CoreFunction(store, self._unused, FuncType((), (I32,))) for name in _wasi_seam.PREVIEW1_NAMES}
        out["sock_accept"] = CoreFunction(store, self._unused, FuncType((I32, I32, I32), (I32,)))
        out["fd_write"] = CoreFunction(store, self._fd_write, FuncType((I32, I32, I32, I32), (I32,)))
        out["proc_exit"] = CoreFunction(store, self._proc_exit, FuncType((I32,), ()))
        return out

    def bind_memory(self, memory: CoreMemory) -> None:
        self.memory = memory

    def _unused(self) -> int:
        return 52  # ENOSYS

    def _fd_write(self, fd: int, iovs: int, count: int, nwritten: int) -> int:
        assert self.memory is not None
        data = self.memory.read(iovs, 8)
        ptr, size = int.from_bytes(data[:4], "little"), int.from_bytes(data[4:], "little")
        self.written.append(self.memory.read(ptr, size))
        self.memory.write(nwritten, size.to_bytes(4, "little"))
        return 0

    def _proc_exit(self, code: int) -> None:
        raise WasiExit(code)


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> FakeHost:
    fake = FakeHost()
    monkeypatch.setattr(wasi, "open_host", lambda config: fake)
    return fake


HELLO = """(module
  (import "{ns}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "{ns}" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 3))))"""


@pytest.mark.parametrize(
    ("version", "namespace"),
    [
        (wasi.Version.LATEST, "wasi_snapshot_preview1"),
        (wasi.Version.SNAPSHOT1, "wasi_snapshot_preview1"),
        (wasi.Version.SNAPSHOT0, "wasi_unstable"),
    ],
)
def test_generate_imports_has_the_45_names(host: FakeHost, version: wasi.Version, namespace: str) -> None:
    imports = wasi.StateBuilder("p").finalize().generate_imports(Store(), version)
    assert list(imports) == [namespace]
    names = sorted(imports[namespace])
    assert len(names) == 45 and "sock_accept" not in names
    assert names == sorted(_wasi_seam.PREVIEW1_NAMES)
    assert all(isinstance(f, wasmer.Function) for f in imports[namespace].values())


def test_generate_import_object(host: FakeHost) -> None:
    env = wasi.StateBuilder("p").finalize()
    import_object = env.generate_import_object(Store(), wasi.Version.SNAPSHOT1)
    assert isinstance(import_object, ImportObject)
    assert import_object.contains_namespace("wasi_snapshot_preview1")


def test_instance_binds_memory_and_proc_exit(host: FakeHost) -> None:
    store = Store()
    module = Module(store, HELLO.format(ns="wasi_snapshot_preview1"))
    version = wasi.get_version(module, strict=True)
    assert version is wasi.Version.SNAPSHOT1
    env = wasi.StateBuilder("hello").finalize()
    instance = Instance(module, env.generate_imports(store, version))
    assert host.memory is not None
    with pytest.raises(RuntimeError) as info:
        instance.exports._start()
    assert str(info.value) == "RuntimeError: WASI exited with code: 3"
    assert isinstance(info.value, WasiExit) and info.value.code == 3
    assert host.written == [b"hello"]


def test_one_environment_backs_several_instances(host: FakeHost) -> None:
    store = Store()
    env = wasi.StateBuilder("hello").finalize()
    module = Module(store, HELLO.format(ns="wasi_unstable"))
    for _ in range(2):
        with pytest.raises(RuntimeError, match="exited with code: 3"):
            Instance(module, env.generate_import_object(store, wasi.Version.SNAPSHOT0)).exports._start()
    assert host.written == [b"hello", b"hello"]


def test_missing_memory_export(host: FakeHost) -> None:
    store = Store()
    module = Module(
        store, '(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))))'
    )
    env = wasi.StateBuilder("p").finalize()
    with pytest.raises(RuntimeError) as info:
        Instance(module, env.generate_imports(store, wasi.Version.LATEST))
    assert str(info.value) == "Host env initialization error: Missing export memory"


def test_bad_version(host: FakeHost) -> None:
    with pytest.raises(TypeError):
        wasi.StateBuilder("p").finalize().generate_imports(Store(), 9)  # type: ignore[arg-type]


def test_unavailable_binding_is_a_clear_runtime_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_wasi_seam, "BINDING", "wasmroutines.bindings.wasi.no_such_module")
    with pytest.raises(RuntimeError, match="WASI is not available"):
        wasi.StateBuilder("p").finalize().generate_imports(Store(), wasi.Version.LATEST)


def test_seam_protocol_is_satisfied_by_the_fake() -> None:
    host: Any = FakeHost()
    proto: _wasi_seam.WasiHost = host
    assert callable(proto.functions) and callable(proto.bind_memory)


# ---- end to end, through the WASI binding (wasmroutines.bindings.wasi) ----

PROGRAMS = Path(__file__).resolve().parent.parent / "wasi_programs"


def run_program(name: str, builder: wasi.StateBuilder, version: wasi.Version | None = None) -> int:
    """Run a WASI program as a wasmer user would; its exit code (0 when _start returns)."""
    store = Store()
    module = Module(store, (PROGRAMS / name).read_text())
    version = version or wasi.get_version(module, strict=True)
    assert version is not None
    instance = Instance(module, builder.finalize().generate_imports(store, version))
    try:
        instance.exports._start()
    except RuntimeError as e:
        message = str(e)
        assert message.startswith("RuntimeError: WASI exited with code: "), message
        return int(message.rsplit(" ", 1)[1])
    return 0


def test_real_binding_echo_captures_stdout() -> None:
    out = bytearray()
    builder = wasi.StateBuilder("echo").argument("hello").environment("K", "V").stdout(out)
    assert run_program("echo.wat", builder) == 0
    assert bytes(out) == b"echo\x00hello\x00K=V\x00"


def test_real_binding_proc_exit() -> None:
    assert run_program("exit_argc.wat", wasi.StateBuilder("p").arguments(["a", "b"])) == 3


def test_real_binding_stdin_from_bytes() -> None:
    out = bytearray()
    assert run_program("cat.wat", wasi.StateBuilder("cat").stdin(b"from python").stdout(out)) == 0
    assert bytes(out) == b"from python"


def test_real_binding_map_directory(tmp_path: Path) -> None:
    """As wasmer: fd 3 is the virtual root "/", holding the mapped directories, which follow it."""
    (tmp_path / "in.txt").write_text("mapped file")
    out = bytearray()
    assert run_program("listroot.wat", wasi.StateBuilder("r").map_directory("/data", str(tmp_path)).stdout(out)) == 0
    assert bytes(out) == b"/\n.\n..\ndata\nmapped file"


def test_real_binding_virtual_root_lists_every_alias(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "in.txt").write_text("from b")
    out = bytearray()
    builder = (
        wasi.StateBuilder("r")
        .map_directory("zeta", str(tmp_path / "a"))
        .map_directories({"data": str(tmp_path / "b"), "./alpha": str(tmp_path / "a")})
        .stdout(out)
    )
    assert run_program("listroot.wat", builder) == 0
    assert bytes(out) == b"/\n.\n..\nalpha\ndata\nzeta\nfrom b"


def test_real_binding_virtual_root_is_fd_3(tmp_path: Path) -> None:
    """A guest that takes fd 3 for the first mapped directory finds the root there, as under wasmer."""
    (tmp_path / "in.txt").write_text("x")
    out = bytearray()
    assert run_program("readfile.wat", wasi.StateBuilder("r").map_directory("data", str(tmp_path)).stdout(out)) == 1
    assert run_program("fdtype.wat", wasi.StateBuilder("r")) == 3  # a directory, with nothing mapped


SIMPLE = SHARED / "bench" / "wasm3" / "simple"


@needs_shared(SIMPLE)
@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("/data/0.txt", True),
        ("data/0.txt", True),  # wasi-libc's working directory is "/": the root has it
        ("/data/../data/0.txt", True),
        ("/0.txt", False),
        ("/../0.txt", False),
        ("/data/../../simple/0.txt", False),
    ],
)
def test_real_binding_wasi_libc_opens_through_the_virtual_root(path: str, found: bool) -> None:
    """A C program (wasi-libc) finds files by absolute path with only map_directory given, as under wasmer."""
    out = bytearray()
    store = Store()
    module = Module(store, (SIMPLE / "test.wasm").read_bytes())
    env = wasi.StateBuilder("test").arguments(["cat", path]).map_directory("data", str(SIMPLE)).stdout(out).finalize()
    Instance(module, env.generate_import_object(store, wasi.Version.SNAPSHOT1)).exports._start()
    hex_dump = " ".join(f"{b:02x}" for b in (SIMPLE / "0.txt").read_bytes()).encode()
    assert (hex_dump in out) is found
    assert (f"Cannot open {path}".encode() in out) is not found


def test_real_binding_generate_imports_names() -> None:
    env = wasi.StateBuilder("p").finalize()
    for version in wasi.Version:
        (functions,) = env.generate_imports(Store(), version).values()
        assert sorted(functions) == sorted(_wasi_seam.PREVIEW1_NAMES)
