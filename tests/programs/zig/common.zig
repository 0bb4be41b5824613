//! What every test program shares: an allocator for thread stacks, spawning with a start gate, output.
//!
//! Zig 0.13's `std.Thread.spawn` on wasi stores the child's thread id only
//! after `thread-spawn` returns, and `join` waits for that id to become 0: a
//! child that ends before the store leaves `join` waiting forever. So every
//! child here first waits on a Gate that the parent opens once it has spawned
//! them all (after every id is stored); the programs are then correct under
//! every schedule, which the tests check with several seeds.
//!
//! Second pitfall: in Debug, 0.13's `wasi_thread_start` spills its arguments
//! into a 64-byte frame below the stack pointer it starts with, before it
//! switches to the thread's own stack. A new instance's `__stack_pointer`
//! starts at the top of the main thread's stack, so every starting thread
//! scribbles over the top of the main stack. `run` keeps the program's own
//! frames below a scratch area and exits without returning into the frames
//! above it (those of `_start`).
const std = @import("std");

var tsa = std.heap.ThreadSafeAllocator{ .child_allocator = std.heap.page_allocator };

/// Small stacks: 0.13 rounds them up to one 64 KiB page anyway.
pub const stack_size = 16 * 1024;

/// Run `body` (the program's real main) below a scratch area, then exit 0 (see the top of this file).
pub fn run(comptime body: fn () void) noreturn {
    var scratch: [256]u8 = undefined;
    std.mem.doNotOptimizeAway(&scratch);
    @call(.never_inline, body, .{});
    std.process.exit(0);
}

pub fn allocator() std.mem.Allocator {
    return tsa.allocator();
}

pub const Gate = struct {
    event: std.Thread.ResetEvent = .{},

    pub fn wait(self: *Gate) void {
        self.event.wait();
    }

    pub fn open(self: *Gate) void {
        self.event.set();
    }
};

/// Spawn `f(args)` with a small stack; `f` must begin with `gate.wait()`.
pub fn spawn(comptime f: anytype, args: anytype) std.Thread {
    const config = std.Thread.SpawnConfig{ .allocator = allocator(), .stack_size = stack_size };
    return std.Thread.spawn(config, f, args) catch |err| {
        std.debug.print("spawn failed: {s}\n", .{@errorName(err)});
        std.process.exit(3);
    };
}

/// sched_yield (std.Thread.yield needs libc on wasi).
pub fn yield() void {
    _ = std.os.wasi.sched_yield();
}

pub fn print(comptime fmt: []const u8, args: anytype) void {
    std.io.getStdOut().writer().print(fmt, args) catch std.process.exit(4);
}

/// The `index`-th argument (after the program name) as an integer, or `default`.
pub fn argInt(index: usize, default: u32) u32 {
    var it = std.process.argsWithAllocator(allocator()) catch return default;
    defer it.deinit();
    _ = it.skip(); // the program name (0.13's iterator traps when argv is empty: always pass one)
    var i: usize = 0;
    while (it.next()) |arg| : (i += 1) {
        if (i == index) return std.fmt.parseInt(u32, arg, 10) catch default;
    }
    return default;
}
