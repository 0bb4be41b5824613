//! std.Thread.RwLock: writers keep two words equal; readers, sharing the lock, must never see them differ.
const std = @import("std");
const common = @import("common.zig");

const writers = 2;
const readers = 4;

var gate: common.Gate = .{};
var lock: std.Thread.RwLock = .{};
var a: u64 = 0;
var b: u64 = 0;
var torn = std.atomic.Value(u32).init(0);
var reads = std.atomic.Value(u32).init(0);

fn writer(updates: u32) void {
    gate.wait();
    for (0..updates) |_| {
        lock.lock();
        defer lock.unlock();
        a += 1;
        common.yield();
        b += 1;
    }
}

fn reader(count: u32) void {
    gate.wait();
    for (0..count) |_| {
        lock.lockShared();
        defer lock.unlockShared();
        const x = a;
        common.yield();
        if (x != b) _ = torn.fetchAdd(1, .monotonic);
        _ = reads.fetchAdd(1, .monotonic);
    }
}

pub fn main() void {
    common.run(body);
}

fn body() void {
    const updates = common.argInt(0, 100);
    var threads: [writers + readers]std.Thread = undefined;
    for (threads[0..writers]) |*t| t.* = common.spawn(writer, .{updates});
    for (threads[writers..]) |*t| t.* = common.spawn(reader, .{updates});
    gate.open();
    for (threads) |t| t.join();
    common.print("rwlock: a={d} b={d} after {d} reads, {d} torn\n", .{ a, b, reads.load(.monotonic), torn.load(.monotonic) });
}
