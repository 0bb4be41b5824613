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
- `WasiConfig.virtual_root` (the wasmer face sets it; the CLI does not):
  fd 3 is wasmer's read-only "/" holding the preopens named by one
  component; `..` above one of them leads to "/", and "/.." is "/" (vroot.py).
- Rights (preview1's capabilities) are kept and enforced; path_open drops
  requested rights the directory does not hand down instead of failing.
- fds: 0-2 stdio, then preopened directories, then preopened sockets
  (sockets after directories, unlike wasmtime, because wasi-libc stops its
  preopen scan at the first fd that is not a directory).
- Blocking waits (fd_read/fd_write on pipes/terminals/sockets, sock_accept,
  sock_recv, poll_oneoff, sched_yield) go through one hook, the Waiter
  (runtime.py). The default, SchedulerWaiter (green.py), parks only the
  calling green thread when a scheduler runs it (the others keep running;
  the OS is waited on only when none can) and blocks the OS thread when
  WASI is called outside wasm and green threads.
- Hooks for reproducible runs: `WasiConfig.clock` (realtime and CPU clocks),
  `WasiConfig.random` (random_get), the Waiter's clocks: under a scheduler
  the monotonic and realtime clocks are the scheduler's (a VirtualClock);
  `WasiConfig.deterministic` makes file metadata (inode numbers, times,
  directory sizes), clock resolutions, poll readiness and pipe read sizes
  virtual (hostview.py).
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
  vroot.py        the virtual root: wasmer's read-only "/" holding the mapped directories
  fd.py, readdir.py, path.py   fd_* and path_* calls
  clock.py, proc.py, poll.py, sock.py   clocks; args/env/exit/random; poll_oneoff; sockets
  snapshot0.py    wasi_unstable's differing layouts
  hostview.py     what the guest sees of host metadata and timing: the host's own, or virtual
  runtime.py      the Waiter hook every blocking wait goes through; OsWaiter blocks the OS thread
  green.py        SchedulerWaiter, the default: waits through the running green-thread scheduler
  registry.py     the call table and the errno-returning wrappers
  errno.py, errors.py, abi.py, guest.py, stdio.py, streams.py, filestat.py   the plumbing
"""

from __future__ import annotations

from .abi import FileType, Rights
from .environment import PREVIEW1_MODULE, SNAPSHOT0_MODULE, Preopen, WasiConfig, WasiEnvironment
from .errno import Errno
from .errors import WasiExit, WasiUsageError
from .green import SchedulerWaiter
from .runtime import OsWaiter, Waiter

__all__ = [
    "PREVIEW1_MODULE",
    "SNAPSHOT0_MODULE",
    "Errno",
    "FileType",
    "OsWaiter",
    "Preopen",
    "Rights",
    "SchedulerWaiter",
    "WasiConfig",
    "WasiEnvironment",
    "WasiExit",
    "WasiUsageError",
    "Waiter",
]
