//! std.Thread.Condition: a bounded queue between producers and consumers (Mutex + two Conditions).
const std = @import("std");
const common = @import("common.zig");

const capacity = 4;
const producers = 3;
const consumers = 2;
const stop: u32 = 0;

var gate: common.Gate = .{};
var mutex: std.Thread.Mutex = .{};
var not_full: std.Thread.Condition = .{};
var not_empty: std.Thread.Condition = .{};
var items: [capacity]u32 = undefined;
var head: usize = 0;
var len: usize = 0;
var sums: [consumers]u64 = .{0} ** consumers;
var counts: [consumers]u64 = .{0} ** consumers;

fn put(v: u32) void {
    mutex.lock();
    defer mutex.unlock();
    while (len == capacity) not_full.wait(&mutex);
    items[(head + len) % capacity] = v;
    len += 1;
    not_empty.signal();
}

fn take() u32 {
    mutex.lock();
    defer mutex.unlock();
    while (len == 0) not_empty.wait(&mutex);
    const v = items[head];
    head = (head + 1) % capacity;
    len -= 1;
    not_full.signal();
    return v;
}

fn producer(first: u32, count: u32) void {
    gate.wait();
    for (0..count) |i| put(first + @as(u32, @intCast(i)));
}

fn consumer(slot: usize) void {
    gate.wait();
    while (true) {
        const v = take();
        if (v == stop) return;
        sums[slot] += v;
        counts[slot] += 1;
    }
}

pub fn main() void {
    common.run(body);
}

fn body() void {
    const per_producer = common.argInt(0, 100);
    var threads: [producers + consumers]std.Thread = undefined;
    for (0..producers) |p| threads[p] = common.spawn(producer, .{ @as(u32, @intCast(p)) * per_producer + 1, per_producer });
    for (0..consumers) |c| threads[producers + c] = common.spawn(consumer, .{c});
    gate.open();
    for (threads[0..producers]) |t| t.join();
    for (0..consumers) |_| put(stop);
    for (threads[producers..]) |t| t.join();
    var sum: u64 = 0;
    var count: u64 = 0;
    for (sums, counts) |s, c| {
        sum += s;
        count += c;
    }
    common.print("condition: {d} items through a queue of {d}, sum {d}\n", .{ count, capacity, sum });
}
