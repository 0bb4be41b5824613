//! A correct bounded buffer: two producers and two consumers share a ring of
//! four slots under one mutex and two condition variables. Every schedule
//! prints the same line.
const std = @import("std");
const gate = @import("gate.zig");

const slots = 4;
const per_producer = 20;

var mutex = std.Thread.Mutex{};
var not_empty = std.Thread.Condition{};
var not_full = std.Thread.Condition{};
var ring: [slots]u32 = undefined;
var head: usize = 0;
var count: usize = 0;
var consumed = [2]u64{ 0, 0 };

fn produce(base: u32) void {
    gate.wait();
    var i: u32 = 0;
    while (i < per_producer) : (i += 1) {
        mutex.lock();
        defer mutex.unlock();
        while (count == slots) not_full.wait(&mutex);
        ring[(head + count) % slots] = base + i;
        count += 1;
        not_empty.signal();
    }
}

fn consume(id: usize) void {
    gate.wait();
    var i: u32 = 0;
    while (i < per_producer) : (i += 1) {
        mutex.lock();
        defer mutex.unlock();
        while (count == 0) not_empty.wait(&mutex);
        consumed[id] += ring[head];
        head = (head + 1) % slots;
        count -= 1;
        not_full.signal();
    }
}

pub fn main() !void {
    var threads: [4]std.Thread = undefined;
    threads[0] = try std.Thread.spawn(gate.spawn_config, produce, .{@as(u32, 1000)});
    threads[1] = try std.Thread.spawn(gate.spawn_config, produce, .{@as(u32, 2000)});
    threads[2] = try std.Thread.spawn(gate.spawn_config, consume, .{@as(usize, 0)});
    threads[3] = try std.Thread.spawn(gate.spawn_config, consume, .{@as(usize, 1)});
    gate.release();
    for (threads) |t| t.join();
    try std.io.getStdOut().writer().print("consumed {d} items, sum {d}\n", .{ 2 * per_producer, consumed[0] + consumed[1] });
}
