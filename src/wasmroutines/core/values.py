"""Python values <-> the C core's 64-bit slots.

i32/i64 take ints (wrapped two's complement) and come back signed; f32/f64
take floats (or ints) and come back as floats (f32 widened); v128 is an int of
128 bits (two slots, low half first); funcref is a Function or None; externref
is any Python object or None (the store hands out a handle per object); exnref
is a WasmException or None (the exception itself, as wasm holds it: the C
exception, a collected object, stays pinned while the WasmException lives,
docs/interpreter.md).

GC's any hierarchy (anyref, eqref, i31ref, structref, arrayref, nullref): an
i31 is an I31 (an int subclass holding the signed 31-bit value); any other
non-None anyref is the host object it was made from (any.convert_extern of an
externref). Going in, an I31 is an i31 for anyref and eqref (and for externref:
extern.convert_any of an i31, which comes back out as an I31), a plain int is
one too for i31ref and eqref, and for anyref any other object (plain ints
included) is a host object. A struct or an array comes out as a StructRef or
an ArrayRef (GcRef): an opaque handle, one per object (so `is` is ref.eq),
which goes back in wherever its type fits (anyref, eqref, structref/arrayref,
its own type or a supertype; externref as extern.convert_any makes it). The
object stays pinned while its GcRef lives.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._ffi import NULL, address, ffi, lib
from .errors import RefTypeError, WasmException
from .types import AnyValType, HeapType, RefType, ValType

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "ArrayRef",
    "GcRef",
    "I31",
    "StructRef",
    "args_to_slots",
    "f32_bits",
    "f32_value",
    "f64_bits",
    "f64_value",
    "from_slots",
    "slots_to_values",
    "to_slots",
]

_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_U64 = struct.Struct("<Q")
_M32 = 0xFFFF_FFFF
_M64 = 0xFFFF_FFFF_FFFF_FFFF


class I31(int):
    """An i31ref's value: an int of 31 bits, kept as its signed value (-2**30 .. 2**30-1; an unsigned one up to
    2**31-1 is taken modulo 2**31, as `ref.i31` wraps an i32). i31.get_u sees `value % 2**31`."""

    __slots__ = ()

    def __new__(cls, value: int) -> I31:
        v = _int(value, "i31")
        if not -(1 << 30) <= v < (1 << 31):
            raise OverflowError(f"{v} does not fit an i31 (signed or unsigned 31-bit)")
        return super().__new__(cls, v - (1 << 31) if v >= (1 << 30) else v)

    def __repr__(self) -> str:
        return f"I31({int(self)})"


# How a reference sits in its slot (wr_runtime.h, docs/interpreter.md): 0 null, an i31 as (value << 1) | 1, a
# host object (externref, or anyref made from one) as (handle << 2) | 2 (Store._extern_handle).
_I31_TAG = 1


def i31_slot(value: Any) -> int:
    return ((int(value if isinstance(value, I31) else I31(value)) & 0x7FFF_FFFF) << 1) | _I31_TAG


def _i31_value(slot: int) -> I31:
    v = (slot >> 1) & 0x7FFF_FFFF
    return I31(v - (1 << 31) if v & 0x4000_0000 else v)


class GcRef:
    """A reference to a GC struct or array (StructRef, ArrayRef) of a store, as the host holds it: opaque
    (wasm reads and writes its fields). One GcRef per object while the host holds it, so identity (`is`) is
    wasm's ref.eq. `type_id` is its type's id in the store (a RefType's concrete heap type)."""

    __slots__ = ("__weakref__", "_slot", "_store", "type_id")

    def __init__(self, store: Store, slot: int) -> None:
        self._store = store
        self._slot = slot
        self.type_id: int = lib.wr_api_gc_type_id(slot)
        lib.wr_api_gc_pin(store._native.ptr, slot)  # a root while the host holds it (wr_gc.h)

    def __del__(self) -> None:
        if self._store._native.ptr is not None:  # a closed store freed its objects
            lib.wr_api_gc_unpin(self._store._native.ptr, self._slot)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of type {self.type_id}>"


class StructRef(GcRef):
    """A struct (GcRef)."""

    __slots__ = ()


class ArrayRef(GcRef):
    """An array (GcRef)."""

    __slots__ = ()


_GC_KINDS = {1: StructRef, 2: ArrayRef}  # wr_api_gc_kind


def gc_value(store: Store, slot: int) -> GcRef:
    """The GcRef of a struct's or an array's slot: the one the host holds already, or a new one."""
    ref = store._wrapper(slot, GcRef)
    if ref is None:
        ref = _GC_KINDS[lib.wr_api_gc_kind(slot)](store, slot)
        store._remember(slot, ref)
    return ref


def gc_slot(store: Store, ref: GcRef) -> int:
    if ref._store is not store:
        raise ValueError("the struct or array belongs to another store")
    return ref._slot


def extern_slot(store: Store, value: Any) -> int:
    """An externref's slot: None, an I31 (an i31 made external), a GcRef or a host object."""
    if value is None:
        return 0
    if isinstance(value, I31):
        return i31_slot(value)
    if isinstance(value, GcRef):
        return gc_slot(store, value)
    return store._extern_handle(value)


def extern_value(store: Store, slot: int) -> Any:
    """The value of a slot of the any or the extern hierarchy."""
    if slot == 0:
        return None
    if slot & _I31_TAG:
        return _i31_value(slot)
    if slot & 3 == 0:
        return gc_value(store, slot)
    return store._extern_object(slot)


_EQ_HEAPS = (HeapType.EQ, HeapType.I31)


def any_slot(store: Store, t: RefType, value: Any) -> int:
    """A non-None value's slot as the any hierarchy's reference type `t` (checked)."""
    heap = t.heap
    if isinstance(value, I31) or (heap in _EQ_HEAPS and isinstance(value, int) and not isinstance(value, bool)):
        if heap not in (HeapType.ANY, *_EQ_HEAPS):
            raise RefTypeError(f"an i31 for {t}")
        return i31_slot(value)
    if isinstance(value, GcRef):
        slot = gc_slot(store, value)
        fits = (
            heap in (HeapType.ANY, HeapType.EQ)
            or (heap is HeapType.STRUCT and isinstance(value, StructRef))
            or (heap is HeapType.ARRAY and isinstance(value, ArrayRef))
            or (not isinstance(heap, HeapType) and lib.wr_api_type_sub(store._ptr, value.type_id, heap))
        )
        if not fits:
            raise RefTypeError(f"{value!r} for {t}")
        return slot
    if heap is HeapType.ANY:
        return store._extern_handle(value)
    what = "an I31 or int" if heap in _EQ_HEAPS else "a StructRef" if heap is HeapType.STRUCT else "an ArrayRef"
    if heap is not HeapType.STRUCT and heap is not HeapType.ARRAY and isinstance(heap, HeapType):
        what = "only"
    raise RefTypeError(f"{t} takes {what} None, got {type(value).__name__}")


def f32_bits(value: float) -> int:
    try:
        return int(_U32.unpack(_F32.pack(value))[0])
    except OverflowError:  # rounds past the largest f32: the cast gives infinity
        return 0xFF80_0000 if value < 0 else 0x7F80_0000


def f32_value(bits: int) -> float:
    return float(_F32.unpack(_U32.pack(bits & _M32))[0])


def f64_bits(value: float) -> int:
    return int(_U64.unpack(_F64.pack(value))[0])


def f64_value(bits: int) -> float:
    return float(_F64.unpack(_U64.pack(bits & _M64))[0])


def _int(value: Any, what: str) -> int:
    if isinstance(value, int):
        return value
    raise TypeError(f"expected an int for {what}, got {type(value).__name__}")


def _ranged(value: Any, what: str, bits: int) -> int:
    """An integer that fits `bits` as signed or unsigned, as its bits: a value that does not fit raises, never
    wraps (as the wasmer face does)."""
    v = _int(value, what)
    if not -(1 << (bits - 1)) <= v < (1 << bits):
        raise OverflowError(f"{v} does not fit {what} (signed or unsigned {bits}-bit)")
    return v & ((1 << bits) - 1)


def _float(value: Any, what: str) -> float:
    if isinstance(value, (float, int)):
        return float(value)
    raise TypeError(f"expected a float for {what}, got {type(value).__name__}")


def to_slots(store: Store, t: AnyValType, value: Any, out: list[int]) -> None:
    """Append the slots of `value` as type `t` to `out`."""
    if t is ValType.I32:
        out.append(_ranged(value, "i32", 32))
    elif t is ValType.I64:
        out.append(_ranged(value, "i64", 64))
    elif t is ValType.F32:
        out.append(f32_bits(_float(value, "f32")))
    elif t is ValType.F64:
        out.append(f64_bits(_float(value, "f64")))
    elif t is ValType.V128:
        v = _ranged(value, "v128", 128)
        out.append(v & _M64)
        out.append(v >> 64)
    elif t is ValType.FUNCREF:
        out.append(funcref_slot(store, value))
    elif t is ValType.EXTERNREF:
        out.append(extern_slot(store, value))
    elif t.is_ref and t.top is HeapType.ANY:
        out.append(ref_slot(store, t if isinstance(t, RefType) else RefType(HeapType(int(t))), value))
    elif t is ValType.EXNREF or t is ValType.NULLEXNREF:
        if t is ValType.NULLEXNREF and value is not None:
            raise TypeError("a nullexnref is always None")
        out.append(exnref_slot(store, value))
    elif isinstance(t, RefType):
        out.append(ref_slot(store, t, value))
    else:  # pragma: no cover - value types are closed
        raise TypeError(f"unknown value type {t!r}")


#: The Function class: function.py registers it when it loads (it imports this module, so this one cannot
#: import it). funcref values convert through it.
_Function: Any = None


def register_function(cls: type) -> None:
    global _Function
    _Function = cls


def funcref_slot(store: Store, value: Any) -> int:
    Function = _Function
    if value is None:
        return 0
    if isinstance(value, Function):
        if value._store is not store:
            raise ValueError("the function belongs to another store")
        return address(value._ptr)
    raise TypeError(f"expected a Function or None for funcref, got {type(value).__name__}")


def ref_top(store: Store, t: AnyValType) -> HeapType | None:
    """A reference type's hierarchy, a concrete one's as its store says (ANY for a struct or an array type)."""
    if isinstance(t, RefType) and not isinstance(t.heap, HeapType):
        return HeapType.ANY if lib.wr_api_type_kind(store._ptr, t.heap) else HeapType.FUNC
    return t.top


def ref_slot(store: Store, t: RefType, value: Any) -> int:
    """The slot of `value` as the reference type `t`, checked: the core trusts a reference's type."""
    if value is None:
        if not t.nullable:
            raise RefTypeError(f"None for the non-nullable reference type {t}")
        return 0
    if t.heap in (HeapType.NOFUNC, HeapType.NOEXTERN, HeapType.NOEXN, HeapType.NONE):
        raise RefTypeError(f"{t} takes only None, got {type(value).__name__}")
    top = ref_top(store, t)
    if top is HeapType.EXTERN:
        return extern_slot(store, value)
    if top is HeapType.ANY:
        return any_slot(store, t, value)
    if top is HeapType.EXN:
        return exnref_slot(store, value)
    slot = funcref_slot(store, value)
    if not isinstance(t.heap, HeapType) and not lib.wr_api_type_sub(
        store._ptr, lib.wr_api_func_type_id(ffi.cast("wr_func *", slot)), t.heap
    ):
        raise RefTypeError(f"a function of type {value.type} for {t}")
    return slot


def from_slots(store: Store, t: AnyValType, slots: Sequence[int], i: int) -> Any:
    """The value of type `t` at slots[i] (and slots[i+1] for v128)."""
    s = slots[i]
    if t is ValType.I32:
        s &= _M32
        return s - (1 << 32) if s & 0x8000_0000 else s
    if t is ValType.I64:
        return s - (1 << 64) if s & (1 << 63) else s
    if t is ValType.F32:
        return f32_value(s)
    if t is ValType.F64:
        return f64_value(s)
    if t is ValType.V128:
        return s | (slots[i + 1] << 64)
    if t is ValType.FUNCREF:
        return funcref_value(store, s)
    if t is ValType.EXTERNREF or (t.is_ref and ref_top(store, t) in (HeapType.EXTERN, HeapType.ANY)):
        return extern_value(store, s)
    if t is ValType.EXNREF or t is ValType.NULLEXNREF or (isinstance(t, RefType) and t.top is HeapType.EXN):
        return exnref_value(store, s)
    if isinstance(t, RefType):
        return funcref_value(store, s)
    raise TypeError(f"unknown value type {t!r}")  # pragma: no cover


#: The Tag class, registered by tag.py as Function is by function.py: exnref values convert through it.
_Tag: Any = None


def register_tag(cls: type) -> None:
    global _Tag
    _Tag = cls


def tag_of(exc: WasmException) -> Any:
    """The core Tag of `exc`: its tag, or the one a wrapper of it (the wasmer face's Tag) stands for; None if
    it has none."""
    tag = exc.tag
    if not isinstance(tag, _Tag):
        tag = getattr(tag, "_core", None)
    return tag if isinstance(tag, _Tag) else None


def _hold_exn(store: Store, exc: WasmException, ptr: Any) -> None:
    """`exc` stands for the C exception `ptr` from now on: it pins it (a GC root, wr_gc.h) until `exc` is freed,
    and is the one WasmException of it (store._wrapper by its exnref slot)."""
    lib.wr_api_exn_pin(ptr)
    native = store._native

    def unpin(p: Any) -> None:
        sp = native.ptr
        if sp is not None:  # a closed store freed its exceptions
            lib.wr_api_exn_unpin(sp, p)

    exc._exn = ffi.gc(ptr, unpin)
    exc._store = store
    store._remember(int(lib.wr_api_exn_ref(ptr)), exc)


def exn_handle(store: Store, exc: WasmException) -> Any:
    """The C exception (wr_exn *) of `exc` in `store`, made now for one raised in Python: ValueError when its
    tag (or the exception) belongs to another store."""
    if exc._exn is not None:
        if exc._store is not store:
            raise ValueError("the exception belongs to another store")
        return exc._exn
    tag = tag_of(exc)
    if tag is None:
        raise TypeError(f"a WasmException's tag must be a Tag, not {type(exc.tag).__name__}")
    if tag._store is not store:
        raise ValueError("the exception's tag belongs to another store")
    slots = args_to_slots(store, tag.type.params, exc.payload)
    ptr = lib.wr_api_exn_new(store._ptr, tag._ptr, ffi.new("uint64_t[]", slots or [0]))
    if ptr == NULL:
        raise MemoryError("cannot create an exception (out of memory or past max_gc_bytes)")
    _hold_exn(store, exc, ptr)
    return exc._exn


def exnref_slot(store: Store, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, WasmException):
        return int(lib.wr_api_exn_ref(exn_handle(store, value)))
    raise TypeError(f"expected a WasmException or None for exnref, got {type(value).__name__}")


def exnref_value(store: Store, slot: int, frames: Sequence[Any] = (), code: int = 0) -> Any:
    """The WasmException of the C exception `slot` (one Python object per exception while it is referenced)."""
    if slot == 0:
        return None
    exc = store._wrapper(slot, WasmException)
    if exc is not None:
        if frames:
            exc.frames = list(frames)
        return exc
    ptr = lib.wr_api_ref_exn(slot)
    tag = _Tag._from_ptr(store, lib.wr_api_exn_tag(ptr))
    params = tag.type.params
    n = slot_count(params)
    payload = slots_to_values(store, params, ffi.unpack(lib.wr_api_exn_payload(ptr), n)) if n else []
    exc = WasmException(tag, payload, frames, code)
    _hold_exn(store, exc, ptr)
    return exc


def funcref_value(store: Store, slot: int) -> Any:
    Function = _Function
    if slot == 0:
        return None
    return Function._from_ptr(store, ffi.cast("wr_func *", slot))


def args_to_slots(store: Store, types: Sequence[AnyValType], args: Sequence[Any]) -> list[int]:
    if len(args) != len(types):
        raise TypeError(f"expected {len(types)} arguments, got {len(args)}")
    out: list[int] = []
    for t, v in zip(types, args, strict=True):
        to_slots(store, t, v, out)
    return out


def slots_to_values(store: Store, types: Sequence[AnyValType], slots: Sequence[int]) -> list[Any]:
    values = []
    i = 0
    for t in types:
        values.append(from_slots(store, t, slots, i))
        i += t.slots
    return values


def slot_count(types: Sequence[AnyValType]) -> int:
    return sum(t.slots for t in types)
