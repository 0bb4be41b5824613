//! Four threads increment a plain (non-atomic) shared counter. Each increment
//! is a load and a store; a switch between them loses an update, so the total
//! printed is sometimes less than 4 * 50 = 200.
const wt = @import("wt.zig");

pub const panic = wt.panic;

var counter: u32 = 0;

fn bump(n: usize) callconv(.C) void {
    const p: *volatile u32 = &counter;
    var i: usize = 0;
    while (i < n) : (i += 1) {
        p.* = p.* + 1;
    }
}

pub fn main() void {
    var threads: [4]*wt.Thread = undefined;
    for (&threads) |*t| t.* = wt.spawn(bump, 50);
    for (threads) |t| wt.join(t);
    wt.print("counter {d}\n", .{counter});
}
