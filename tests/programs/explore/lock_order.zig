//! Two threads take two mutexes in opposite orders: a lock-order inversion.
//! Most schedules finish ("ok"); one where each thread holds its first lock
//! while the other asks for it deadlocks.
const std = @import("std");
const gate = @import("gate.zig");

var a = std.Thread.Mutex{};
var b = std.Thread.Mutex{};
var total: u32 = 0;

fn transfer(first: *std.Thread.Mutex, second: *std.Thread.Mutex, amount: u32) void {
    gate.wait();
    first.lock();
    defer first.unlock();
    second.lock();
    defer second.unlock();
    total += amount;
}

pub fn main() !void {
    const t1 = try std.Thread.spawn(gate.spawn_config, transfer, .{ &a, &b, 1 });
    const t2 = try std.Thread.spawn(gate.spawn_config, transfer, .{ &b, &a, 2 });
    gate.release();
    t1.join();
    t2.join();
    try std.io.getStdOut().writer().print("ok, total {d}\n", .{total});
}
