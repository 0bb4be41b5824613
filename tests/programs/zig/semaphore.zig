//! std.Thread.Semaphore: at most `permits` threads at once in the guarded section.
const std = @import("std");
const common = @import("common.zig");

const permits = 3;
const nthreads = 10;

var gate: common.Gate = .{};
var sem = std.Thread.Semaphore{ .permits = permits };
var inside = std.atomic.Value(u32).init(0);
var most = std.atomic.Value(u32).init(0);
var passes = std.atomic.Value(u32).init(0);

fn worker(rounds: u32) void {
    gate.wait();
    for (0..rounds) |_| {
        sem.wait();
        defer sem.post();
        const now = inside.fetchAdd(1, .seq_cst) + 1;
        _ = most.fetchMax(now, .seq_cst);
        common.yield();
        _ = inside.fetchSub(1, .seq_cst);
        _ = passes.fetchAdd(1, .seq_cst);
    }
}

pub fn main() void {
    common.run(body);
}

fn body() void {
    const rounds = common.argInt(0, 20);
    var threads: [nthreads]std.Thread = undefined;
    for (&threads) |*t| t.* = common.spawn(worker, .{rounds});
    gate.open();
    for (threads) |t| t.join();
    const ok = most.load(.seq_cst) <= permits;
    common.print("semaphore: {d} passes, never more than {d} inside: {s}\n", .{ passes.load(.seq_cst), permits, if (ok) "yes" else "NO" });
}
