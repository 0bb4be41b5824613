"""The runtimes measured side by side."""

from __future__ import annotations

from .base import Command, CommandResult, HostFunc, HostImports, Loaded, Peer, PeerUnavailable, unsigned
from .pywasm_peer import PywasmPeer
from .wasm3_peer import Wasm3Peer
from .wasmroutines_peer import WasmroutinesPeer
from .wasmtime_peer import WasmtimePeer

#: in table order: Wasmroutines, the interpreter it is measured against, the JIT ceiling, the pure-Python floor
PEERS: tuple[Peer, ...] = (WasmroutinesPeer(), Wasm3Peer(), WasmtimePeer(), PywasmPeer())
PEER_NAMES: tuple[str, ...] = tuple(p.name for p in PEERS)
#: the runtime under measurement: its failures fail the report (the others' only leave cells empty)
SUBJECT = PEERS[0].name


def peer(name: str) -> Peer:
    for p in PEERS:
        if p.name == name:
            return p
    raise KeyError(name)


__all__ = [
    "PEERS",
    "PEER_NAMES",
    "SUBJECT",
    "Command",
    "CommandResult",
    "HostFunc",
    "HostImports",
    "Loaded",
    "Peer",
    "PeerUnavailable",
    "peer",
    "unsigned",
]
