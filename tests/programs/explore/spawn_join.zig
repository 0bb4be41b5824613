//! Spawns and joins short-lived threads with plain std.Thread (Zig 0.13).
//!
//! Correct on its face, but 0.13's WASI `spawn` stores the child's thread id
//! only after `thread-spawn` returns: a child that runs to completion before
//! that store resets the id to 0 first, the parent then stores the stale id,
//! and `join` waits forever for it to go back to 0 (a deadlock). Whether that
//! happens depends only on the schedule.
const std = @import("std");

var done = std.atomic.Value(u32).init(0);

fn work(id: u32) void {
    _ = done.fetchAdd(id, .seq_cst);
}

pub fn main() !void {
    const config = std.Thread.SpawnConfig{ .stack_size = 16 * 1024, .allocator = std.heap.page_allocator };
    var threads: [3]std.Thread = undefined;
    for (&threads, 0..) |*t, i| {
        t.* = try std.Thread.spawn(config, work, .{@as(u32, @intCast(i + 1))});
    }
    for (threads) |t| t.join();
    try std.io.getStdOut().writer().print("joined, sum {d}\n", .{done.load(.seq_cst)});
}
