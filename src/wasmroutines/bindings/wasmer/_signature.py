"""A host function's FunctionType from its annotations, by wasmer's rules.

`int`, `'i32'`, `'I32'` are I32; `'i64'`, `'I64'` I64; `float`, `'f32'`,
`'F32'` F32 (`float` is F32, as in wasmer); `'f64'`, `'F64'` F64; a `Type`
member stands for itself. Parameters are the annotations in order; the
return annotation is None or absent (no result), one type, or a tuple of
types. Additions to wasmer: annotations written as strings (`from
__future__ import annotations`) are resolved as typing does, and
`tuple[int, int]` works as a return annotation.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, get_args, get_origin

from ._types import FunctionType, Type
from .errors import AnnotationError

__all__ = ["function_type_of"]

_BY_NAME = {
    "i32": Type.I32,
    "I32": Type.I32,
    "i64": Type.I64,
    "I64": Type.I64,
    "f32": Type.F32,
    "F32": Type.F32,
    "f64": Type.F64,
    "F64": Type.F64,
}
_BY_CLASS: dict[Any, Type] = {int: Type.I32, float: Type.F32}
_RESOLVE_FAILED: Any = object()


def _resolve(annotation: Any, fn: Callable[..., Any]) -> Any:
    """A string annotation (PEP 563) evaluated in the function's globals, as typing does; the string if that fails."""
    if not isinstance(annotation, str) or annotation in _BY_NAME:
        return annotation
    if annotation == "None":
        return None
    namespace = getattr(fn, "__globals__", None)
    try:
        return eval(annotation, dict(namespace) if namespace else {})  # noqa: S307 - what typing.get_type_hints does
    except Exception:
        return annotation


def _one(annotation: Any) -> Type:
    if isinstance(annotation, Type):
        return annotation
    if isinstance(annotation, str):
        found = _BY_NAME.get(annotation)
    else:
        found = _BY_CLASS.get(annotation)
    if found is None:
        raise AnnotationError(f"Type `{type(annotation).__name__}` (`{annotation}`) is not a supported type")
    return found


def _tuple_items(annotation: Any) -> tuple[Any, ...] | None:
    """The items of a tuple annotation (`(int, int)` or `tuple[int, int]`), None for anything else."""
    if isinstance(annotation, tuple):
        return annotation
    if get_origin(annotation) is tuple:
        return get_args(annotation)
    return None


def function_type_of(fn: Callable[..., Any]) -> FunctionType:
    """The FunctionType a callable's annotations describe.

    >>> from wasmroutines.bindings.wasmer._signature import function_type_of
    >>> def add(a: int, b: "i64") -> (float, "f64"):
    ...     return a + b
    >>> print(function_type_of(add))
    FunctionType(params: [I32, I64], results: [F32, F64])
    >>> print(function_type_of(lambda: None))
    FunctionType(params: [], results: [])
    >>> function_type_of(print)
    Traceback (most recent call last):
    ...
    ValueError: The function must have type annotations
    """
    annotations = getattr(fn, "__annotations__", None)
    if not isinstance(annotations, dict):
        raise ValueError("The function must have type annotations")
    params: list[Type] = []
    results: list[Type] = []
    for name, raw in annotations.items():
        annotation = _resolve(raw, fn)
        if name == "return":
            items = _tuple_items(annotation)
            if items is None:
                if annotation is not None and annotation is not types.NoneType:
                    results.append(_one(annotation))
                continue
            for item in items:
                if _tuple_items(item) is not None:
                    raise AnnotationError("It is not possible to get a tuple inside a tuple yet")
                results.append(_one(item))
        elif annotation is None or annotation is types.NoneType:
            raise AnnotationError(f"Variable `{name}` cannot have type `None`")
        elif _tuple_items(annotation) is not None:
            raise AnnotationError(f"Variable `{name}` cannot receive a tuple (not supported yet)")
        else:
            params.append(_one(annotation))
    return FunctionType(params, results)
