//! Two threads take two mutexes in opposite orders: a lock-order inversion.
//! Most schedules finish ("ok, total 3"); one where each thread holds its
//! first lock while the other asks for it deadlocks.
const wt = @import("wt.zig");

pub const panic = wt.panic;

var a = wt.Mutex{};
var b = wt.Mutex{};
var total: u32 = 0;

fn transferAB(amount: usize) callconv(.C) void {
    a.lock();
    defer a.unlock();
    b.lock();
    defer b.unlock();
    total += @intCast(amount);
}

fn transferBA(amount: usize) callconv(.C) void {
    b.lock();
    defer b.unlock();
    a.lock();
    defer a.unlock();
    total += @intCast(amount);
}

pub fn main() void {
    const t1 = wt.spawn(transferAB, 1);
    const t2 = wt.spawn(transferBA, 2);
    wt.join(t1);
    wt.join(t2);
    wt.print("ok, total {d}\n", .{total});
}
