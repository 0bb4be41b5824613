"""The `wasmroutines` command: `wasmroutines run [OPTIONS] PROGRAM.wasm [ARGS...]`, as `wasmtime run` does.

Exit status (wasmtime's conventions on Unix):
  the guest's proc_exit code (0 when _start returns); a code of 126 or more
  is refused as WASI demands (message, status 1);
  134 (128 + SIGABRT) after a trap: the wasm backtrace goes to stderr;
  137 (128 + SIGKILL, as a process killed over a resource limit) when the
  program went over a limit (--fuel, --max-wall-time, --max-memory,
  --max-table-elements, --max-call-depth, --max-stack-slots, --max-stack,
  --max-module-size): one line naming the option; a thread-spawn refused
  over --max-threads is the program's to handle (it gets EAGAIN; a warning
  goes to stderr);
  1 for any other error (a module that does not load or link, a missing file);
  2 for bad command-line arguments (a one-line message).
"""

from __future__ import annotations

import argparse
import decimal
import math
import os
import struct
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from . import __version__
from .bindings.program import instantiate as instantiate_program
from .bindings.wasi import WasiConfig, WasiEnvironment, WasiExit
from .core.errors import OutOfFuel, ResourceLimitError, StackExhausted, Trap, WasmroutinesError
from .core.function import Function
from .core.instance import Instance
from .core.module import Module, read_wasm
from .core.store import Store
from .core.types import FuncType, ValType
from .explore.cli import (
    add_explore_parser,
    add_limit_options,
    add_run_options,
    explore_command,
    fail_limit,
    listen_tcp,
    note_own_options,
    print_trap,
    run_deterministic,
    spawn_warning,
    store_limits,
)

__all__ = ["main"]

EXIT_TRAP = 134  # 128 + SIGABRT, what wasmtime exits with after a trap
EXIT_ERROR = 1
EXIT_USAGE = 2

_DESCRIPTION = """\
Run a WebAssembly program: a WASI command (its _start), or with --invoke any exported function.
The program sees only what the options give it: its arguments, the --env variables, the
--dir directories and --tcplisten sockets; stdin, stdout and stderr are the process's own."""

_RUN_EPILOG = """\
exit status: the program's (proc_exit's code, 0 when _start returns); 134 after a trap
(the wasm backtrace is printed to stderr); 137 when the program went over a limit (one
line names the option); 1 for other errors (the module does not load or link, a file is
missing); 2 for bad arguments.

examples:
  wasmroutines run --dir . hello.wasm
  wasmroutines run --dir /tmp/data::/data --env LANG=C prog.wasm -v input.txt
  wasmroutines run --invoke add math.wasm 1 2"""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump), status 2."""

    def error(self, message: str) -> NoReturn:
        # ARGS may be empty; argparse lists it as missing only beside a missing PROGRAM.
        message = message.replace("PROGRAM, ARGS", "PROGRAM")
        self.exit(EXIT_USAGE, f"wasmroutines: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wasmroutines", description=_DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--version", action="version", version=f"wasmroutines {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser(
        "run",
        help="run a WebAssembly program",
        description=_DESCRIPTION,
        epilog=_RUN_EPILOG,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    run.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="HOST[::GUEST]",
        help="let the program see host directory HOST as GUEST (default: HOST as written); repeatable",
    )
    run.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="set an environment variable for the program (NAME alone: the host's value); repeatable",
    )
    run.add_argument(
        "--invoke",
        metavar="NAME",
        help="call exported function NAME with ARGS instead of _start;\n"
        "ARGS are parsed by its parameter types, results printed one per line",
    )
    run.add_argument(
        "--tcplisten",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="preopen a TCP socket listening on HOST:PORT (after the --dir fds); repeatable;\n"
        "in deterministic mode only with --record (the replay needs no network)",
    )
    add_limit_options(run)
    add_run_options(run)
    run.add_argument("program", metavar="PROGRAM", help="the .wasm (or .wat) file")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the program's arguments")
    note_own_options(run)
    add_explore_parser(sub, _Parser)
    return parser


# ---- values for --invoke ----

_INT_RANGE = {ValType.I32: 32, ValType.I64: 64}


def parse_value(t: ValType, text: str) -> Any:
    """A command-line argument as a value of type `t` (ints in any base Python reads, floats as written)."""
    if t in _INT_RANGE:
        bits = _INT_RANGE[t]
        try:
            v = int(text, 0)
        except ValueError:
            raise ValueError(f"{text!r} is not an {t}") from None
        if not -(1 << (bits - 1)) <= v < (1 << bits):
            raise ValueError(f"{text} is out of range for {t}")
        return v
    if t in (ValType.F32, ValType.F64):
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an {t}") from None
    if t is ValType.V128:
        return int(text, 0)
    raise ValueError(f"cannot pass a {t} from the command line")


def _plain(d: decimal.Decimal) -> str:
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_value(t: ValType, v: Any) -> str:
    """A result as wasmtime prints it: ints in decimal, floats in the shortest form without exponent."""
    if t in (ValType.F32, ValType.F64):
        f = float(v)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        if t is ValType.F32:
            for digits in range(1, 10):
                text = f"{f:.{digits}g}"
                if struct.unpack("<f", struct.pack("<f", float(text)))[0] == f:
                    return _plain(decimal.Decimal(text))
        return _plain(decimal.Decimal(repr(f)))
    if t is ValType.V128:
        return f"{v & ((1 << 128) - 1):#034x}"
    if t.is_ref:
        return "null" if v is None else f"<{t}>"
    return str(v)


# ---- running ----


def _config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> WasiConfig:
    config = WasiConfig(args=[args.program, *args.args] if args.invoke is None else [args.program])
    for spec in args.env:
        name, eq, value = spec.partition("=")
        if not name:
            parser.error(f"--env {spec!r}: expected NAME=VALUE")
        if not eq:
            if name not in os.environ:
                continue
            value = os.environ[name]
        config.env[name] = value
    for spec in args.dir:
        host, sep, guest = spec.partition("::")
        if not host or (sep and not guest):
            parser.error(f"--dir {spec!r}: expected HOST or HOST::GUEST")
        if not os.path.isdir(host):
            parser.error(f"--dir {spec!r}: {host} is not a directory")
        config.preopen_dir(host, guest if sep else host)
    config.listeners.extend(listen_tcp(args.tcplisten, parser))
    return config


def _export(instance: Instance, name: str) -> object:
    try:
        return instance.exports[name]
    except KeyError:
        return None


def _invoke(instance: Instance, name: str, argv: Sequence[str]) -> list[str]:
    func = _export(instance, name)
    if not isinstance(func, Function):
        raise WasmroutinesError(f"no exported function named {name!r}")
    ft: FuncType = func.type
    if len(argv) != len(ft.params):
        raise WasmroutinesError(f"{name} takes {len(ft.params)} arguments, {len(argv)} given")
    values = [parse_value(t, a) for t, a in zip(ft.params, argv, strict=True)]
    result = func(*values)
    results = [] if result is None else list(result) if isinstance(result, tuple) else [result]
    return [format_value(t, v) for t, v in zip(ft.results, results, strict=True)]


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    status = run_deterministic(args, parser)
    if status is not None:
        return status
    limits = store_limits(args, parser)
    config = _config(args, parser)
    try:
        module = Module(read_wasm(args.program, limits.get("max_module_size")))
    except OSError as e:
        return _fail(f"cannot read {args.program}: {e.strerror or e}")
    except ResourceLimitError as e:
        if e.limit is None:
            return _fail(f"failed to load {args.program}: {e}")
        return fail_limit(e.limit, str(e), limits)
    except WasmroutinesError as e:
        return _fail(f"failed to load {args.program}: {e}")
    store = Store(**limits)  # the --max-wall-time clock starts here
    with WasiEnvironment(config) as wasi:
        try:
            # A wasi-threads program gets every thread it spawns run as a green thread (bindings/program.py).
            program = instantiate_program(store, module, wasi, on_refused=spawn_warning(limits))
            instance = program.instance
            if args.invoke is None:
                if "_start" not in instance.exports:
                    return _fail(f"{args.program} exports no _start (use --invoke NAME to call a function)")
                code = program.start()
            else:
                init = _export(instance, "_initialize")
                if isinstance(init, Function):
                    init()
                for line in _invoke(instance, args.invoke, args.args):
                    print(line)
                sys.stdout.flush()
                code = 0
        except WasiExit as e:
            code = e.code
        except (OutOfFuel, StackExhausted) as e:
            return fail_limit(e.limit, e.kind if isinstance(e, Trap) else str(e), limits)
        except ResourceLimitError as e:
            if e.limit is None:
                return _fail(str(e))
            return fail_limit(e.limit, str(e), limits)
        except Trap as e:
            print_trap(args.program, e.kind, e.frames)
            return EXIT_TRAP
        except (WasmroutinesError, ValueError) as e:
            return _fail(str(e))
    if not 0 <= code < 126:
        return _fail(f"exit with invalid exit status outside of [0..126): {code}")
    return code


def _warn_options_after_program(args: argparse.Namespace) -> None:
    """Everything after PROGRAM is the program's (as wasmtime has it), so `explore prog.wasm --runs 50` gives
    --runs to the program: say so, once, for the first such argument."""
    own = set(getattr(args, "own_options", ()))
    for arg in getattr(args, "args", None) or ():
        name = arg.split("=", 1)[0]
        if name in own and name not in ("-h", "--help"):
            sys.stderr.write(
                f"wasmroutines: warning: {name} comes after the program, so it goes to the program; "
                f"put {args.command}'s options before PROGRAM\n"
            )
            return


def _fail(message: str) -> int:
    sys.stderr.write(f"Error: {message}\n")
    sys.stderr.flush()
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `wasmroutines` console script and `python -m wasmroutines`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if argv and not argv[0].startswith("-") and argv[0] not in ("run", "explore"):
        argv.insert(0, "run")  # `wasmroutines prog.wasm` runs it, as `wasmtime prog.wasm` does
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    _warn_options_after_program(args)
    try:
        if args.command == "explore":
            return explore_command(args, parser)
        return run(args, parser)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever reads our stdout went away (`| head`): stop quietly, as `cat` would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
