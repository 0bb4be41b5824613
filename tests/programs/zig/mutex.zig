//! std.Thread.Mutex: threads add to a shared counter in a read-modify-write that is only safe under the lock.
const std = @import("std");
const common = @import("common.zig");

var gate: common.Gate = .{};
var mutex: std.Thread.Mutex = .{};
var counter: u64 = 0;
var max_holders: u32 = 0;
var holders: u32 = 0;

fn worker(iterations: u32) void {
    gate.wait();
    for (0..iterations) |_| {
        mutex.lock();
        defer mutex.unlock();
        holders += 1;
        if (holders > max_holders) max_holders = holders;
        const seen = counter;
        common.yield(); // invite another thread in: the lock must keep it out
        counter = seen + 1;
        holders -= 1;
    }
}

pub fn main() void {
    common.run(body);
}

fn body() void {
    const nthreads = common.argInt(0, 8);
    const iterations = common.argInt(1, 200);
    var threads: [64]std.Thread = undefined;
    const n = @min(nthreads, threads.len);
    for (threads[0..n]) |*t| t.* = common.spawn(worker, .{iterations});
    gate.open();
    for (threads[0..n]) |t| t.join();
    common.print("mutex: {d} threads x {d} = {d}, at most {d} in the lock\n", .{ n, iterations, counter, max_holders });
}
