//! std.atomic.Value: fetchAdd/fetchSub, a cmpxchg loop, fetchOr, fetchMax and a spin lock, from many threads.
const std = @import("std");
const common = @import("common.zig");

const nthreads = 8;

var gate: common.Gate = .{};
var sum = std.atomic.Value(u32).init(0); // wasm32: Zig's atomics stop at 32 bits
var balance = std.atomic.Value(i32).init(0);
var doubled = std.atomic.Value(u32).init(1);
var bits = std.atomic.Value(u32).init(0);
var highest = std.atomic.Value(u32).init(0);
var spin = std.atomic.Value(u32).init(0);
var guarded: u64 = 0;

fn worker(id: u32, rounds: u32) void {
    gate.wait();
    for (0..rounds) |i| {
        _ = sum.fetchAdd(@as(u32, @intCast(i)) + 1, .seq_cst);
        _ = balance.fetchAdd(2, .seq_cst);
        _ = balance.fetchSub(1, .seq_cst);
        _ = highest.fetchMax(id * 1000 + @as(u32, @intCast(i)), .seq_cst);
        // A cmpxchg loop: multiply by 3 modulo a prime, exactly once per round.
        var old = doubled.load(.seq_cst);
        while (doubled.cmpxchgWeak(old, @intCast((@as(u64, old) * 3) % 1_000_003), .seq_cst, .seq_cst)) |cur| old = cur;
        // A spin lock around a plain read-modify-write.
        while (spin.cmpxchgWeak(0, 1, .acquire, .monotonic) != null) std.atomic.spinLoopHint();
        guarded += 1;
        spin.store(0, .release);
    }
    _ = bits.fetchOr(@as(u32, 1) << @intCast(id), .seq_cst);
}

pub fn main() void {
    common.run(body);
}

fn body() void {
    const rounds = common.argInt(0, 100);
    var threads: [nthreads]std.Thread = undefined;
    for (&threads, 0..) |*t, id| t.* = common.spawn(worker, .{ @as(u32, @intCast(id)), rounds });
    gate.open();
    for (threads) |t| t.join();
    var expect: u64 = 1;
    for (0..nthreads * rounds) |_| expect = (expect * 3) % 1_000_003;
    common.print("atomics: sum={d} balance={d} bits={x} highest={d} guarded={d} power_ok={}\n", .{
        sum.load(.seq_cst), balance.load(.seq_cst), bits.load(.seq_cst), highest.load(.seq_cst), guarded,
        doubled.load(.seq_cst) == expect,
    });
}
