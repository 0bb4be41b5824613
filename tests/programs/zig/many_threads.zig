//! Many threads: waves of threads, each computing a slice of a sum into its own slot, all joined.
const std = @import("std");
const common = @import("common.zig");

const max_threads = 256;

var results: [max_threads]u64 = undefined;

fn worker(gate: *common.Gate, slot: usize, from: u64, to: u64) void {
    gate.wait();
    var s: u64 = 0;
    var i = from;
    while (i < to) : (i += 1) s += i * i;
    results[slot] = s;
}

pub fn main() void {
    common.run(body);
}

fn body() void {
    const per_wave = @min(common.argInt(0, 64), max_threads);
    const waves = common.argInt(1, 4);
    const chunk: u64 = 50;
    var total: u64 = 0;
    var threads: [max_threads]std.Thread = undefined;
    var next: u64 = 0;
    for (0..waves) |_| {
        var gate: common.Gate = .{};
        for (0..per_wave) |slot| {
            threads[slot] = common.spawn(worker, .{ &gate, slot, next, next + chunk });
            next += chunk;
        }
        gate.open();
        for (threads[0..per_wave], 0..) |t, slot| {
            t.join();
            total += results[slot];
        }
    }
    // The sum of squares below `next`, computed directly.
    const n = next - 1;
    const expect = n * (n + 1) * (2 * n + 1) / 6;
    common.print("many_threads: {d} waves of {d} threads, sum of squares {d} ({s})\n", .{
        waves, per_wave, total, if (total == expect) "right" else "WRONG",
    });
}
