"""Faces of the runtime to the world: WASI preview1, wasi-threads, the wasmer-compatible API."""
