//! A correct bounded buffer: two producers and two consumers share a ring of
//! four slots under one mutex and two condition variables. Every schedule
//! prints the same line.
const wt = @import("wt.zig");

pub const panic = wt.panic;

const slots = 4;
const per_thread = 20;

var mutex = wt.Mutex{};
var not_empty = wt.Condition{};
var not_full = wt.Condition{};
var ring: [slots]u32 = undefined;
var head: usize = 0;
var count: usize = 0;
var consumed = [2]u64{ 0, 0 };

fn produce(base: usize) callconv(.C) void {
    var i: u32 = 0;
    while (i < per_thread) : (i += 1) {
        mutex.lock();
        defer mutex.unlock();
        while (count == slots) not_full.wait(&mutex);
        ring[(head + count) % slots] = @as(u32, @intCast(base)) + i;
        count += 1;
        not_empty.signal();
    }
}

fn consume(id: usize) callconv(.C) void {
    var i: u32 = 0;
    while (i < per_thread) : (i += 1) {
        mutex.lock();
        defer mutex.unlock();
        while (count == 0) not_empty.wait(&mutex);
        consumed[id] += ring[head];
        head = (head + 1) % slots;
        count -= 1;
        not_full.signal();
    }
}

pub fn main() void {
    const threads = [4]*wt.Thread{
        wt.spawn(produce, 1000),
        wt.spawn(produce, 2000),
        wt.spawn(consume, 0),
        wt.spawn(consume, 1),
    };
    for (threads) |t| wt.join(t);
    wt.print("consumed {d} items, sum {d}\n", .{ 2 * per_thread, consumed[0] + consumed[1] });
}
