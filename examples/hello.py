"""A first look at Wasmroutines: load a module, give it a host function, call its exports.

Run from the repository root: python examples/hello.py
"""

from pathlib import Path

from wasmroutines import Instance, Module, Store, Trap

store = Store()
module = Module.from_file(Path(__file__).with_name("hello.wasm"))
print("exports:", ", ".join(e.name for e in module.exports))


def print_string(ptr: int, length: int) -> None:
    """Host function: wasm passes a pointer and a length into its memory."""
    print(instance.exports.memory.read(ptr, length).decode())


instance = Instance(store, module, {"host": {"print": print_string}})
exports = instance.exports

exports.greet()
print("add(2, 40) =", exports.add(2, 40))
print("fib(90) =", exports.fib(90))
try:
    exports.divide(1, 0)
except Trap as trap:
    print("divide(1, 0) trapped:", trap.kind)
