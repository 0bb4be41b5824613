"""Run one spec-test JSON script (wabt's layout, as `wasm-tools json-from-wast` writes it).

One Store per script. Every command is counted exactly once (one without an
outcome, a runner bug, fails): a `module` that fails to load is a failure, and
so is every later command that needs it. A module rejected as malformed where
the script expects invalid (or the reverse), or a link failure of another kind
than expected (unknown import, incompatible import type), fails; different
wording within the same class or kind is a note. The
threads proposal's `thread` commands run as green threads of the store (see
threads.py), `wait` joins them; with a seed the store schedules them with
SeededPolicy (and a VirtualClock), so each seed is one reproducible interleaving.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmroutines import (
    CompileError,
    Deadlock,
    Exports,
    Function,
    Global,
    Instance,
    InvalidModule,
    LinkError,
    MalformedModule,
    Module,
    SeededPolicy,
    Store,
    Trap,
    VirtualClock,
    WasmException,
    WatError,
    wat2wasm,
)
from wasmroutines.core.policy import EXPLORE_SLICES
from wasmroutines.core.types import Features
from wasmroutines.core.wat import find_wasm_tools

from .host import spectest_module
from .outcome import FAILED, PASSED, SKIPPED, FileResult, Outcome, one_per_command
from .threads import Entry, SpecThread, flatten, resolved
from .values import Refs, arg_slots, describe, describe_expected, matches

__all__ = ["CommandTimeout", "ScriptRunner", "flat_commands", "run_script", "script_name"]


#: The suites of WebAssembly 2.0 and its proposals (folders of ../shared/spectest); `wasm-3.0` is 3.0's.
WASM2_SUITES = ("core", "simd", "threads-proposal", "threads-litmus")


def suite_features(path: Path) -> Features:
    """What a script's modules may use: a 2.0 suite tests 2.0's rules (some of which 3.0 relaxed); the threads
    proposal's suite also predates reference types, so it validates as its reference interpreter does."""
    parts = path.parts
    if "wasm-3.0" in parts or not any(suite in parts for suite in WASM2_SUITES):
        return Features.ALL
    if "threads-proposal" in parts:
        return Features.WASM2 & ~Features.REFERENCE_TYPES
    return Features.WASM2


class CommandTimeout(Exception):
    """A command ran past the runner's --timeout."""


class Failure(Exception):
    """A command did not do what the script expects; the message says why."""


class Skip(Exception):
    """A command cannot run here (a missing tool); the message says why."""


@dataclass
class Loaded:
    """The result of a `module` (or `module_instance`) command: an instance, or why there is none."""

    line: int
    instance: Instance | None
    problem: str = ""
    skipped: bool = False


@dataclass
class Defined:
    """The result of a `module_definition` command (3.0): a module to instantiate later, or why there is none."""

    line: int
    module: Module | None
    problem: str = ""
    skipped: bool = False


class ScriptRunner:
    """Runs commands in one scope: the script's top level, or (a child runner) the body of a `thread`.

    Children share the store, the refs, the notes and the spectest module with
    the root; each has its own current module, named modules, registry, threads
    and command deadline.
    """

    def __init__(
        self, path: Path, *, timeout: float | None = None, seed: int | None = None, parent: ScriptRunner | None = None
    ) -> None:
        self.path = path
        self.dir = path.parent
        self.timeout = timeout
        if parent is None:
            self.store = (
                Store()
                if seed is None
                else Store(
                    policy=SeededPolicy(seed, min_slice=EXPLORE_SLICES[0], max_slice=EXPLORE_SLICES[1]),
                    clock=VirtualClock(),
                )
            )
            self.store.on_yield = self._check_deadline
            self.refs = Refs(self.store)
            self.notes: list[str] = []
            self.spectest = spectest_module(self.store)
            self.specs: dict[int, SpecThread] = {}  # every thread started, by green thread id
        else:
            self.store, self.refs, self.notes = parent.store, parent.refs, parent.notes
            self.spectest, self.specs = parent.spectest, parent.specs
        self.deadline: float | None = None
        self.current: Loaded | None = None
        self.named: dict[str, Loaded] = {}
        self.definitions: dict[str, Defined] = {}
        self.last_definition: Defined | None = None
        self.registered: dict[str, Exports | dict[str, Any]] = {"spectest": self.spectest}
        self.threads: dict[str, SpecThread] = {}
        self.features = suite_features(path)
        self.handlers: dict[str, Callable[[dict[str, Any]], str | None]] = {
            "module": self.module,
            "module_definition": self.module_definition,
            "module_instance": self.module_instance,
            "register": self.register,
            "action": self.action,
            "assert_return": self.assert_return,
            "assert_trap": self.assert_trap,
            "assert_exception": self.assert_exception,
            "assert_exhaustion": self.assert_trap,
            "assert_malformed": self.assert_malformed,
            "assert_invalid": self.assert_invalid,
            "assert_unlinkable": self.assert_unlinkable,
            "assert_uninstantiable": self.assert_uninstantiable,
            "wait": self.wait,
        }

    # ---- driving ----

    def run_command(self, cmd: dict[str, Any]) -> list[Entry]:
        """Run one command: its Outcome, or for `thread` the SpecThread standing for it and its nested commands."""
        kind = cmd["type"]
        line = int(cmd.get("line", 0))
        if kind == "thread":
            return [self.thread(cmd)]
        handler = self.handlers.get(kind)
        if handler is None:
            return [Outcome(line, kind, FAILED, f"unsupported: unknown command type {kind!r}")]
        self.deadline = None if self.timeout is None else time.monotonic() + self.timeout
        try:
            note = handler(cmd)
        except Skip as e:
            return [Outcome(line, kind, SKIPPED, str(e))]
        except Failure as e:
            return [Outcome(line, kind, FAILED, str(e))]
        except CommandTimeout as e:
            return [Outcome(line, kind, FAILED, str(e))]
        except Exception as e:  # a runner or runtime bug: count it, keep going
            return [Outcome(line, kind, FAILED, f"unexpected {type(e).__name__}: {e}")]
        finally:
            self.deadline = None
        if note:
            self.notes.append(f"line {line}: {note}")
        return [Outcome(line, kind, PASSED)]

    def _check_deadline(self) -> None:
        """The store's on_yield hook: the deadline of the command the yielding green thread is running."""
        spec = self.specs.get(self.store.scheduler.current.id)
        runner = self if spec is None else spec.runner
        if runner.deadline is not None and time.monotonic() > runner.deadline:
            raise CommandTimeout(f"timed out after {self.timeout} s")

    # ---- threads ----

    def thread(self, cmd: dict[str, Any]) -> SpecThread:
        """Start a `thread` command's body as a green thread, in a child scope; `wait` or `finish` joins it."""
        spec = SpecThread(cmd, ScriptRunner(self.path, timeout=self.timeout, parent=self))
        self.threads[spec.name] = spec
        for name in _shared_names(cmd):
            loaded = self.named.get(name)
            if loaded is None:
                spec.problem = f"no module {name!r} to share"
                return spec
            spec.runner.named[name] = loaded
        spec.green = self.store.scheduler.spawn(spec.run, name=spec.name)
        self.specs[spec.green.id] = spec
        return spec

    def wait(self, cmd: dict[str, Any]) -> None:
        spec = self.threads.get(cmd["thread"])
        if spec is None:
            raise Failure(f"no thread {cmd['thread']!r}")
        self._join(spec)

    def _join(self, spec: SpecThread) -> None:
        if spec.green is None:
            return
        try:
            self.store.scheduler.join(spec.green)
        except Deadlock as e:
            raise Failure(_first_line(str(e))) from None

    def finish(self) -> None:
        """Join the threads of this scope still running (the end of a script or of a thread's body)."""
        for spec in self.threads.values():
            if spec.green is not None and spec.green.alive:
                try:
                    self._join(spec)
                except Failure as e:
                    spec.problem = str(e)
                except CommandTimeout as e:
                    spec.problem = f"the script's end: {e}"

    def close(self) -> None:
        """Kill whatever thread is still alive (deadlocked): its unfinished commands count as failed."""
        sched = self.store.scheduler
        for gt in sched.alive:
            spec = self.specs.get(gt.id)
            if spec is not None and not spec.problem:
                on = f" on {gt.blocked_on}" if gt.blocked_on else ""
                spec.problem = f"still {gt.state.value}{on} when the script ended"
        sched.close()

    # ---- modules ----

    def _bytes(self, cmd: dict[str, Any]) -> bytes:
        """The binary of a command's module; Skip when it is text and no text parser is installed."""
        if cmd.get("module_type", "binary") == "binary" or "binary_filename" in cmd:
            filename: str = cmd.get("binary_filename", cmd["filename"])
            return (self.dir / filename).read_bytes()
        if find_wasm_tools() is None:
            raise Skip("text module and wasm-tools is not installed")
        try:
            return wat2wasm((self.dir / cmd["filename"]).read_bytes())
        except WatError as e:
            raise Failure(f"text module did not parse: {_first_line(str(e))}") from None

    def _instantiate(self, module: Module) -> Instance:
        return Instance(self.store, module, self.registered)

    def _loaded(self, name: str | None) -> Loaded:
        loaded = self.current if name is None else self.named.get(name)
        if loaded is None:
            raise Failure(f"no module {name!r}" if name else "no module defined")
        if loaded.instance is None:
            if loaded.skipped:
                raise Skip(f"module at line {loaded.line} was skipped: {loaded.problem}")
            raise Failure(f"module at line {loaded.line} failed: {loaded.problem}")
        return loaded

    def module(self, cmd: dict[str, Any]) -> None:
        loaded = Loaded(int(cmd["line"]), None)
        self.current = loaded
        if "name" in cmd:
            self.named[cmd["name"]] = loaded
        try:
            loaded.instance = self._instantiate(self._module(self._bytes(cmd)))
        except Skip as e:
            loaded.problem, loaded.skipped = str(e), True
            raise
        except Failure as e:
            loaded.problem = str(e)
            raise
        except CommandTimeout as e:
            loaded.problem = str(e)
            raise
        except Exception as e:
            loaded.problem = f"{type(e).__name__}: {_first_line(str(e))}"
            raise Failure(loaded.problem) from None

    def module_definition(self, cmd: dict[str, Any]) -> None:
        """`(module definition $M ...)`: load (decode and validate) a module without instantiating it."""
        defined = Defined(int(cmd["line"]), None)
        self.last_definition = defined
        if "name" in cmd:
            self.definitions[cmd["name"]] = defined
        try:
            defined.module = self._module(self._bytes(cmd))
        except Skip as e:
            defined.problem, defined.skipped = str(e), True
            raise
        except Failure as e:
            defined.problem = str(e)
            raise
        except Exception as e:
            defined.problem = f"{type(e).__name__}: {_first_line(str(e))}"
            raise Failure(defined.problem) from None

    def module_instance(self, cmd: dict[str, Any]) -> None:
        """`(module instance $I $M)`: instantiate a defined module (the last one without `$M`); the instance
        becomes the current module, named `$I` when given."""
        name = cmd.get("module")
        defined = self.last_definition if name is None else self.definitions.get(name)
        loaded = Loaded(int(cmd["line"]), None)
        self.current = loaded
        if "instance" in cmd:
            self.named[cmd["instance"]] = loaded
        if defined is None:
            loaded.problem = f"no module definition {name!r}" if name else "no module definition"
            raise Failure(loaded.problem)
        if defined.module is None:
            loaded.problem = f"module definition at line {defined.line} failed: {defined.problem}"
            loaded.skipped = defined.skipped
            raise Skip(loaded.problem) if defined.skipped else Failure(loaded.problem)
        try:
            loaded.instance = self._instantiate(defined.module)
        except CommandTimeout as e:
            loaded.problem = str(e)
            raise
        except Exception as e:
            loaded.problem = f"{type(e).__name__}: {_first_line(str(e))}"
            raise Failure(loaded.problem) from None

    def register(self, cmd: dict[str, Any]) -> None:
        loaded = self._loaded(cmd.get("name"))
        assert loaded.instance is not None
        self.registered[cmd["as"]] = loaded.instance.exports

    # ---- actions ----

    def _act(self, action: dict[str, Any]) -> list[list[int]]:
        """Run an action; its results as one slot list per result value."""
        loaded = self._loaded(action.get("module"))
        assert loaded.instance is not None
        field = action["field"]
        if field not in loaded.instance.exports:
            raise Failure(f"no export {field!r}")
        extern = loaded.instance.exports[field]
        if action["type"] == "get":
            if not isinstance(extern, Global):
                raise Failure(f"export {field!r} is not a global")
            bits = extern.bits
            return [bits if extern.type.type.slots == 2 else bits[:1]]
        if action["type"] != "invoke":
            raise Failure(f"unknown action type {action['type']!r}")
        if not isinstance(extern, Function):
            raise Failure(f"export {field!r} is not a function")
        args = [s for arg in action.get("args", []) for s in arg_slots(arg, self.refs)]
        slots = extern.call_bits(args)
        results = []
        i = 0
        for t in extern.type.results:
            results.append(slots[i : i + t.slots])
            i += t.slots
        return results

    def action(self, cmd: dict[str, Any]) -> None:
        try:
            self._act(cmd["action"])
        except Trap as e:
            raise Failure(f"trapped: {_first_line(str(e))}") from None

    def assert_return(self, cmd: dict[str, Any]) -> None:
        try:
            results = self._act(cmd["action"])
        except Trap as e:
            raise Failure(f"trapped: {_first_line(str(e))}") from None
        expected = cmd.get("expected", [])
        if len(results) != len(expected):
            raise Failure(f"expected {len(expected)} results, got {len(results)}")
        for i, (exp, got) in enumerate(zip(expected, results, strict=True)):
            if not matches(exp, got, self.refs):
                raise Failure(f"result {i}: expected {describe_expected(exp)}, got {describe(got, exp['type'])}")

    def assert_trap(self, cmd: dict[str, Any]) -> None:
        if "filename" in cmd:  # the older form of assert_uninstantiable
            return self.assert_uninstantiable(cmd)
        want = cmd["text"]
        try:
            results = self._act(cmd["action"])
        except Trap as e:
            if not _same_trap(e.kind, want):
                raise Failure(f"expected trap {want!r}, got {e.kind!r}") from None
            return None
        raise Failure(f"expected trap {want!r}, returned {len(results)} results")

    def assert_exception(self, cmd: dict[str, Any]) -> None:
        """The action must end in an uncaught wasm exception (3.0's exception handling): a WasmException, not a
        trap."""
        try:
            results = self._act(cmd["action"])
        except WasmException:
            return
        except Trap as e:
            raise Failure(f"expected an uncaught exception, trapped: {_first_line(str(e))}") from None
        raise Failure(f"expected an uncaught exception, returned {len(results)} results")

    def _module(self, wasm: bytes) -> Module:
        return Module(wasm, features=self.features)

    # ---- module assertions ----

    def _rejected(self, cmd: dict[str, Any], expected: type[CompileError]) -> str | None:
        want = cmd.get("text", "")
        try:
            self._module(self._bytes(cmd))
        except CompileError as e:
            # Malformed (the binary does not decode) and invalid (it does, but does not validate) are
            # the spec's two classes of rejection: the wrong one fails. Within a class implementations
            # word their errors differently: a different reason is a note.
            if not isinstance(e, expected):
                raise Failure(f"expected {expected.__name__} {want!r}, got {type(e).__name__}: {e}") from None
            if not e.reason.startswith(want):
                return f"expected {expected.__name__} {want!r}, got {e}"
            return None
        raise Failure(f"module loaded; expected {want!r}")

    def assert_malformed(self, cmd: dict[str, Any]) -> str | None:
        if cmd.get("module_type") == "text" and "binary_filename" not in cmd:
            if find_wasm_tools() is None:
                raise Skip("text module and wasm-tools is not installed")
            try:
                wasm = wat2wasm((self.dir / cmd["filename"]).read_bytes())
            except WatError:
                return None  # the text parser rejects it: malformed, as expected
            try:
                self._module(wasm)
            except MalformedModule:
                return None  # what a stricter text parser rejects, the binary's decoder must reject too
            except InvalidModule as e:
                raise Failure(f"expected MalformedModule {cmd.get('text')!r}, got InvalidModule: {e}") from None
            raise Failure(f"text module parsed and loaded; expected {cmd.get('text')!r}")
        return self._rejected(cmd, MalformedModule)

    def assert_invalid(self, cmd: dict[str, Any]) -> str | None:
        return self._rejected(cmd, InvalidModule)

    def _load_for_instantiation(self, cmd: dict[str, Any]) -> Module:
        try:
            return self._module(self._bytes(cmd))
        except CompileError as e:
            raise Failure(f"module did not load: {e}") from None

    def assert_unlinkable(self, cmd: dict[str, Any]) -> str | None:
        module = self._load_for_instantiation(cmd)
        want = cmd.get("text", "")
        try:
            self._instantiate(module)
        except LinkError as e:
            if _link_kind(str(e)) != _link_kind(want):
                raise Failure(f"expected link error {want!r}, got {e}") from None
            if not str(e).startswith(want):
                return f"expected link error {want!r}, got {e}"
            return None
        except Trap as e:
            raise Failure(f"expected link error {want!r}, trapped: {_first_line(str(e))}") from None
        raise Failure(f"module linked; expected {want!r}")

    def assert_uninstantiable(self, cmd: dict[str, Any]) -> None:
        module = self._load_for_instantiation(cmd)
        want = cmd.get("text", "")
        try:
            self._instantiate(module)
        except Trap as e:
            if not _same_trap(e.kind, want):
                raise Failure(f"expected trap {want!r}, got {e.kind!r}") from None
            return
        except LinkError as e:
            raise Failure(f"expected trap {want!r}, link error: {e}") from None
        raise Failure(f"module instantiated; expected trap {want!r}")


def _shared_names(cmd: dict[str, Any]) -> list[str]:
    shared = cmd.get("shared_module", [])
    return [shared] if isinstance(shared, str) else list(shared)


def _same_trap(kind: str, expected: str) -> bool:
    """Prefix match either way: the reference interpreter adds details ("uninitialized element 2")."""
    return kind.startswith(expected) or expected.startswith(kind)


#: The kinds of link failure the spec scripts expect, as their messages (and LinkError's) begin.
_LINK_KINDS = ("unknown import", "incompatible import type")


def _link_kind(message: str) -> str:
    """The kind of link failure a message names; a message of no known kind is its own kind."""
    return next((kind for kind in _LINK_KINDS if message.startswith(kind)), message)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text


def script_name(path: Path, data: dict[str, Any]) -> str:
    source = data.get("source_filename")
    if source:
        return str(Path(source).with_suffix(""))
    return path.stem


def flat_commands(path: str | Path) -> list[dict[str, Any]]:
    """Every command of a script as counted: `thread` commands with their nested ones."""
    data = json.loads(Path(path).read_text())
    return [c for cmd in data.get("commands", []) for c in flatten(cmd)]


def run_script(
    path: str | Path,
    *,
    timeout: float | None = None,
    only_line: int | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    seed: int | None = None,
) -> FileResult:
    """Run a JSON script; with `only_line`, run it up to that command and report that command only.

    `on_outcome` sees each counted outcome as soon as it is known (isolated
    runs stream them to the parent, so a crash loses nothing already run),
    in script order: a `thread` command's outcomes (its own and its nested
    commands') once the thread is done, holding back the commands after it.
    The result has one outcome per command (see one_per_command); the
    stream, which the isolating parent checks itself, is what ran.
    `seed` schedules the threads with SeededPolicy(seed) on the explorer's short slices.
    """
    path = Path(path)
    data = json.loads(path.read_text())
    commands: Sequence[dict[str, Any]] = data.get("commands", [])
    result = FileResult(script_name(path, data), str(path))
    if only_line is not None and not any(int(c.get("line", -1)) == only_line for c in commands):
        raise ValueError(f"{path}: no command at line {only_line}")
    runner = ScriptRunner(path, timeout=timeout, seed=seed)
    queue: deque[Entry] = deque()

    def report() -> None:
        while queue and (isinstance(queue[0], Outcome) or queue[0].finished):
            for o in resolved(queue.popleft()):
                result.outcomes.append(o)
                if on_outcome is not None:
                    on_outcome(o)

    try:
        for cmd in commands:
            entries = runner.run_command(cmd)
            if only_line is not None and int(cmd.get("line", -1)) != only_line:
                continue
            queue.extend(entries)
            report()
            if only_line is not None:
                break
        runner.finish()
    finally:
        runner.close()
    report()
    if only_line is None:  # a runner bug must not shrink the count: a command left without an outcome fails
        result.outcomes = one_per_command(result.outcomes, flat_commands(path), "the runner gave none")
    result.notes = runner.notes
    return result
