"""Run a coroutine on each asyncio loop the asyncio tests cover: the standard one and uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

_T = TypeVar("_T")

LOOPS = ["asyncio", pytest.param("uvloop", marks=pytest.mark.needs_extra(module="uvloop", extra="test"))]


def runner(kind: str) -> Callable[[Coroutine[Any, Any, _T]], _T]:
    """`asyncio.run` on a fresh loop of `kind` ("asyncio" or "uvloop"), in debug mode (it checks more)."""
    if kind == "uvloop":
        import uvloop  # noqa: PLC0415 - an optional extra, imported only when asked for

        def run_uv(coro: Coroutine[Any, Any, _T]) -> _T:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
                return r.run(coro)

        return run_uv

    def run(coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run(coro, debug=True)

    return run
