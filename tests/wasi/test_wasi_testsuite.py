"""The WASI test suite (../shared/wasi-testsuite/tests): every preview1 program of the C, Rust and
AssemblyScript suites, run in-process against its JSON spec.

A spec gives `args`, `env`, `dirs` (preopened under their own names) or `root`
(preopened as "/"), and the expected `exit_code` and `stdout`. A folder it
preopens is copied to a temporary directory first (../shared is read-only in
CI). stdin is empty; stdout and stderr are captured. Tests that cannot pass
are listed with their reasons in wasi_programs/testsuite_skips.json.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED
from shared_files import shared_files

from wasmroutines import Instance, Module, Store, Trap
from wasmroutines.bindings.wasi import WasiConfig, WasiEnvironment

SUITE = SHARED / "wasi-testsuite" / "tests"
SUITES = ["c", "rust", "assemblyscript"]
SKIPS_FILE = Path(__file__).parent.parent / "wasi_programs" / "testsuite_skips.json"
SKIPS: dict[str, str] = json.loads(SKIPS_FILE.read_text())["skips"]


def _case_id(p: Path) -> str:
    return f"{p.parts[-4]}/{p.stem}"


def _cases(suites: list[str]) -> list[Any]:
    # Per suite: a suite missing from ../shared still gives one test, which fails in CI (conftest.needs_shared).
    out: list[Any] = []
    for suite in suites:
        out += shared_files(SUITE / suite / "testsuite" / "wasm32-wasip1", ids=_case_id, missing_id=f"{suite}-missing")
    return out


def _copy_writable(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True)
    for p in [dst, *dst.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | stat.S_IWUSR | stat.S_IRUSR | (stat.S_IXUSR if p.is_dir() else 0))


def run_case(
    wasm: Path, tmp: Path, extra_env: dict[str, str] | None = None
) -> tuple[int, bytes, bytes, dict[str, Any]]:
    spec_path = wasm.with_suffix(".json")
    spec: dict[str, Any] = json.loads(spec_path.read_text()) if spec_path.exists() else {}
    out = bytearray()
    err = bytearray()
    config = WasiConfig(
        args=[wasm.name, *spec.get("args", [])],
        env={**spec.get("env", {}), **(extra_env or {})},
        stdin=b"",
        stdout=out,
        stderr=err,
    )
    root = spec.get("root")
    if isinstance(root, str):
        _copy_writable(wasm.parent / root, tmp / root)
        config.preopen_dir(tmp / root, "/")
    for d in spec.get("dirs", []):
        _copy_writable(wasm.parent / d, tmp / d)
        config.preopen_dir(tmp / d, d)
    store = Store()
    module = Module.from_file(wasm)
    with WasiEnvironment(config) as wasi:
        instance = Instance(store, module, wasi.imports(store, module))
        try:
            code = wasi.start(instance)
        except Trap as trap:  # a Rust panic aborts with `unreachable`: keep its message from stderr
            err += f"\n{trap}".encode()
            code = 134
    return code, bytes(out), bytes(err), spec


@pytest.mark.parametrize("wasm", _cases(SUITES))
def test_wasi_testsuite(wasm: Path, tmp_path: Path) -> None:
    # Known failures only, each skipped with the reason wasi_programs/testsuite_skips.json gives for it.
    skip = SKIPS.get(_case_id(wasm))
    if skip is not None:
        pytest.skip(skip)
    code, out, err, spec = run_case(wasm, tmp_path)
    detail = f"stdout={out[-2000:]!r}\nstderr={err[-2000:]!r}"
    assert code == spec.get("exit_code", 0), detail
    if "stdout" in spec:
        assert out == str(spec["stdout"]).encode(), detail


@pytest.mark.parametrize("wasm", _cases(["rust"]))
def test_rust_suite_with_unix_errnos(wasm: Path, tmp_path: Path) -> None:
    """The Rust suite again, with ERRNO_MODE_UNIX: each error must be the exact errno POSIX gives."""
    skip = SKIPS.get(_case_id(wasm) + " (unix errnos)") or SKIPS.get(_case_id(wasm))
    if skip is not None:
        pytest.skip(skip)
    code, out, err, spec = run_case(wasm, tmp_path, {"ERRNO_MODE_UNIX": "1"})
    assert code == spec.get("exit_code", 0), f"stdout={out[-2000:]!r}\nstderr={err[-2000:]!r}"
