"""Exploring on a Dask cluster: `--dask ADDRESS` as a concurrent.futures.Executor (the optional extra `cluster`).

    pip install 'wasmroutines[cluster]'
    wasmroutines explore --dask local:4 --runs 10000 prog.wasm                  # a LocalCluster: 4 processes
    wasmroutines explore --dask tcp://scheduler:8786 --runs 1000000 prog.wasm   # a cluster already running

    with dask_executor("local:2") as executor:                                   # the same from Python
        result = explore_program(Program.load("prog.wasm"), runs=10000, executor=executor)

The explorer needs nothing of Dask but an Executor (distribute.py); this module only makes one from an address.
Workers need wasmroutines installed (the version of the client: a task carries the explorer's target, pickled),
nothing else: the program travels with its tasks, as its binary. Give workers one thread each
(`dask worker --nthreads 1 --nworkers N`): a run holds the GIL, so more threads per process add no speed, and a
process that dies takes only its own run with it, which is how a crashing run is told from its neighbours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

__all__ = ["ClusterUnavailable", "dask_executor", "parse_address"]

#: How long to try to reach a remote scheduler, and then to wait for it to have a worker, before giving up (seconds).
CONNECT_TIMEOUT = 10.0
WORKER_TIMEOUT = 60.0
#: A LocalCluster's scheduler gives up on a task after its processes died this many times plus one; the explorer
#: then runs each of the task's runs alone (distribute.py). Dask's default (3) costs more restarts per crash.
LOCAL_ALLOWED_FAILURES = 1


class ClusterUnavailable(RuntimeError):
    """Dask is not installed, the address is wrong, or the cluster cannot run wasmroutines."""


def parse_address(text: str) -> tuple[str, int | None]:
    """`local:N` -> ("local", N); anything else is a scheduler address (tcp://HOST:PORT, tls://..., HOST:PORT)."""
    kind, sep, count = text.partition(":")
    if kind != "local":
        return text, None
    if not sep or not count.isdigit() or int(count) < 1:
        raise ValueError(f"--dask {text}: expected local:N with N at least 1 (worker processes)")
    return "local", int(count)


@contextmanager
def dask_executor(address: str) -> Iterator[Executor]:
    """An Executor on the Dask cluster at `address`, or on a LocalCluster of N processes for `local:N`
    (one thread each); the client (and a LocalCluster) close on leaving the block."""
    where, workers = parse_address(address)
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise ClusterUnavailable(
            f"--dask needs Dask's distributed package: pip install 'wasmroutines[cluster]' ({e})"
        ) from None
    cluster: Any = None
    client: Any = None
    try:
        if workers is not None:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                # Its HTTP endpoints (health, metrics) on any free port: two clusters at once must not clash on 8787.
                scheduler_kwargs={"allowed_failures": LOCAL_ALLOWED_FAILURES, "dashboard_address": ":0"},
            )
            client = Client(cluster)
        else:
            try:
                client = Client(where, timeout=CONNECT_TIMEOUT)
                client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
            except (OSError, TimeoutError) as e:
                raise ClusterUnavailable(f"--dask {address}: no scheduler with a worker there ({e})") from None
        _check_workers(client, address)
        # pure=False: every task is new (a batch sent again after a lost worker must not be deduplicated).
        yield client.get_executor(pure=False)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _installed() -> str:
    import wasmroutines

    return getattr(wasmroutines, "__version__", "unknown")


def _check_workers(client: Any, address: str) -> None:
    """Every worker imports wasmroutines: a worker without it would fail each task with an unpickling error."""
    try:
        versions = client.run(_installed)
    except Exception as e:
        raise ClusterUnavailable(f"--dask {address}: the workers cannot import wasmroutines ({e})") from None
    mine = _installed()
    other = {worker: v for worker, v in versions.items() if v != mine}
    if other:
        worker, version = next(iter(other.items()))
        raise ClusterUnavailable(
            f"--dask {address}: worker {worker} has wasmroutines {version}, this client {mine}: install the same"
        )
