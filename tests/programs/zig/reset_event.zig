//! std.Thread.ResetEvent: waiters block until it is set; a second event reports back when all have run.
const std = @import("std");
const common = @import("common.zig");

const nthreads = 12;

var gate: common.Gate = .{};
var start: std.Thread.ResetEvent = .{};
var all_done: std.Thread.ResetEvent = .{};
var started = std.atomic.Value(u32).init(0);
var woken = std.atomic.Value(u32).init(0);

fn waiter() void {
    gate.wait();
    _ = started.fetchAdd(1, .seq_cst);
    start.wait();
    if (woken.fetchAdd(1, .seq_cst) + 1 == nthreads) all_done.set();
}

pub fn main() void {
    common.run(body);
}

fn body() void {
    var threads: [nthreads]std.Thread = undefined;
    for (&threads) |*t| t.* = common.spawn(waiter, .{});
    gate.open();
    // Let the waiters block first (a timed wait that must time out), then wake them all at once.
    start.timedWait(1_000_000) catch {};
    const early = woken.load(.seq_cst);
    start.set();
    all_done.wait();
    for (threads) |t| t.join();
    common.print("reset_event: {d} woken before set, {d} after\n", .{ early, woken.load(.seq_cst) });
}
