"""The core object model: store, module, instance, function, memory, table, global, their types and errors.

One module per idea; wasmroutines/__init__.py re-exports the public names.
"""
