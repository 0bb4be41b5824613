"""Standard streams: the process's own fds by default, or Python objects to capture or feed them.

`stdin` may be bytes (the whole input) or a binary stream with `read`;
`stdout`/`stderr` may be a bytearray (appended to) or a binary stream with
`write` (io.BytesIO, a file opened "wb", sys.stdout.buffer). An int is a
host fd used as is (not closed by the guest). None inherits fd 0, 1 or 2.

A Python object is called directly, never through the Waiter (runtime.py):
it must not block. Input that may have to be waited for (a pipe, a socket, a
terminal) should be given as a host fd, so a blocked read parks only the
calling green thread.
"""

from __future__ import annotations

import io
from typing import Any, Protocol, TypeAlias

__all__ = ["PyStream", "StdioSpec", "make_stream"]


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class _Writable(Protocol):
    def write(self, data: bytes, /) -> Any: ...


#: What WasiConfig accepts for one standard stream.
StdioSpec: TypeAlias = None | int | bytes | bytearray | _Readable | _Writable


class PyStream:
    """A standard stream backed by a Python object instead of a host fd (one direction only)."""

    def __init__(self, obj: Any, *, for_input: bool) -> None:
        self.obj = obj
        # A stream is one direction only: stdin from io.BytesIO must not take the guest's writes.
        self.readable = for_input
        self.writable = not for_input

    def read_into(self, bufs: list[memoryview]) -> int:
        total = 0
        for buf in bufs:
            want = len(buf)
            if want == 0:
                continue
            data = self.obj.read(want)
            if not data:
                break
            n = len(data)
            buf[:n] = data
            total += n
            if n < want:
                break
        return total

    def write_from(self, bufs: list[memoryview]) -> int:
        data = b"".join(bufs)
        if isinstance(self.obj, bytearray):
            self.obj += data
        else:
            self.obj.write(data)
            flush = getattr(self.obj, "flush", None)
            if flush is not None:
                flush()
        return len(data)

    def available(self) -> int:
        """Bytes a read would return now (for poll_oneoff's nbytes), when known."""
        obj = self.obj
        if isinstance(obj, io.BytesIO):
            return len(obj.getbuffer()) - obj.tell()
        return 0


def make_stream(spec: StdioSpec, *, for_input: bool) -> PyStream | int | None:
    """A PyStream for a Python object, the int for a host fd, None for inherit."""
    if spec is None or isinstance(spec, int):
        return spec
    if for_input:
        if isinstance(spec, (bytes, bytearray, memoryview)):
            return PyStream(io.BytesIO(bytes(spec)), for_input=True)
        if not hasattr(spec, "read"):
            raise TypeError("stdin must be bytes, a binary stream with read(), a host fd or None")
        return PyStream(spec, for_input=True)
    if isinstance(spec, bytearray) or hasattr(spec, "write"):
        return PyStream(spec, for_input=False)
    raise TypeError("stdout/stderr must be a bytearray, a binary stream with write(), a host fd or None")
