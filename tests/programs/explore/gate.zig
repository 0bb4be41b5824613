//! A start gate for the explore programs: spawned threads wait here until main
//! has spawned them all. Zig 0.13's `spawn` stores the child's id only after
//! `thread-spawn` returns (see spawn_join.zig): a child that finished before
//! that store would hang `join`. Holding every child at the gate until spawn
//! has returned keeps that bug out of programs that test something else.
const std = @import("std");

var open = std.atomic.Value(u32).init(0);

pub fn wait() void {
    while (open.load(.seq_cst) == 0) {
        std.Thread.Futex.wait(&open, 0);
    }
}

pub fn release() void {
    open.store(1, .seq_cst);
    std.Thread.Futex.wake(&open, std.math.maxInt(u32));
}

pub const spawn_config = std.Thread.SpawnConfig{ .stack_size = 16 * 1024, .allocator = std.heap.page_allocator };
