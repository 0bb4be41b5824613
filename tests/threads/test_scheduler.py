"""The scheduler: policies and their PRNG, reproducible interleavings, futex timeouts, clocks, switch costs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from idle_clock import RecordingVirtualClock
from switch_count import counting_switches

from wasmroutines import (
    FairPolicy,
    Instance,
    Module,
    MonotonicClock,
    SeededPolicy,
    Store,
    ThreadState,
    VirtualClock,
    join,
    spawn,
)
from wasmroutines.core._ffi import ffi, lib
from wasmroutines.core.policy import DEFAULT_SLICE, PCTPolicy, SplitMix64, Xoshiro256

# Workers append their id to a shared log (a counter at 0, entries from 16) between busy loops
# of varying length; `racy_inc` increments the word at 4 with loop back-edges (preemption
# points) between its load and its store, so a switch in between loses an update.
RACY = """
(module
  (memory (export "mem") 1 1 shared)
  (func $spin (param $k i32)
    (block $d (loop $b
      (br_if $d (i32.eqz (local.get $k)))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br $b))))
  (func (export "worker") (param $id i32) (param $n i32)
    (local $i i32) (local $idx i32)
    (loop $l
      (local.set $idx (i32.load (i32.const 0)))
      (i32.store (i32.add (i32.const 16) (i32.shl (local.get $idx) (i32.const 2))) (local.get $id))
      (i32.store (i32.const 0) (i32.add (local.get $idx) (i32.const 1)))
      (call $spin (i32.and (i32.mul (i32.add (local.get $i) (local.get $id)) (i32.const 7)) (i32.const 15)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func (export "racy_inc") (param $n i32)
    (local $i i32) (local $v i32)
    (loop $l
      (local.set $v (i32.load (i32.const 4)))
      (call $spin (i32.const 3))
      (i32.store (i32.const 4) (i32.add (local.get $v) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func (export "count") (result i32) (i32.load (i32.const 4))))
"""

# Two threads hand a ball back and forth through the word at 0 with wait32/notify:
# ping sets it to 1 and waits while it is 1; pong waits while it is 0 and sets it back;
# 2 tells pong to stop. Both return the number of round trips they saw.
PING_PONG = """
(module
  (memory (export "mem") 1 1 shared)
  (func (export "ping") (param $n i32) (result i32)
    (local $i i32)
    (loop $l
      (i32.atomic.store (i32.const 0) (i32.const 1))
      (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
      (block $b (loop $w
        (br_if $b (i32.eqz (i32.atomic.load (i32.const 0))))
        (drop (memory.atomic.wait32 (i32.const 0) (i32.const 1) (i64.const -1)))
        (br $w)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.atomic.store (i32.const 0) (i32.const 2))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
    (local.get $i))
  (func (export "pong") (result i32)
    (local $i i32) (local $v i32)
    (loop $l
      (block $b (loop $w
        (local.set $v (i32.atomic.load (i32.const 0)))
        (br_if $b (local.get $v))
        (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
        (br $w)))
      (if (i32.eq (local.get $v) (i32.const 2)) (then (return (local.get $i))))
      (i32.atomic.store (i32.const 0) (i32.const 0))
      (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))
    (unreachable)))
"""

# wait32 with a timeout on a word nobody changes; `spin` burns budget (yielding) for a while.
TIMED = """
(module
  (memory (export "mem") 1 1 shared)
  (func (export "wait") (param $timeout i64) (result i32)
    (memory.atomic.wait32 (i32.const 0) (i32.const 0) (local.get $timeout)))
  (func (export "wait64") (param $timeout i64) (result i32)
    (memory.atomic.wait64 (i32.const 8) (i64.const 0) (local.get $timeout)))
  (func (export "notify") (param $n i32) (result i32)
    (memory.atomic.notify (i32.const 0) (local.get $n)))
  (func (export "spin") (param $n i32) (result i32)
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i)))
"""


@pytest.fixture
def program(wat: Callable[[str], bytes]) -> Callable[..., tuple[Store, Instance]]:
    """program(text, **store_options) -> (store, instance)."""

    def make(text: str, **options: object) -> tuple[Store, Instance]:
        store = Store(**options)  # type: ignore[arg-type]
        return store, Instance(store, Module(wat(text)))

    return make


# ---- the PRNG ----


def test_splitmix64_reference_values() -> None:
    # First outputs for seed 0 of the reference C implementation (Vigna's splitmix64.c).
    sm = SplitMix64(0)
    assert [sm.next() for _ in range(3)] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


def test_xoshiro256_matches_its_definition() -> None:
    # Against a direct transcription of xoshiro256starstar.c, on a state seeded by splitmix64.
    def rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & (2**64 - 1)

    sm = SplitMix64(42)
    s = [sm.next() for _ in range(4)]
    expected = []
    for _ in range(20):
        expected.append(rotl(s[1] * 5 & (2**64 - 1), 7) * 9 & (2**64 - 1))
        t = s[1] << 17 & (2**64 - 1)
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    rng = Xoshiro256(42)
    assert [rng.next() for _ in range(20)] == expected


def _c_rng(seed: int) -> object:
    rng = ffi.new("wr_rng *")
    lib.wr_rng_seed(rng, seed)
    return rng


def test_the_policies_c_prng_is_the_same_xoshiro256() -> None:
    # The built-in policies draw from the C core's copy (wr_sched.c); seeded random bytes from Python's.
    for seed in (0, 42, 2**64 - 1):
        rng, ref = _c_rng(seed), Xoshiro256(seed)
        assert [lib.wr_rng_next(rng) for _ in range(50)] == [ref.next() for _ in range(50)]


def test_below_is_in_range_and_covers_it() -> None:
    rng = _c_rng(7)
    seen = {lib.wr_rng_below(rng, 5) for _ in range(200)}
    assert seen == {0, 1, 2, 3, 4}
    assert lib.wr_rng_below(rng, 1) == 0
    big = [lib.wr_rng_below(rng, 3 * 2**62) for _ in range(200)]
    assert all(0 <= x < 3 * 2**62 for x in big) and max(big) > 2**63


def test_log_uniform_slices_span_every_scale() -> None:
    rng = _c_rng(3)
    slices = [lib.wr_rng_log_uniform(rng, 1, 10_000) for _ in range(5000)]
    assert all(1 <= s <= 10_000 for s in slices)
    # Log-uniform: each power-of-two scale from 1 to 8192 is drawn, short slices as often as long ones.
    assert {s.bit_length() for s in slices} == set(range(1, 15))
    assert lib.wr_rng_log_uniform(rng, 77, 77) == 77


# ---- policies ----


class _Thread:
    """What a policy needs of a green thread: an id and its task in the C queue."""

    def __init__(self, id: int) -> None:
        self.id = id
        self._task = ffi.gc(lib.wr_task_new(id), lib.wr_task_free)
        self._wr_thread = None


def test_fair_policy_is_fifo_with_a_fixed_slice() -> None:
    p = FairPolicy(slice=123)
    items = [_Thread(i) for i in range(40)]  # past the queue's first capacity: the ring grows
    for x in items[:3]:
        p.push(x)  # type: ignore[arg-type]
    assert len(p) == 3
    assert [p.pop() for _ in range(4)] == [*items[:3], None]
    for x in items:
        p.push(x)  # type: ignore[arg-type]
        if x.id % 3 == 0:
            p.push(p.pop())  # type: ignore[arg-type]  # a pop and a push wrap the ring around
    order = [p.pop() for _ in range(40)]
    assert sorted(t.id for t in order) == list(range(40))  # type: ignore[union-attr]
    p.push(items[5])  # type: ignore[arg-type]
    p.push(items[6])  # type: ignore[arg-type]
    p.remove(items[5])  # type: ignore[arg-type]
    assert [p.pop(), p.pop()] == [items[6], None]
    assert p.slice(items[0]) == 123  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FairPolicy(slice=0)


def test_seeded_policy_choices_depend_only_on_the_seed() -> None:
    def trace(seed: int) -> list[object]:
        p = SeededPolicy(seed, min_slice=1, max_slice=10_000, log=True)
        out: list[object] = []
        for i in range(50):
            p.push(_Thread(i))  # type: ignore[arg-type]
            if i % 3 == 2:
                out.append(p.pop().id)  # type: ignore[union-attr]
                out.append(p.slice(None))  # type: ignore[arg-type]
        assert p.decisions == out[0::2]
        return out

    assert trace(1) == trace(1)
    assert trace(1) != trace(2)
    slices = [s for s in trace(3)[1::2]]
    assert all(1 <= s <= 10_000 for s in slices)  # type: ignore[operator]
    assert SeededPolicy(1).decisions == []  # nothing is kept per decision unless asked


def test_store_takes_a_policy_and_can_change_it(program: Callable[..., tuple[Store, Instance]]) -> None:
    store, inst = program(RACY, policy=SeededPolicy(5))
    assert isinstance(store.scheduler.policy, SeededPolicy)
    threads = [spawn(inst.exports.worker, i, 10) for i in range(3)]
    store.set_policy(FairPolicy())
    assert isinstance(store.scheduler.policy, FairPolicy)
    assert len(store.scheduler.policy) == 3  # the queued threads moved over
    for t in threads:
        join(t)
    assert inst.exports.mem.read(0, 4) == (30).to_bytes(4, "little")


# ---- interleavings ----


def _run_racy(program: Callable[..., tuple[Store, Instance]], policy: object) -> tuple[bytes, int]:
    store, inst = program(RACY, policy=policy)
    workers = [spawn(inst.exports.worker, i + 1, 40) for i in range(4)]
    incs = [spawn(inst.exports.racy_inc, 200) for _ in range(3)]
    store.scheduler.run()
    assert all(t.state is ThreadState.DONE and t.exception is None for t in workers + incs)
    return inst.exports.mem.read(0, 16 + 4 * 160), inst.exports.count()


def test_same_seed_same_interleaving_byte_for_byte(program: Callable[..., tuple[Store, Instance]]) -> None:
    first = _run_racy(program, SeededPolicy(1234))
    again = _run_racy(program, SeededPolicy(1234))
    assert first == again
    assert int.from_bytes(first[0][:4], "little") == 160


def test_same_seed_same_output_across_processes(wat: Callable[[str], bytes], tmp_path: Path) -> None:
    """Nothing process-specific (hash seeds, addresses, timing) leaks into a seeded schedule."""
    wasm = tmp_path / "racy.wasm"
    wasm.write_bytes(wat(RACY))
    script = f"""
import hashlib
from wasmroutines import Instance, Module, SeededPolicy, Store
store = Store(policy=SeededPolicy(99))
inst = Instance(store, Module(open({str(wasm)!r}, "rb").read()))
for i in range(4):
    store.scheduler.spawn(inst.exports.worker, i + 1, 40)
for _ in range(3):
    store.scheduler.spawn(inst.exports.racy_inc, 200)
store.scheduler.run()
print(hashlib.sha256(inst.exports.mem.read(0, 16 + 4 * 160)).hexdigest(), inst.exports.count())
"""
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        outputs.add(proc.stdout)
    assert len(outputs) == 1


def test_different_seeds_give_different_interleavings(program: Callable[..., tuple[Store, Instance]]) -> None:
    runs = {_run_racy(program, SeededPolicy(seed, min_slice=1, max_slice=10_000)) for seed in range(6)}
    assert len(runs) >= 4
    # Short random slices (the explorer's) preempt between racy_inc's load and store: updates get lost.
    assert min(count for _, count in runs) < 600


def test_fair_policy_round_robin(program: Callable[..., tuple[Store, Instance]]) -> None:
    # A slice far shorter than a worker: the log interleaves all four; a slice longer than
    # all the work: each worker runs to the end in turn, and no update is lost.
    log, count = _run_racy(program, FairPolicy(slice=50))
    ids = [int.from_bytes(log[16 + 4 * i : 20 + 4 * i], "little") for i in range(160)]
    assert set(ids[:40]) == {1, 2, 3, 4}
    log, count = _run_racy(program, FairPolicy(slice=10_000_000))
    ids = [int.from_bytes(log[16 + 4 * i : 20 + 4 * i], "little") for i in range(160)]
    assert ids == [1] * 40 + [2] * 40 + [3] * 40 + [4] * 40
    assert count == 600


# ---- futex waits ----


def test_ping_pong_between_two_wasm_threads(program: Callable[..., tuple[Store, Instance]]) -> None:
    store, inst = program(PING_PONG)
    pong = spawn(inst.exports.pong)
    assert inst.exports.ping(1000) == 1000  # the main call is one side
    assert join(pong) == 1000
    ping, pong = spawn(inst.exports.ping, 500), spawn(inst.exports.pong)
    assert (join(ping), join(pong)) == (500, 500)
    assert store.threads == [store.scheduler.main]


def test_ping_pong_round_trips_cost_no_greenlet_switch(program: Callable[..., tuple[Store, Instance]]) -> None:
    """A futex round trip between two wasm threads is handed over in the C core: the greenlet switches of a
    ping-pong do not grow with its round trips. (Its time is benchmarks/test_threads.py's test_pingpong.)"""

    def switches(n: int) -> int:
        store, inst = program(PING_PONG)
        ping, pong = spawn(inst.exports.ping, n), spawn(inst.exports.pong)
        with counting_switches() as count:
            assert (join(ping), join(pong)) == (n, n)
        return count[0]

    few, many = switches(10), switches(5000)  # 5000 round trips stay within one default slice
    # 10,000 hand-overs: a few greenlet switches at most, when the core gives Python control back (CHECK_EVERY).
    assert few <= many < 20, (few, many)


def test_wait_times_out_while_others_run(program: Callable[..., tuple[Store, Instance]]) -> None:
    store, inst = program(TIMED)
    spinner = spawn(inst.exports.spin, 3_000_000)
    t0 = time.monotonic()
    assert inst.exports.wait(20_000_000) == 2  # 20 ms, "timed-out"
    assert time.monotonic() - t0 >= 0.019
    assert join(spinner) == 3_000_000
    assert inst.exports.wait64(1_000_000) == 2


def test_timed_wait_notified_before_its_deadline(program: Callable[..., tuple[Store, Instance]]) -> None:
    store, inst = program(TIMED, clock=VirtualClock())  # virtual: only the deadline could move it on
    waiter = spawn(inst.exports.wait, 10_000_000_000)  # 10 s
    inst.exports.spin(1000)
    store.scheduler.yield_now()  # let it reach its wait
    assert waiter.state is ThreadState.WAITING
    assert waiter.wait_address == 0
    assert waiter.blocked_on == "futex 0x0"
    assert inst.exports.notify(1) == 1
    assert join(waiter) == 0  # "ok"
    assert store.scheduler.now_ns() == 0  # woken by the notify: time never jumped to the 10 s deadline


def test_many_timeouts_fire_in_deadline_order(program: Callable[..., tuple[Store, Instance]]) -> None:
    store, inst = program(TIMED, clock=VirtualClock())
    order: list[int] = []

    def waiter(ms: int) -> None:
        assert inst.exports.wait(ms * 1_000_000) == 2
        order.append(ms)

    for ms in (30, 10, 20, 10_000):
        spawn(waiter, ms, store=store)
    store.scheduler.run()
    assert order == [10, 20, 30, 10_000]
    assert store.scheduler.now_ns() == 10_000 * 1_000_000  # virtual time jumped; no real waiting


def test_zero_timeout_and_not_equal_do_not_block(program: Callable[..., tuple[Store, Instance]]) -> None:
    store, inst = program(TIMED)
    assert inst.exports.wait(0) == 2
    inst.exports.mem.write(0, b"\x01")
    assert inst.exports.wait(-1) == 1  # "not-equal"


# ---- clocks ----


def test_virtual_clock_sleep_is_instant_and_exact(program: Callable[..., tuple[Store, Instance]]) -> None:
    clock = RecordingVirtualClock(start_ns=5)
    store, _ = program(TIMED, clock=clock)
    sched = store.scheduler
    seen: list[tuple[str, int]] = []

    def sleeper(name: str, seconds: float) -> None:
        sched.sleep(seconds)
        seen.append((name, sched.now_ns()))

    spawn(sleeper, "long", 3600.0, store=store)
    spawn(sleeper, "short", 0.5, store=store)
    sched.run()
    assert seen == [("short", 5 + 500_000_000), ("long", 5 + 3600 * 10**9)]
    assert clock.idles == [5 + 500_000_000, 5 + 3600 * 10**9]  # time jumped to each deadline in turn
    assert clock.waits == []  # instant: the OS was never asked to wait


def test_monotonic_clock_sleep(program: Callable[..., tuple[Store, Instance]]) -> None:
    store, _ = program(TIMED, clock=MonotonicClock())
    t0 = time.monotonic()
    spawn(store.scheduler.sleep, 0.02, store=store)
    store.scheduler.run()
    assert time.monotonic() - t0 >= 0.019


# ---- the default slice ----


def test_slice_ends_come_once_per_slice_of_units(program: Callable[..., tuple[Store, Instance]]) -> None:
    """A slice ends after `slice` budget units, overshooting by less than one loop iteration (a back-edge
    charges its loop's length): at the default slice a long run pays one slice end per million units.

    What one slice end costs in time, and so the default slice's share of a run, is a speed figure: it
    belongs to the benchmarks, not here.
    """
    assert DEFAULT_SLICE == 1_000_000
    loop = 16  # more than the units of one iteration of TIMED's spin loop

    for slice_, n in ((100, 100_000), (DEFAULT_SLICE, 20_000_000)):
        store, inst = program(TIMED, policy=FairPolicy(slice=slice_))
        ends = [0]
        store.on_yield = lambda ends=ends: ends.__setitem__(0, ends[0] + 1)
        before = lib.wr_api_store_ran(store._native.ptr)
        assert inst.exports.spin(n) == n
        ran = lib.wr_api_store_ran(store._native.ptr) - before
        assert ran // (slice_ + loop) <= ends[0] <= ran // slice_, (slice_, ran, ends[0])
    assert ends[0] >= 100  # the default-slice run was long enough to show the rate


def test_a_policy_outliving_its_store_reads_nothing_of_it() -> None:
    import gc

    policy = PCTPolicy(1, depth=3, steps=1000)
    store = Store(policy=policy)
    del store
    gc.collect()  # the store is freed: the policy is detached from it
    assert policy.slice(None) == policy.change_points[0]  # type: ignore[arg-type]  # no units run counted
    again = Store(policy=policy)  # and it can serve another store
    assert again.scheduler.policy is policy and len(policy) == 0


# ---- descriptors ----


def test_a_woken_descriptor_wait_is_unregistered_at_once() -> None:
    """One-shot: a thread woken by its descriptor leaves the selector when woken, not when it next runs, so a
    poll meanwhile does not report the same descriptor again (with many connections woken and not yet run,
    every poll would return all of them)."""
    store = Store()
    sched = store.scheduler
    r, w = os.pipe()
    try:
        waiter = sched.spawn(lambda: sched.wait_readable(r))
        sched.yield_now()  # the waiter runs and blocks on r
        assert waiter.state is ThreadState.BLOCKED and r in sched._selector_of().get_map()
        os.write(w, b"x")
        assert sched._poll(0) == 1  # ready: the waiter is runnable, and r is off the selector already
        assert waiter.state is ThreadState.RUNNABLE and r not in sched._selector_of().get_map()
        assert sched._poll(0) == 0  # not reported again while the waiter has not run
        assert sched.join(waiter) is True
    finally:
        os.close(r)
        os.close(w)
