//! A minimal threads library over wasi-threads for the explore programs that test something else
//! than Zig's own std.Thread.
//!
//! Zig 0.13's WASI std.Thread has two schedule-dependent bugs of its own, both found by the
//! explorer: `spawn` stores the child's id only after `thread-spawn` returns, so a child that
//! finishes first hangs `join` (spawn_join.zig shows it); and its `wasi_thread_start`, being
//! Zig code, builds its stack frame on whatever `__stack_pointer` a fresh instance starts with
//! (the main thread's stack) before it switches stacks, so it can clobber, or be clobbered by,
//! the main thread's frames. Here, as in wasi-libc, `wasi_thread_start` is assembly
//! (wt_start.s, linked in by tools/build_explore_programs.sh) that switches to the thread's
//! own stack before anything touches memory, then calls wt_thread_main; the mutex, condition
//! variable and join are plain futex code with `asm volatile` waits (0.13's std.Thread.Futex
//! emits non-volatile ones that optimized builds delete).
const std = @import("std");

extern "wasi" fn @"thread-spawn"(start: *Thread) i32;
extern fn __wasm_init_tls(memory: [*]u8) void;

pub fn futexWait(ptr: *const u32, expect: u32) void {
    _ = asm volatile (
        \\ local.get %[ptr]
        \\ local.get %[expect]
        \\ i64.const -1
        \\ memory.atomic.wait32 0
        \\ local.set %[ret]
        : [ret] "=r" (-> u32),
        : [ptr] "r" (ptr),
          [expect] "r" (expect),
    );
}

pub fn futexWake(ptr: *const u32, count: u32) void {
    _ = asm volatile (
        \\ local.get %[ptr]
        \\ local.get %[count]
        \\ memory.atomic.notify 0
        \\ local.set %[ret]
        : [ret] "=r" (-> u32),
        : [ptr] "r" (ptr),
          [count] "r" (count),
    );
}

const max_threads = 8;
const stack_size = 16 * 1024;
const tls_room = 256;

pub const Thread = extern struct { // extern: a fixed layout the assembly relies on
    stack_top: usize, // read by wasi_thread_start: keep first
    func: *const fn (usize) callconv(.C) void,
    arg: usize,
    done: u32 = 0,
};

var threads: [max_threads]Thread = undefined;
var stacks: [max_threads][stack_size]u8 align(16) = undefined;
var tls_areas: [max_threads][tls_room]u8 align(16) = undefined;
var spawned: usize = 0;

fn tlsSize() usize {
    return asm volatile (
        \\ .globaltype __tls_size, i32, immutable
        \\ global.get __tls_size
        \\ local.set %[ret]
        : [ret] "=r" (-> usize),
    );
}

export fn wt_thread_main(tid: i32, t: *Thread) void {
    _ = tid;
    const index = (@intFromPtr(t) - @intFromPtr(&threads[0])) / @sizeOf(Thread);
    __wasm_init_tls(&tls_areas[index]);
    t.func(t.arg);
    @atomicStore(u32, &t.done, 1, .seq_cst);
    futexWake(&t.done, 1);
}

/// Starts `func(arg)` on a new thread (main thread only).
pub fn spawn(func: *const fn (usize) callconv(.C) void, arg: usize) *Thread {
    if (spawned == max_threads or tlsSize() > tls_room) @panic("wt: too many threads or too much TLS");
    const t = &threads[spawned];
    t.* = .{ .stack_top = @intFromPtr(&stacks[spawned]) + stack_size, .func = func, .arg = arg };
    spawned += 1;
    if (@"thread-spawn"(t) < 0) @panic("wt: thread-spawn failed");
    return t;
}

pub fn join(t: *Thread) void {
    while (@atomicLoad(u32, &t.done, .seq_cst) == 0) futexWait(&t.done, 0);
}

/// Drepper's three-state futex mutex: 0 unlocked, 1 locked, 2 locked with waiters.
pub const Mutex = struct {
    state: u32 = 0,

    pub fn lock(m: *Mutex) void {
        var c = @cmpxchgStrong(u32, &m.state, 0, 1, .seq_cst, .seq_cst) orelse return;
        if (c != 2) c = @atomicRmw(u32, &m.state, .Xchg, 2, .seq_cst);
        while (c != 0) {
            futexWait(&m.state, 2);
            c = @atomicRmw(u32, &m.state, .Xchg, 2, .seq_cst);
        }
    }

    pub fn unlock(m: *Mutex) void {
        if (@atomicRmw(u32, &m.state, .Sub, 1, .seq_cst) != 1) {
            @atomicStore(u32, &m.state, 0, .seq_cst);
            futexWake(&m.state, 1);
        }
    }
};

/// A sequence-count condition variable: a signal between unlock and wait changes the count,
/// so the wait returns at once (no lost wake-up). Callers loop on their predicate.
pub const Condition = struct {
    seq: u32 = 0,

    pub fn wait(c: *Condition, m: *Mutex) void {
        const s = @atomicLoad(u32, &c.seq, .seq_cst);
        m.unlock();
        futexWait(&c.seq, s);
        m.lock();
    }

    pub fn signal(c: *Condition) void {
        _ = @atomicRmw(u32, &c.seq, .Add, 1, .seq_cst);
        futexWake(&c.seq, 1);
    }
};

// Output goes straight to fd_write, and the programs' panic handler (`pub const panic = wt.panic;`)
// is ours: std's handler and std.io's error paths pull in std.debug and with it std.Thread, whose
// own `wasi_thread_start` would clash with the one above.

const Iovec = extern struct { base: [*]const u8, len: usize };
extern "wasi_snapshot_preview1" fn fd_write(fd: i32, iovs: [*]const Iovec, count: usize, written: *usize) u16;

fn writeAll(fd: i32, text: []const u8) void {
    var rest = text;
    while (rest.len > 0) {
        var n: usize = 0;
        const iov = [1]Iovec{.{ .base = rest.ptr, .len = rest.len }};
        if (fd_write(fd, &iov, 1, &n) != 0 or n == 0) return;
        rest = rest[n..];
    }
}

/// Formats into a fixed buffer and writes it to stdout.
pub fn print(comptime format: []const u8, args: anytype) void {
    var buf: [256]u8 = undefined;
    writeAll(1, std.fmt.bufPrint(&buf, format, args) catch "wt: output too long\n");
}

pub fn panic(msg: []const u8, _: ?*std.builtin.StackTrace, _: ?usize) noreturn {
    writeAll(2, msg);
    writeAll(2, "\n");
    @trap();
}
