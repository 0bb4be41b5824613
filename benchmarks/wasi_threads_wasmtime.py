"""A wasi-threads command program on wasmtime-py, which has no wasi-threads of its own:

    python -m benchmarks.wasi_threads_wasmtime PROGRAM.wasm [ARGS...]

The harness supplies `wasi.thread-spawn` the way wasmtime's own wasi-threads does: one pre-linked module
(`InstancePre`), and per spawned thread an OS thread (`threading.Thread`) with its own Store, WASI context and
instance, all importing the one SharedMemory, running `wasi_thread_start(tid, arg)`. stdout and stderr are the
process's own; the exit status is the program's. A trap in any thread ends the process with status 1 (as in
wasmtime's CLI). Every spawned OS thread is joined before the process exits, so its end is in the process's CPU
time."""

from __future__ import annotations

import itertools
import os
import sys
import threading
from typing import Any

from .threads_wasm import linkable_shared_memory

#: wasi-threads' thread ids: 1..0x1FFFFFFF
MAX_TID = 0x1FFF_FFFF


def run(path: str, args: list[str]) -> int:
    import wasmtime

    config = wasmtime.Config()
    config.wasm_threads = True
    config.shared_memory = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, path)
    memories = [i for i in module.imports if isinstance(i.type, wasmtime.MemoryType)]
    if len(memories) != 1 or not memories[0].type.is_shared:
        raise SystemExit(f"{path}: a wasi-threads program imports one shared memory")
    limits = memories[0].type.limits
    memory = linkable_shared_memory(wasmtime, engine, limits.min, limits.max)

    def new_store() -> Any:
        store = wasmtime.Store(engine)
        wasi = wasmtime.WasiConfig()
        wasi.argv = [path, *args]
        wasi.inherit_stdout()
        wasi.inherit_stderr()
        store.set_wasi(wasi)
        return store

    threads: list[threading.Thread] = []
    tids = itertools.count(1)

    def thread_body(tid: int, arg: int) -> None:
        try:
            store = new_store()
            pre.instantiate(store).exports(store)["wasi_thread_start"](store, tid, arg)
        except wasmtime.ExitTrap as exit_:
            sys.stdout.flush()
            os._exit(exit_.code)  # proc_exit in a thread ends the program
        except BaseException as exc:
            print(f"thread {tid}: {exc}", file=sys.stderr, flush=True)
            os._exit(1)

    def thread_spawn(arg: int) -> int:
        tid = next(tids)
        if tid > MAX_TID:
            return -6  # -EAGAIN, as wasmtime answers
        thread = threading.Thread(target=thread_body, args=(tid, arg), daemon=True)
        threads.append(thread)
        thread.start()
        return tid

    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    main_store = new_store()
    linker.define(main_store, memories[0].module, memories[0].name, memory)
    i32 = wasmtime.ValType.i32()
    linker.define_func("wasi", "thread-spawn", wasmtime.FuncType([i32], [i32]), thread_spawn)
    pre = linker.instantiate_pre(module)
    try:
        pre.instantiate(main_store).exports(main_store)["_start"](main_store)
        code = 0
    except wasmtime.ExitTrap as exit_:
        code = exit_.code
    for thread in threads:
        thread.join()
    return code


def main(argv: list[str]) -> int:
    if not argv:
        raise SystemExit(__doc__)
    code = run(argv[0], argv[1:])
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
