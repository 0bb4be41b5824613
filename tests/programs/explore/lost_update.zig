//! Four threads increment a plain (non-atomic) shared counter. Each increment
//! is a load and a store; a switch between them loses an update, so the total
//! printed is sometimes less than 4 * 50 = 200.
const std = @import("std");
const gate = @import("gate.zig");

var counter: u32 = 0;

fn bump(n: u32) void {
    gate.wait();
    const p: *volatile u32 = &counter;
    var i: u32 = 0;
    while (i < n) : (i += 1) {
        p.* = p.* + 1;
    }
}

pub fn main() !void {
    var threads: [4]std.Thread = undefined;
    for (&threads) |*t| t.* = try std.Thread.spawn(gate.spawn_config, bump, .{50});
    gate.release();
    for (threads) |t| t.join();
    try std.io.getStdOut().writer().print("counter {d}\n", .{counter});
}
