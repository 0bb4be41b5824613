"""The C core: sources, the cffi build script, and the compiled `_core` module (exports `ffi` and `lib`)."""
