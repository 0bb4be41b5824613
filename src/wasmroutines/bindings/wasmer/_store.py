"""`Store`: owner of every runtime object, over a core Store, with the engine it was made with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.store import Store as CoreStore
from ._compilers import CraneliftCompiler
from .engine import Dylib, Universal

if TYPE_CHECKING:
    from ...core.clock import Clock
    from ...core.policy import Policy
    from ...core.scheduler import Scheduler

__all__ = ["Store"]


class Store:
    """Owns functions, memories, globals, tables and instances. `Store(engine=None, *, policy=None, clock=None,
    **limits)`.

    The engine is accepted and reported, never needed: without one, a Store
    reports wasmer's default (Universal with Cranelift). Anything but an
    engine is a TypeError.

    Our extension (wasmer had no threads): the store's wasm threads are green
    threads, and the keywords choose how they are scheduled. `policy` picks
    which runnable thread runs next and for how long (`threads.FairPolicy()`,
    the default, or `threads.SeededPolicy(seed)` for a reproducible
    schedule); `clock` says what time it is for sleeps and timeouts
    (`threads.MonotonicClock()`, the default, or `threads.VirtualClock()`; a
    seeded policy without a clock gets virtual time, as `run --seed` does).
    See `wasmroutines.wasmer.threads`. `limits` are the core Store's keywords
    (`max_memory_pages`, `max_table_elements`, `max_call_depth`,
    `max_module_size`, `max_threads`, `fuel`, `max_wall_time`, `stack_slots`,
    `max_stack_bytes`: see `wasmroutines.Store`); each error over one names
    it in `.limit`.

    >>> from wasmroutines.wasmer import Store, engine
    >>> store = Store()
    >>> store.engine_name, store.compiler_name
    ('universal', 'cranelift')
    >>> Store(engine.Universal()).compiler_name is None
    True
    >>> Store(42)
    Traceback (most recent call last):
    ...
    TypeError: Unknown engine
    >>> from wasmroutines.wasmer import threads
    >>> Store(policy=threads.SeededPolicy(7), clock=threads.VirtualClock()).policy
    SeededPolicy(7, ...)
    >>> Store(max_threads=4).scheduler.max_threads
    4
    """

    __slots__ = ("__weakref__", "_core", "_engine")

    def __init__(
        self,
        engine: Universal | Dylib | None = None,
        *,
        policy: Policy | None = None,
        clock: Clock | None = None,
        **limits: Any,
    ) -> None:
        if engine is None:
            engine = Universal(CraneliftCompiler)
        elif not isinstance(engine, (Universal, Dylib)):
            raise TypeError("Unknown engine")
        self._engine = engine
        self._core = CoreStore(policy=policy, clock=clock, **limits)

    @property
    def engine_name(self) -> str:
        """`'universal'` or `'dylib'`.

        >>> from wasmroutines.wasmer import Store
        >>> Store().engine_name
        'universal'
        """
        return self._engine.name

    @property
    def compiler_name(self) -> str | None:
        """`'cranelift'`, `'llvm'`, `'singlepass'` or None (a headless engine).

        >>> from wasmroutines.wasmer import Store
        >>> Store().compiler_name
        'cranelift'
        """
        return self._engine.compiler_name

    @property
    def engine(self) -> Universal | Dylib:
        """The engine the store was made with (an addition to wasmer's API).

        >>> from wasmroutines.wasmer import Store
        >>> Store().engine
        <Universal engine, compiler cranelift>
        """
        return self._engine

    @property
    def scheduler(self) -> Scheduler:
        """The scheduler of the store's green threads (an addition to wasmer's API; see `wasmer.threads`).

        >>> from wasmroutines.wasmer import Store
        >>> [t.name for t in Store().scheduler.threads]
        ['main']
        """
        return self._core.scheduler

    @property
    def policy(self) -> Policy:
        """How the store's green threads are scheduled (an addition to wasmer's API); settable.

        Setting it moves the runnable threads to the new policy, in the order the old one gives them.

        >>> from wasmroutines.wasmer import Store, threads
        >>> store = Store()
        >>> store.policy
        FairPolicy(slice=...)
        >>> store.policy = threads.SeededPolicy(42)
        >>> store.policy
        SeededPolicy(42, ...)
        """
        return self._core.scheduler.policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        self._core.set_policy(policy)

    @property
    def clock(self) -> Clock:
        """The clock of the store's sleeps and timeouts (an addition to wasmer's API).

        >>> from wasmroutines.wasmer import Store
        >>> Store().clock
        MonotonicClock()
        """
        return self._core.scheduler.clock

    def __repr__(self) -> str:
        return f"<Store {self.engine_name}/{self.compiler_name}>"


def check_store(store: Any) -> Store:
    """`store` if it is a Store, else wasmer's TypeError."""
    if not isinstance(store, Store):
        raise TypeError(f"argument 'store': '{type(store).__name__}' object cannot be converted to 'Store'")
    return store
