"""Fixed-point policies: how float tables may go to hardware that computes on integers.

A kernel whose FPGA loops compute with floats is refused for hardware unless its user
declares a policy, in the decorator or on the command line::

    @cs.kernel(fixed=cs.fixed("Q16.47", atol=1e-9))      # or fixed="Q16.47,atol=1e-9"
    cosynth simulate ... --fixed Q16.47,atol=1e-9

``Qm.n`` (TI notation) is a signed two's-complement number with ``m`` integer bits and
``n`` fraction bits, held in the unit's 64-bit words (``1 + m + n <= 64``): a float ``x``
enters the unit as ``round(x * 2**n)`` and leaves it as ``v / 2**n``.  Every value that
enters (a table entry, a float scalar, a float weight) must satisfy ``|x| < 2**m``;
otherwise the call is refused, naming the value (a wrapped fixed-point sum would be a
silently wrong answer).

What the policy changes, and what it promises:

* the reductions of the unit's loops are proved again on the fixed-point semantics
  (Z3 on 64-bit bit-vectors, where ``add`` *is* associative: no ``reassociate-float-sums``
  assumption is needed) -- ``backends.rtl.kernel`` keeps those proofs with the unit;
* each result the unit produces is compared with the float interpreter of the kernel as
  written within the stated tolerance ``|got - want| <= atol + rtol * |want|``; a larger
  error is a mismatch (an error), never a warning.  Rounding each value to ``2**-n`` costs
  at most ``2**-(n+1)`` per value entered and nothing per addition, so the error of a sum
  of k entered values is at most ``k * 2**-(n+1)``: pick ``n`` and the tolerance together.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .errors import ArgumentError, CosynthError

__all__ = ["FixedPoint", "fixed", "parse_fixed", "FixedRangeError", "WORD_BITS"]

WORD_BITS = 64
_Q = re.compile(r"^\s*Q(\d+)\.(\d+)\s*$", re.IGNORECASE)


class FixedRangeError(CosynthError):
    """A float value does not fit the declared fixed-point format."""


@dataclass(frozen=True)
class FixedPoint:
    """A ``Qm.n`` policy with the tolerance its results are checked against."""

    int_bits: int
    frac_bits: int
    atol: float
    rtol: float = 0.0

    def __post_init__(self):
        if self.int_bits < 0 or self.frac_bits < 0 or \
                1 + self.int_bits + self.frac_bits > WORD_BITS:
            raise ArgumentError(f"fixed-point format Q{self.int_bits}.{self.frac_bits} does "
                                f"not fit a {WORD_BITS}-bit word (1 + m + n <= {WORD_BITS})",
                                hint="for example Q16.47")
        if not (self.atol >= 0 and self.rtol >= 0) or \
                not math.isfinite(self.atol) or not math.isfinite(self.rtol) or \
                self.atol == self.rtol == 0:
            raise ArgumentError(f"fixed-point tolerance atol={self.atol}, rtol={self.rtol}: "
                                "state a finite, non-negative, non-zero tolerance",
                                hint="e.g. fixed=cs.fixed('Q16.47', atol=1e-9)")

    @property
    def name(self) -> str:
        return f"Q{self.int_bits}.{self.frac_bits}"

    @property
    def scale(self) -> float:
        return float(2 ** self.frac_bits)

    @property
    def limit(self) -> float:
        """Values entering the unit must satisfy ``|x| < limit``."""
        return float(2 ** self.int_bits)

    def describe(self) -> str:
        tol = f"atol {self.atol:g}" + (f", rtol {self.rtol:g}" if self.rtol else "")
        return f"fixed point {self.name} (results within {tol} of the float kernel)"

    def encode(self, x, what: str = "a value") -> np.ndarray:
        """Floats as fixed-point integers (int64), refusing NaN and values out of range."""
        a = np.asarray(x, dtype=np.float64)
        bad = ~np.isfinite(a) | (np.abs(a) >= self.limit)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            v = float(a.ravel()[i])
            where = f"{what}[{i}]" if a.ndim else what
            raise FixedRangeError(
                f"{where} = {v!r} does not fit the fixed-point policy {self.name} "
                f"(|x| < 2**{self.int_bits})",
                hint=f"declare more integer bits (e.g. Q{self.int_bits + 8}."
                     f"{max(0, self.frac_bits - 8)}) or keep this kernel on the CPU")
        return np.rint(a * self.scale).astype(np.int64)

    def decode(self, v) -> np.ndarray:
        return np.asarray(v, dtype=np.int64).astype(np.float64) / self.scale

    def const(self, x: float) -> int:
        """A float constant of the kernel as a fixed-point integer (refused when out of
        range)."""
        return int(self.encode(float(x), f"the constant {x!r}"))

    def as_text(self) -> str:
        out = f"{self.name},atol={self.atol!r}"
        return out + (f",rtol={self.rtol!r}" if self.rtol else "")


def fixed(fmt: str, *, atol: float = 0.0, rtol: float = 0.0) -> FixedPoint:
    """``cs.fixed("Q16.47", atol=1e-9)``: a fixed-point policy for ``@cs.kernel(fixed=...)``."""
    m = _Q.match(fmt or "")
    if not m:
        raise ArgumentError(f"fixed-point format {fmt!r} is not Qm.n",
                            hint="write Qm.n (m integer bits, n fraction bits), e.g. "
                                 "'Q16.47'")
    return FixedPoint(int(m.group(1)), int(m.group(2)), float(atol), float(rtol))


def parse_fixed(spec) -> FixedPoint | None:
    """A policy from the decorator or the CLI: None, a ``FixedPoint``, or text
    ``"Q16.47,atol=1e-9[,rtol=...]"``."""
    if spec is None or isinstance(spec, FixedPoint):
        return spec
    if not isinstance(spec, str):
        raise ArgumentError(f"fixed={spec!r} is not a fixed-point policy",
                            hint="give cs.fixed('Q16.47', atol=1e-9) or the text "
                                 "'Q16.47,atol=1e-9'")
    fmt, *rest = spec.split(",")
    kw = {}
    for item in rest:
        key, _, val = item.partition("=")
        key = key.strip()
        if key not in ("atol", "rtol") or not val.strip():
            raise ArgumentError(f"fixed-point policy {spec!r}: unknown part {item.strip()!r}",
                                hint="write e.g. Q16.47,atol=1e-9 (and optionally ,rtol=...)")
        try:
            kw[key] = float(val)
        except ValueError:
            raise ArgumentError(f"fixed-point policy {spec!r}: {key}={val.strip()!r} is "
                                "not a number", hint=f"write e.g. {key}=1e-9") from None
    return fixed(fmt, **kw)
