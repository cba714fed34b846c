"""Element types of cosynth tables and scalars, and the promotion rules every stage shares.

A ``DType`` is one of ``i32 i64 f32 f64 boolean``.  The rules follow NumPy 2 (NEP 50):
a Python literal is *weak* and takes the type of the typed operand it meets; two typed
operands promote to the wider type of the more general kind (bool < int < float).
Integer arithmetic wraps in two's complement at the type's width (as NumPy arrays and C
unsigned arithmetic do); float arithmetic is IEEE 754 at the type's width.

A dtype is also a cast when called: ``cs.i32(x)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DType",
    "i32",
    "i64",
    "f32",
    "f64",
    "boolean",
    "DTYPES",
    "INF",
    "promote",
    "can_store",
    "fill_value",
]

INF = math.inf
"""Positive infinity.  Filling an integer table with it stores the type's maximum value."""


@dataclass(frozen=True)
class DType:
    """A table element type.  ``kind`` is ``"bool"``, ``"int"`` or ``"float"``."""

    name: str
    kind: str
    bits: int

    @property
    def np(self) -> np.dtype:
        return np.dtype({"bool": np.bool_, "i32": np.int32, "i64": np.int64,
                         "f32": np.float32, "f64": np.float64}[self.name])

    @property
    def is_int(self) -> bool:
        return self.kind == "int"

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    @property
    def max(self):
        if self.is_int:
            return (1 << (self.bits - 1)) - 1
        if self.is_float:
            return math.inf
        return True

    @property
    def min(self):
        if self.is_int:
            return -(1 << (self.bits - 1))
        if self.is_float:
            return -math.inf
        return False

    def __call__(self, x):
        """Cast a value: the plain-Python meaning of ``cs.i32(x)`` in a kernel.

        Returns a NumPy scalar of this type (a typed value, as a table entry is).
        """
        if isinstance(x, np.generic):
            x = x.item()
        if self.is_bool:
            return np.bool_(bool(x))
        if self.is_int:
            if isinstance(x, float):
                if not math.isfinite(x):
                    raise OverflowError(f"cannot convert {x} to {self.name}")
                x = int(x)
            return self.np.type(wrap_int(int(x), self.bits))
        return self.np.type(x)

    def __repr__(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


i32 = DType("i32", "int", 32)
i64 = DType("i64", "int", 64)
f32 = DType("f32", "float", 32)
f64 = DType("f64", "float", 64)
boolean = DType("bool", "bool", 1)

DTYPES: dict[str, DType] = {"i32": i32, "i64": i64, "f32": f32, "f64": f64, "bool": boolean}

_RANK = {"bool": 0, "int": 1, "float": 2}


def from_numpy(dt) -> DType:
    """The cosynth dtype of a NumPy dtype, or ValueError."""
    dt = np.dtype(dt)
    for d in DTYPES.values():
        if d.np == dt:
            return d
    if dt.kind in "iu" and dt.itemsize <= 4:
        return i32
    if dt.kind in "iu":
        return i64
    raise ValueError(f"no cosynth dtype for NumPy dtype {dt}")


def promote(a: DType, b: DType, a_weak: bool = False, b_weak: bool = False) -> DType:
    """The result type of an arithmetic operation on ``a`` and ``b``.

    A weak operand (a Python literal) adopts the other operand's type when its kind is
    not more general; otherwise the result is the default type of the weak kind.
    """
    if a_weak and not b_weak:
        return b if _RANK[a.kind] <= _RANK[b.kind] else a
    if b_weak and not a_weak:
        return a if _RANK[b.kind] <= _RANK[a.kind] else b
    if _RANK[a.kind] != _RANK[b.kind]:
        hi, lo = (a, b) if _RANK[a.kind] > _RANK[b.kind] else (b, a)
        if hi.is_float and lo.is_int and lo.bits > 16 and hi.bits == 32:
            return f64  # NumPy: int32/int64 with float32 gives float64
        return hi
    return a if a.bits >= b.bits else b


def can_store(value: DType, table: DType) -> bool:
    """May a value of type ``value`` be stored into a table of type ``table``?

    NumPy's ``same_kind`` rule: within a kind (narrowing included, C-style) and upwards
    in kind (bool to int, int to float); never float to int or anything but bool to bool.
    """
    if table.is_bool:
        return value.is_bool
    return _RANK[value.kind] <= _RANK[table.kind]


def wrap_int(x: int, bits: int) -> int:
    """Two's-complement wrap of a Python int to ``bits`` bits."""
    half = 1 << (bits - 1)
    if -half <= x < half:
        return x
    return ((x + half) & ((1 << bits) - 1)) - half


def fill_value(dtype: DType, fill):
    """The stored value of ``fill`` in a table of ``dtype`` (``INF`` maps to an int max).

    Raises TypeError when the fill cannot be stored (a fractional float in an int table).
    """
    if isinstance(fill, np.generic):
        fill = fill.item()
    if dtype.is_bool:
        if not isinstance(fill, bool):
            raise TypeError(f"a {dtype} table needs a bool fill, not {fill!r}")
        return fill
    if dtype.is_int:
        if isinstance(fill, float):
            if fill == math.inf:
                return dtype.max
            if fill == -math.inf:
                return dtype.min
            raise TypeError(f"a {dtype} table cannot be filled with the float {fill!r}")
        if isinstance(fill, bool):
            return int(fill)
        if not dtype.min <= fill <= dtype.max:
            raise TypeError(f"fill {fill} does not fit in {dtype}")
        return int(fill)
    return dtype(fill).item()
