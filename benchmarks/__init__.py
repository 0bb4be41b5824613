"""Benchmarks of Wasmroutines against its peers (wasm3, wasmtime, pywasm); run with `python tools/bench_report.py`."""
