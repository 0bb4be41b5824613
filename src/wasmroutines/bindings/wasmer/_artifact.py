"""The format of `Module.serialize()`: ours, self-describing, checked on the way back in.

    magic      b"\\x00wasmroutines-module" (20 bytes)
    version    u32   FORMAT_VERSION
    name       u32 length + 1 (0: no name), then that many UTF-8 bytes
    wasm       u64 length, then the module's binary
    checksum   u32   CRC-32 of everything before it

All integers little endian. Wasmroutines keeps no compiled code worth
storing (translation is fast), so the artifact is the binary plus what
`Module` adds to it (a name set from Python); deserializing validates the
binary again, so a tampered artifact fails like any bad module.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .errors import IncompatibleBinary

__all__ = ["FORMAT_VERSION", "MAGIC", "Artifact", "dump", "load"]

MAGIC = b"\x00wasmroutines-module"
FORMAT_VERSION = 1
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


@dataclass(frozen=True)
class Artifact:
    wasm: bytes
    name: str | None


def dump(artifact: Artifact) -> bytes:
    """Serialize an artifact.

    >>> from wasmroutines.bindings.wasmer._artifact import Artifact, dump, load
    >>> load(dump(Artifact(b"\\x00asm\\x01\\x00\\x00\\x00", "m")))
    Artifact(wasm=b'\\x00asm\\x01\\x00\\x00\\x00', name='m')
    """
    parts = [MAGIC, _U32.pack(FORMAT_VERSION)]
    if artifact.name is None:
        parts.append(_U32.pack(0))
    else:
        name = artifact.name.encode("utf-8", errors="surrogateescape")
        parts += [_U32.pack(len(name) + 1), name]
    parts += [_U64.pack(len(artifact.wasm)), artifact.wasm]
    body = b"".join(parts)
    return body + _U32.pack(zlib.crc32(body))


def load(data: bytes) -> Artifact:
    """Read back what `dump` wrote; anything else raises IncompatibleBinary.

    >>> from wasmroutines.bindings.wasmer._artifact import load
    >>> try:
    ...     load(b"garbage")
    ... except RuntimeError as e:
    ...     print(e)
    incompatible binary: The provided bytes are not wasmer-universal
    """
    if not data.startswith(MAGIC):
        raise IncompatibleBinary("The provided bytes are not wasmer-universal")
    pos = len(MAGIC)
    try:
        (version,) = _U32.unpack_from(data, pos)
        if version != FORMAT_VERSION:
            raise IncompatibleBinary(
                f"serialized by Wasmroutines format version {version}; this one reads version {FORMAT_VERSION}"
            )
        (checksum,) = _U32.unpack_from(data, len(data) - 4)
        if zlib.crc32(data[:-4]) != checksum:
            raise IncompatibleBinary("the serialized module is corrupt (checksum mismatch)")
        pos += 4
        (name_len,) = _U32.unpack_from(data, pos)
        pos += 4
        name = None
        if name_len:
            name = data[pos : pos + name_len - 1].decode("utf-8", errors="surrogateescape")
            pos += name_len - 1
        (wasm_len,) = _U64.unpack_from(data, pos)
        pos += 8
        wasm = bytes(data[pos : pos + wasm_len])
        pos += wasm_len
    except struct.error:
        raise IncompatibleBinary("the serialized module is truncated") from None
    if pos != len(data) - 4 or len(wasm) != wasm_len:
        raise IncompatibleBinary("the serialized module is corrupt (bad lengths)")
    return Artifact(wasm, name)
