"""The `wasmroutines` command, run as a subprocess (`python -m wasmroutines`) like a user would.

Programs are the text files in wasi_programs/ (the CLI compiles .wat itself),
plus a few of the WASI test suite's from ../shared.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED, needs_shared

PROGRAMS = Path(__file__).resolve().parent / "wasi_programs"
SUITE = SHARED / "wasi-testsuite" / "tests"
FOPEN = SUITE / "c" / "testsuite" / "wasm32-wasip1" / "fopen-with-access.wasm"
ENVIRON = SUITE / "assemblyscript" / "testsuite" / "wasm32-wasip1" / "environ_get-multiple-variables.wasm"


def run(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "wasmroutines", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def prog(name: str) -> str:
    return str(PROGRAMS / name)


def test_help_explains_the_options() -> None:
    p = run("run", "--help")
    assert p.returncode == 0
    text = p.stdout.decode()
    for word in ["--dir", "HOST[::GUEST]", "--env", "--invoke", "--fuel", "--max-memory", "--tcplisten", "134", "137"]:
        assert word in text
    p = run()
    assert p.returncode == 2 and b"run" in p.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["run"],
        ["run", "--fuel", "lots", "x.wasm"],
        ["run", "--fuel", "-1", "x.wasm"],
        ["run", "--bogus", "x.wasm"],
        ["run", "--env", "=v", prog("echo.wat")],
        ["run", "--dir", "/no/such/dir", prog("echo.wat")],
        ["run", "--dir", "a::", prog("echo.wat")],
        ["run", "--tcplisten", "nope", prog("echo.wat")],
        ["run", "--max-memory", "100", prog("echo.wat")],
    ],
)
def test_bad_arguments_give_one_line(args: list[str]) -> None:
    p = run(*args)
    assert p.returncode == 2
    lines = p.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wasmroutines: error:"), p.stderr


def test_files_that_are_not_programs(tmp_path: Path) -> None:
    p = run("run", str(tmp_path / "missing.wasm"))
    assert p.returncode == 1 and p.stderr.startswith(b"Error: cannot read")
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0\x99")
    p = run("run", str(bad))
    assert p.returncode == 1 and p.stderr.startswith(b"Error: failed to load")
    p = run("run", prog("funcs.wat"))
    assert p.returncode == 1 and b"_start" in p.stderr


@pytest.mark.parametrize("nargs", [0, 1, 5])
def test_exit_status_is_the_guests(nargs: int) -> None:
    p = run("run", prog("exit_argc.wat"), *["x"] * nargs)
    assert p.returncode == nargs + 1, p.stderr


def test_exit_status_126_and_above_is_refused() -> None:
    p = run("run", prog("exit_argc.wat"), *["x"] * 129)
    assert p.returncode == 1 and b"invalid exit status" in p.stderr


def test_trap_prints_the_backtrace_and_exits_134() -> None:
    p = run("run", prog("trap.wat"))
    assert p.returncode == 134
    err = p.stderr.decode()
    assert "wasm trap: unreachable" in err
    lines = err.splitlines()
    frames = [line for line in lines if " - " in line]
    assert len(frames) == 3 and "inner" in frames[0] and "middle" in frames[1], err


def test_args_and_env_reach_the_guest() -> None:
    p = run(
        "run",
        "--env",
        "K=V",
        "--env",
        "FROM_HOST",
        "--env",
        "ABSENT",
        prog("echo.wat"),
        "a",
        "b c",
        env={"FROM_HOST": "h"},
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == prog("echo.wat").encode() + b"\0a\0b c\0K=V\0FROM_HOST=h\0"


def test_options_after_the_program_belong_to_it() -> None:
    p = run("run", prog("echo.wat"), "--dir", "x", "--help")
    assert p.returncode == 0 and p.stdout == prog("echo.wat").encode() + b"\0--dir\0x\0--help\0"


def test_dir_maps_host_to_guest(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_bytes(b"file contents\n")
    p = run("run", "--dir", f"{tmp_path}::/data", prog("readfile.wat"))
    assert (p.returncode, p.stdout) == (0, b"file contents\n"), p.stderr
    p = run("run", prog("readfile.wat"))  # nothing preopened
    assert p.returncode == 1


def test_stdin_is_the_processes() -> None:
    data = bytes(range(256)) * 100
    p = run("run", prog("cat.wat"), stdin=data)
    assert (p.returncode, p.stdout) == (0, data)


def test_implicit_run_and_wat_input() -> None:
    p = run(prog("exit_argc.wat"), "x")
    assert p.returncode == 2


@pytest.mark.parametrize(
    ("func", "args", "out"),
    [
        ("add", ["2", "3"], "5\n"),
        ("add", ["0x7fffffff", "1"], "-2147483648\n"),
        ("div_s", ["-9", "2"], "-4\n"),
        ("halve", ["3"], "1.5\n"),
        ("halve", ["4"], "2\n"),
        ("halve", ["inf"], "inf\n"),
        ("third", ["1"], "0.33333334\n"),
        ("swap", ["1", "9"], "9\n1\n"),
        ("grow", ["1"], "1\n"),
    ],
)
def test_invoke_prints_results_one_per_line(func: str, args: list[str], out: str) -> None:
    p = run("run", "--invoke", func, prog("funcs.wat"), *args)
    assert (p.returncode, p.stdout.decode()) == (0, out), p.stderr


@pytest.mark.parametrize(
    ("func", "args", "message"),
    [
        ("add", ["1"], b"takes 2 arguments"),
        ("add", ["1", "x"], b"not an i32"),
        ("add", ["1", str(2**40)], b"out of range"),
        ("nothing", [], b"no exported function"),
        ("memory", [], b"no exported function"),
    ],
)
def test_invoke_errors(func: str, args: list[str], message: bytes) -> None:
    p = run("run", "--invoke", func, prog("funcs.wat"), *args)
    assert p.returncode == 1 and message in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr


def test_invoke_trap() -> None:
    p = run("run", "--invoke", "div_s", prog("funcs.wat"), "1", "0")
    assert p.returncode == 134 and b"integer divide by zero" in p.stderr


def test_fuel_stops_a_spinning_program() -> None:
    p = run("run", "--fuel", "100000", "--invoke", "spin", prog("funcs.wat"))
    assert p.returncode == 137 and b"--fuel" in p.stderr  # a limit (tests/core/test_limits.py), not a trap


def test_max_memory_caps_growth() -> None:
    p = run("run", "--max-memory", str(3 * 65536), "--invoke", "grow", prog("funcs.wat"), "2")
    assert (p.returncode, p.stdout) == (0, b"1\n")
    p = run("run", "--max-memory", str(3 * 65536), "--invoke", "grow", prog("funcs.wat"), "3")
    assert (p.returncode, p.stdout) == (0, b"-1\n")
    p = run("run", "--max-memory", "65536", prog("echo.wat"))  # it asks for 2 pages at the start
    assert p.returncode == 137 and p.stderr.startswith(b"Error:") and len(p.stderr.splitlines()) == 1


def test_tcplisten_preopens_a_socket(tmp_path: Path) -> None:
    assert run("run", prog("fdtype.wat")).returncode == 99
    assert run("run", "--tcplisten", "127.0.0.1:0", prog("fdtype.wat")).returncode == 6  # SOCKET_STREAM
    # Directories come first (wasi-libc stops its preopen scan at the first fd that is not one).
    assert run("run", "--tcplisten", "127.0.0.1:0", "--dir", str(tmp_path), prog("fdtype.wat")).returncode == 3


def test_console_script() -> None:
    # Installing the package installs the script ([project.scripts]): not finding it is a broken install.
    exe = shutil.which("wasmroutines", path=os.path.dirname(sys.executable)) or shutil.which("wasmroutines")
    assert exe is not None, f"no wasmroutines console script beside {sys.executable} or on PATH"
    p = subprocess.run([exe, "run", prog("exit_argc.wat"), "a"], capture_output=True, timeout=60)
    assert p.returncode == 2


@needs_shared(FOPEN)
def test_a_c_program_with_a_preopened_root(tmp_path: Path) -> None:
    wasm = FOPEN
    root = tmp_path / "root"
    shutil.copytree(wasm.parent / "fs-tests.dir", root)
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o700)
    p = run("run", "--dir", f"{root}::/", str(wasm))
    assert p.returncode == 0, p.stderr


@needs_shared(ENVIRON)
def test_an_assemblyscript_program_with_env() -> None:
    wasm = ENVIRON
    p = run("run", "--env", "a=text", "--env", 'b=escap " ing', "--env", "c=new\nline", str(wasm))
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize(
    "option",
    [
        "--max-call-depth 4294967296",
        "--max-table-elements 4294967296",
        "--fuel 18446744073709551616",
        "--hang-fuel 9223372036854775808",
        "--depth 4294967296",
        "--fuel -1",
        "--max-stack 9223372036854775808",
    ],
)
def test_numeric_options_out_of_range_are_usage_errors(option: str) -> None:
    p = run("run", *option.split(), prog("exit_argc.wat"), "a")
    flag = option.split()[0]
    assert p.returncode == 2
    assert f"argument {flag}: must".encode() in p.stderr and b"Traceback" not in p.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--seed", "1", "--record", "/nonexistent/dir/x.wrr"],
        ["run", "--seed", "1", "--trace", "/nonexistent/dir/t.json"],
        ["run", "--seed", "1", "--trace", "/"],
        ["explore", "--runs", "2", "--save", "/proc/x"],
    ],
)
def test_an_output_path_that_cannot_be_written_fails_before_the_run(args: list[str], tmp_path: Path) -> None:
    # The program would print; a check made after the run would show its output first.
    p = run(*args, prog("echo.wat"), "printed")
    assert p.returncode == 1
    assert p.stdout == b"" and b"printed" not in p.stderr
    assert p.stderr.startswith(b"Error: cannot ") and b"Traceback" not in p.stderr


def test_store_limits_out_of_range_are_value_errors() -> None:
    from wasmroutines import Store

    for keywords in (
        {"max_call_depth": -1},
        {"fuel": -1},
        {"max_call_depth": 2**32},
        {"max_table_elements": 2**32},
        {"stack_slots": 2**32},
        {"fuel": 2**63},
        {"max_threads": -1},
        {"max_stack_bytes": -1},
        {"max_stack_bytes": 2**63},
    ):
        with pytest.raises(ValueError, match=next(iter(keywords))):
            Store(**keywords)


@pytest.mark.parametrize("content", [b"\x7fELF\x02\x01\x01\x00" + bytes(64), b"", b"hello, not wat\n"])
def test_a_file_that_is_neither_wasm_nor_text_wasm_says_so(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "prog.wasm"
    path.write_bytes(content)
    p = run("run", str(path))
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        f"Error: failed to load {path}: malformed module at offset 0x0: not a WebAssembly module: "
        "no \\0asm magic header, and not WebAssembly text".encode()
    ]


def test_text_after_comments_is_still_compiled(tmp_path: Path) -> None:
    path = tmp_path / "prog.wat"
    path.write_text(';; line\n(; block ;)\n(module (func (export "f") (result i32) i32.const 7))')
    assert run("run", "--invoke", "f", str(path)).stdout == b"7\n"


@pytest.mark.parametrize("options", [[], ["--hang-fuel", "100000"], ["--strategy", "pct", "--steps", "1000"]])
def test_explore_stops_before_exploring_a_program_that_cannot_run(options: list[str], tmp_path: Path) -> None:
    path = tmp_path / "missing.wat"
    path.write_text('(module (import "env" "missing" (func)) (func (export "_start")))')
    p = run("explore", "--runs", "5", *options, str(path))
    assert p.returncode == 3  # not 1, "failures found": nothing was explored
    assert p.stdout == b""
    assert p.stderr == f"Error: cannot run {path}: LinkError: unknown import: env.missing\n".encode()


@pytest.mark.parametrize("command", ["run", "explore"])
def test_an_own_option_after_the_program_draws_a_warning(command: str) -> None:
    p = run(command, prog("exit_argc.wat"), "--seed=3", "--runs", "2")
    assert (
        p.stderr.splitlines()[0]
        == (
            f"wasmroutines: warning: --seed comes after the program, so it goes to the program; "
            f"put {command}'s options before PROGRAM"
        ).encode()
    )
    quiet = run("run", prog("exit_argc.wat"), "--not-ours")
    assert b"warning" not in quiet.stderr


def test_a_trap_reads_the_same_in_both_modes() -> None:
    fair = run("run", prog("trap.wat"))
    seeded = run("run", "--seed", "3", prog("trap.wat"))
    assert fair.returncode == seeded.returncode == 134
    assert fair.stderr == seeded.stderr
    # _start has no name-section name: the name it is exported under shows, as in wasmtime's backtraces.
    assert fair.stderr.splitlines()[-1] == b"     2:     0x3c - trapper!_start"
    assert fair.stderr.splitlines()[1:4] == [
        b"wasm trap: unreachable",
        b"wasm backtrace:",
        b"     0:     0x33 - trapper!inner",
    ]


SPIN = Path(__file__).resolve().parent / "programs" / "wasm" / "c_spin.wasm"
SPIN_FOREVER = (str(SPIN), "4", "1000000000000")  # 10^12 steps: it ends only when stopped


@pytest.mark.parametrize(
    "mode", [(), ("--seed", "1"), ("--seed", "1", "--strategy", "pct")], ids=["fair", "random", "pct"]
)
def test_ctrl_c_and_wall_time_stop_threads_the_core_switches(mode: tuple[str, ...]) -> None:
    """Threads that only spin and switch among themselves never come back to Python on their own: the core
    gives control back at its periodic checks and at the wall-time deadline."""
    p = run("run", "--max-wall-time", "1", *mode, *SPIN_FOREVER)
    assert p.returncode == 137 and b"--max-wall-time" in p.stderr and len(p.stderr.splitlines()) == 1
    cmd = [sys.executable, "-m", "wasmroutines", "run", *mode, *SPIN_FOREVER]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        try:
            proc.wait(timeout=2)  # it is running (or failed early: then the check below says how)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
