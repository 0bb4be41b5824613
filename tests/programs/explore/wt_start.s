# wasi_thread_start for wt.zig: switch to the new thread's own stack before anything touches
# memory (a fresh instance's __stack_pointer is the main thread's), then call wt_thread_main.
# The start argument points at a wt.Thread whose first field is the top of its stack.
	.globaltype __stack_pointer, i32
	.functype wt_thread_main (i32, i32) -> ()
	.text
	.globl wasi_thread_start
	.type wasi_thread_start,@function
wasi_thread_start:
	.functype wasi_thread_start (i32, i32) -> ()
	local.get 1
	i32.load 0
	global.set __stack_pointer
	local.get 0
	local.get 1
	call wt_thread_main
	end_function
