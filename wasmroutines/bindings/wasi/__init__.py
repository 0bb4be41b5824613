"""WASI preview1 for Wasmroutines: `wasi_snapshot_preview1` and snapshot 0's `wasi_unstable`.

    from wasmroutines.bindings.wasi import WasiConfig, WasiEnvironment
    config = WasiConfig(args=["prog"], env={"K": "V"}).preopen_dir("data", "/data")
    with WasiEnvironment(config) as wasi:
        instance = Instance(store, module, wasi.imports(store, module))
        code = wasi.start(instance)   # binds the exported memory, runs _start

Behaviour worth knowing:
- Errors reach the guest as errno values, never as Python exceptions; only
  proc_exit crosses the guest, as WasiExit (a RuntimeError, like wasmer's).
- Sandbox (sandbox.py): a path is resolved component by component beneath
  its directory fd; `..` above it, absolute paths and symlinks leading out
  give ENOTCAPABLE; the guest cannot create absolute symlinks.
- Rights (preview1's capabilities) are kept and enforced; path_open drops
  requested rights the directory does not hand down instead of failing.
- fds: 0-2 stdio, then preopened directories, then preopened sockets
  (sockets after directories, unlike wasmtime, because wasi-libc stops its
  preopen scan at the first fd that is not a directory).
- Blocking waits (fd_read on pipes/terminals/sockets, sock_accept,
  poll_oneoff) go through one hook, the Waiter (runtime.py), which the green
  thread scheduler replaces; the default blocks the OS thread.
- Hooks for reproducible runs: `WasiConfig.clock` (realtime and CPU clocks),
  `WasiConfig.random` (random_get), the Waiter's monotonic clock.
- proc_raise returns ENOSYS. Sockets: only preopened listeners and what they
  accept (sock_recv/sock_send need our socket objects; an inherited socket on
  stdio reads and writes through fd_read/fd_write only).
- Snapshot 0 differences handled: whence numbering, filestat layout,
  subscription layout (snapshot0.py); it has no sock_accept.

Modules, one concept each:
  environment.py  WasiConfig, WasiEnvironment: the imports of an Instance, binding to its memory
  state.py        per-guest state (args, environ, fd table, memory, hooks)
  fdtable.py      fd entries with rights and flags
  sandbox.py      path resolution confined to a preopened directory
  fd.py, readdir.py, path.py   fd_* and path_* calls
  clock.py, proc.py, poll.py, sock.py   clocks; args/env/exit/random; poll_oneoff; sockets
  snapshot0.py    wasi_unstable's differing layouts
  runtime.py      the Waiter hook every blocking wait goes through (a scheduler replaces it)
  registry.py     the call table and the errno-returning wrappers
  errno.py, errors.py, abi.py, guest.py, stdio.py, streams.py, filestat.py   the plumbing
"""

from __future__ import annotations

from .abi import FileType, Rights
from .environment import PREVIEW1_MODULE, SNAPSHOT0_MODULE, Preopen, WasiConfig, WasiEnvironment
from .errno import Errno
from .errors import WasiExit, WasiUsageError
from .runtime import OsWaiter, Waiter

__all__ = [
    "PREVIEW1_MODULE",
    "SNAPSHOT0_MODULE",
    "Errno",
    "FileType",
    "OsWaiter",
    "Preopen",
    "Rights",
    "WasiConfig",
    "WasiEnvironment",
    "WasiExit",
    "WasiUsageError",
    "Waiter",
]
