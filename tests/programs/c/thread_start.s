# thread_start.s: wasi_thread_start(tid, start): switch to the thread's own stack, then run C.
# A new instance's __stack_pointer starts at the main thread's stack top; nothing may touch the
# stack before it is set, so this cannot be C (wasi-libc does the same in assembly).
    .text
    .globaltype __stack_pointer, i32
    .functype wt_thread_main (i32, i32) -> ()

    .globl wasi_thread_start
    .export_name wasi_thread_start, wasi_thread_start
    .type wasi_thread_start,@function
wasi_thread_start:
    .functype wasi_thread_start (i32, i32) -> ()
    local.get 1
    i32.load 0        # start->stack_top
    global.set __stack_pointer
    local.get 0
    local.get 1
    call wt_thread_main
    end_function
