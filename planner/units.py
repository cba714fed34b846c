"""Quantities with units in manifests: sizes, bandwidths, frequencies, durations, money.

``parse("64 GiB", "size")`` -> bytes; ``"10 Gb/s"`` -> bytes per second; ``"2.4 GHz"`` ->
Hz; ``"5 us"`` -> seconds.  A number without a unit, or with the wrong kind of unit, is a
``UnitError`` naming what was expected, so a manifest cannot silently mean gigabits where
it said gigabytes.
"""

from __future__ import annotations

import re

__all__ = ["UnitError", "parse", "format_quantity", "KINDS"]

_SIZE = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KIB": 2**10, "MIB": 2**20,
         "GIB": 2**30, "TIB": 2**40}
_BITS = {"b": 1 / 8, "Kb": 1e3 / 8, "Mb": 1e6 / 8, "Gb": 1e9 / 8, "Tb": 1e12 / 8,
         "kbit": 1e3 / 8, "Mbit": 1e6 / 8, "Gbit": 1e9 / 8, "Tbit": 1e12 / 8}
_FREQ = {"HZ": 1, "KHZ": 1e3, "MHZ": 1e6, "GHZ": 1e9}
_TIME = {"NS": 1e-9, "US": 1e-6, "µS": 1e-6, "MS": 1e-3, "S": 1.0}

KINDS = {
    "size": "a size such as '64 GiB' or '512 MB'",
    "bandwidth": "a bandwidth such as '40 GB/s' or '10 Gb/s'",
    "frequency": "a frequency such as '2.4 GHz' or '100 MHz'",
    "time": "a duration such as '5 us' or '1.5 ms'",
    "count": "a whole number",
    "number": "a number",
}


class UnitError(ValueError):
    """The text is not a quantity of the expected kind (the message says what is)."""


_RX = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+]?\.\d+)\s*([A-Za-zµ/]*)\s*$")


def parse(text, kind: str) -> float:
    """The quantity in base units (bytes, bytes/s, Hz, s); negative values refused."""
    if kind in ("count", "number"):
        if isinstance(text, bool):
            raise UnitError(f"expected {KINDS[kind]}, found {text!r}")
        try:
            v = float(text) if kind == "number" else _count(text)
        except (TypeError, ValueError):
            raise UnitError(f"expected {KINDS[kind]}, found {text!r}") from None
        if v != v or v in (float("inf"), float("-inf")):  # .nan, .inf
            raise UnitError(f"expected {KINDS[kind]}, found {text!r}")
        if v < 0:
            raise UnitError(f"must not be negative, found {text!r}")
        return v
    if isinstance(text, int | float) and not isinstance(text, bool):
        raise UnitError(f"'{text}' has no unit; expected {KINDS[kind]}")
    m = _RX.match(str(text))
    if not m:
        raise UnitError(f"cannot read '{text}'; expected {KINDS[kind]}")
    value, unit = float(m.group(1)), m.group(2)
    if not unit:
        raise UnitError(f"'{text}' has no unit; expected {KINDS[kind]}")
    scale = _scale(unit, kind)
    if scale is None:
        raise UnitError(f"'{unit}' is not a unit of {kind}; expected {KINDS[kind]}")
    if value < 0:
        raise UnitError(f"must not be negative, found '{text}'")
    return value * scale


def _count(text) -> int:
    if isinstance(text, float) and not text.is_integer():
        raise ValueError
    v = int(str(text).strip()) if not isinstance(text, int | float) else int(text)
    return v


def _scale(unit: str, kind: str):
    if kind == "size":
        return _SIZE.get(unit.upper()) if unit.endswith("B") else None  # 'b' is a bit
    if kind == "bandwidth":
        if not unit.endswith("/s"):
            return None
        base = unit[:-2]
        if base in _BITS:
            return _BITS[base]
        if base.endswith("B") and base.upper() in _SIZE:
            return _SIZE[base.upper()]
        return None
    if kind == "frequency":
        return _FREQ.get(unit.upper())
    if kind == "time":
        return _TIME.get(unit.upper() if unit != "µs" else "µS")
    raise ValueError(kind)


def format_quantity(v: float, kind: str) -> str:
    """A readable rendering: ``format_quantity(68719476736, 'size') == '64 GiB'``."""
    if kind == "size":
        for u, s in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if v >= s:
                return f"{v / s:.3g} {u}"
        return f"{v:.0f} B"
    if kind == "bandwidth":
        for u, s in (("TB/s", 1e12), ("GB/s", 1e9), ("MB/s", 1e6), ("KB/s", 1e3)):
            if v >= s:
                return f"{v / s:.3g} {u}"
        return f"{v:.3g} B/s"
    if kind == "frequency":
        for u, s in (("GHz", 1e9), ("MHz", 1e6), ("kHz", 1e3)):
            if v >= s:
                return f"{v / s:.3g} {u}"
        return f"{v:.3g} Hz"
    if kind == "time":
        for u, s in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
            if v >= s:
                return f"{v / s:.3g} {u}"
        return f"{v / 1e-9:.3g} ns"
    return f"{v:g}"
