"""WasiGuest: a wasm guest with a WASI environment in a store of its own, for the WASI tests (tests/wasi/).

`x` is its exports; `base(i)` thread i's scratch area (`area` bytes each from 4096); with `listen`, a TCP listener
on a free loopback port is its fd 3 and `connect()` makes a client connection that the guest accepts through its
export `accept(fd, base)` (the new fd, or -errno).
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from wasmroutines import Instance, Module, Store
from wasmroutines.bindings.wasi import WasiConfig, WasiEnvironment

#: sock_accept(fd, base): the new fd (stored at base), or -errno. Needs the import `$accept`.
WAT_ACCEPT = """
  (func (export "accept") (param $fd i32) (param $base i32) (result i32)
    (local $err i32)
    (local.set $err (call $accept (local.get $fd) (i32.const 0) (local.get $base)))
    (if (result i32) (local.get $err)
      (then (i32.sub (i32.const 0) (local.get $err)))
      (else (i32.load (local.get $base)))))
"""


def wat_read_write(data: int) -> str:
    """Exports read(fd, base, len) and write(fd, base, len): fd_read into, or fd_write from, base+`data` (the iovec
    at base, the count at base+8): the count, or -errno. Needs the imports `$fd_read` and `$fd_write`."""
    return "".join(
        f"""
  (func (export "{name}") (param $fd i32) (param $base i32) (param $len i32) (result i32)
    (local $err i32)
    (i32.store (local.get $base) (i32.add (local.get $base) (i32.const {data})))
    (i32.store offset=4 (local.get $base) (local.get $len))
    (local.set $err (call ${call} (local.get $fd) (local.get $base) (i32.const 1)
                                  (i32.add (local.get $base) (i32.const 8))))
    (if (result i32) (local.get $err)
      (then (i32.sub (i32.const 0) (local.get $err)))
      (else (i32.load offset=8 (local.get $base)))))
"""
        for name, call in (("read", "fd_read"), ("write", "fd_write"))
    )


class WasiGuest:
    def __init__(
        self,
        module: Module,
        config: WasiConfig | None = None,
        *,
        listen: bool = False,
        area: int = 256,
        **store_kwargs: Any,
    ) -> None:
        config = config if config is not None else WasiConfig()
        if listen:
            config = config.listen_tcp("127.0.0.1", 0)
            self.port = config.listeners[0].getsockname()[1]
        self.area = area
        self.store = Store(**store_kwargs)
        self.wasi = WasiEnvironment(config)
        self.instance = Instance(self.store, module, self.wasi.imports(self.store, module))
        self.wasi.bind(self.instance)
        self.x: Any = self.instance.exports

    def base(self, i: int) -> int:
        return 4096 + self.area * i

    def connect(self) -> tuple[socket.socket, int]:
        """A client connection to the listener, and the guest's fd for it (accepted on thread 0's area)."""
        client = socket.create_connection(("127.0.0.1", self.port))
        fd = self.x.accept(3, self.base(0))
        assert fd > 3, f"accept: errno {-fd}"
        return client, fd

    def u32(self, addr: int) -> int:
        return int(struct.unpack("<I", self.x.memory.read(addr, 4))[0])

    def bytes(self, addr: int, n: int) -> bytes:
        return bytes(self.x.memory.read(addr, n))

    def close(self) -> None:
        self.store.scheduler.close()
        self.wasi.close()
