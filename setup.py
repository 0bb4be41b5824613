"""Build the C core through cffi; all metadata lives in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["src/wasmroutines/_native/build_ffi.py:ffibuilder"])
