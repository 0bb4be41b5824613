"""A tiny binary-module builder for tests that need modules too big or too odd for the text format
(100,000 nested blocks, millions of locals, out-of-range segment offsets).

Only what the tests use: sections in order, LEB128, function types, plain code bodies.
"""

from __future__ import annotations

from collections.abc import Sequence

I32, I64, F32, F64, FUNCREF, EXTERNREF = 0x7F, 0x7E, 0x7D, 0x7C, 0x70, 0x6F
VOID = 0x40  # the empty block type
HEADER = b"\x00asm\x01\x00\x00\x00"


def u(n: int) -> bytes:
    """Unsigned LEB128."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def s(n: int) -> bytes:
    """Signed LEB128."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def vec(items: Sequence[bytes]) -> bytes:
    return u(len(items)) + b"".join(items)


def name(text: str) -> bytes:
    raw = text.encode()
    return u(len(raw)) + raw


def section(sid: int, body: bytes) -> bytes:
    return bytes([sid]) + u(len(body)) + body


def functype(params: Sequence[int] = (), results: Sequence[int] = ()) -> bytes:
    return b"\x60" + vec([bytes([p]) for p in params]) + vec([bytes([r]) for r in results])


def limits(minimum: int, maximum: int | None = None) -> bytes:
    return b"\x00" + u(minimum) if maximum is None else b"\x01" + u(minimum) + u(maximum)


def table(minimum: int, maximum: int | None = None, elemtype: int = FUNCREF) -> bytes:
    return bytes([elemtype]) + limits(minimum, maximum)


def code(body: bytes, local_runs: Sequence[tuple[int, int]] = ()) -> bytes:
    """A code entry: local declarations as (count, type) runs, then the body (ending in `end`)."""
    entry = vec([u(n) + bytes([t]) for n, t in local_runs]) + body
    return u(len(entry)) + entry


def i32_const(v: int) -> bytes:
    return b"\x41" + s(v)


def import_func(module_name: str, field: str, typeidx: int) -> bytes:
    return name(module_name) + name(field) + b"\x00" + u(typeidx)


def export(export_name: str, kind: int, index: int) -> bytes:
    return name(export_name) + bytes([kind]) + u(index)


def active_data(offset: int, payload: bytes) -> bytes:
    return b"\x00" + i32_const(offset) + b"\x0b" + u(len(payload)) + payload


def active_elem(offset: int, funcs: Sequence[int]) -> bytes:
    return b"\x00" + i32_const(offset) + b"\x0b" + vec([u(f) for f in funcs])


def module(
    *,
    types: Sequence[bytes] = (),
    imports: Sequence[bytes] = (),
    funcs: Sequence[int] = (),
    tables: Sequence[bytes] = (),
    mems: Sequence[bytes] = (),
    globals_: Sequence[bytes] = (),
    exports: Sequence[bytes] = (),
    start: int | None = None,
    elems: Sequence[bytes] = (),
    codes: Sequence[bytes] = (),
    datas: Sequence[bytes] = (),
) -> bytes:
    out = HEADER
    for sid, items in (
        (1, types),
        (2, imports),
        (3, [u(f) for f in funcs]),
        (4, tables),
        (5, mems),
        (6, globals_),
        (7, exports),
    ):
        if items:
            out += section(sid, vec(list(items)))
    if start is not None:
        out += section(8, u(start))
    for sid, items in ((9, elems), (10, codes), (11, datas)):
        if items:
            out += section(sid, vec(list(items)))
    return out


def func_module(
    body: bytes,
    params: Sequence[int] = (),
    results: Sequence[int] = (),
    local_runs: Sequence[tuple[int, int]] = (),
    **sections: Sequence[bytes],
) -> bytes:
    """One function, exported as "f", of type params -> results; `body` ends with `end` (0x0b)."""
    return module(
        types=[functype(params, results)],
        funcs=[0],
        exports=[export("f", 0, 0)],
        codes=[code(body, local_runs)],
        **sections,  # type: ignore[arg-type]
    )
