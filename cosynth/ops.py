"""The operator table: every IR operator's meaning, defined once.

Each binary, unary, comparison and logical operator of the IR is an ``Op`` in ``BINARY``
or ``UNARY``; each reduction operator (``t[i] op= v``) is a ``Reduction`` in
``REDUCTIONS``; conversions between dtypes are ``convert`` / ``convert_array``.  An entry
holds, per dtype kind it admits (``int``, ``float``, ``bool``):

* ``scalar``: the reference meaning on Python values (what the IR interpreter runs);
* ``array``: the same meaning on NumPy arrays (the vectorised executor);
* ``z3``: the exact SMT encoding, a function receiving the ``z3`` module (the prover);
* ``cpp``: the C++ spelling, a format string over ``{a} {b} {c} {line}`` (operands
  already converted to the result type ``{c}``); helpers it calls are in ``CPP_HELPERS``
  and live in ``backends/cpp/runtime/cosynth_rt.hpp``;
* ``rtl``: the Amaranth builder (cost class, function receiving ``amaranth.hdl`` and
  operand values sign-extended to a common width) for integer and bool operators;
* the algebraic laws it satisfies and, for a reduction, its identity per dtype.

Invariants (``tests/test_ops.py`` checks every one on every admitted dtype, on random and
edge-case values, in the interpreter, the vectorised executor, compiled C++, Amaranth
simulation and Z3):

* Integers wrap in two's complement at the result's width.  ``//`` and ``%`` floor as in
  Python (``%`` takes the divisor's sign); an integer division by zero, a negative
  integer power and a shift outside ``0..bits-1`` are ``DomainError``s, never values.
* Floats are IEEE 754 at the result's width, round-to-nearest-even.  Every f32 operation
  is the f64 operation on the same operands rounded once to f32 (for ``+ - * /`` that is
  the direct f32 result: double rounding through binary64 is innocuous for them; for
  ``// % **`` it is the definition).  Float ``//`` and ``%`` are NumPy's (Python's away
  from zero divisors): ``x // 0.0`` is ``x / 0.0`` and ``x % 0.0`` is NaN.  ``**`` is C's
  ``pow``.
* ``min(a, b)`` is ``b if b < a else a`` and ``max(a, b)`` is ``b if b > a else a``:
  the first operand wins ties (so ``min(0.0, -0.0)`` is ``0.0``) and a NaN first
  operand stays.
* Comparisons compare the values converted to their common type; bools compare only
  with ``==`` / ``!=``.  ``and`` / ``or`` evaluate the right operand only when the left
  one (``short_circuit``) does not decide.
* A reduction ``t op= v`` means ``t = t binop v`` for its ``binary`` operator, and
  ``identity(op, d) op x`` is ``x`` for every ``x`` of ``d``.  Its ``laws`` hold
  exactly, except that float ``min`` / ``max`` laws hold under the ``nan-free`` policy
  and count ``-0.0`` and ``0.0`` as the same value (as ``frontend.rewrite.smt.same``
  does); vectorised scatters (``ufunc``) rely on those laws.

This module is core: it imports only NumPy and ``cosynth.dtypes``; z3 and amaranth reach
it as arguments.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .dtypes import DType

__all__ = [
    "Op", "Reduction", "DomainError", "BINARY", "UNARY", "REDUCTIONS", "ARITH_OPS",
    "BIT_OPS", "CMP_OPS", "LOGIC_OPS", "BIN_OPS", "UN_OPS", "REDUCE_OPS", "CPP_HELPERS",
    "binary", "unary", "reduction", "identity", "fold", "convert", "convert_array",
    "cpp_cast", "z3_convert", "round_f32", "wrap",
]


class DomainError(ArithmeticError):
    """An operation outside its operator's domain (integer division by zero, a negative
    integer power, a shift out of range, a float that does not fit an integer).  The
    executors report it at the kernel's source line."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


# --------------------------------------------------------------------- value helpers
def wrap(bits: int) -> Callable[[int], int]:
    """The two's-complement wrap of a Python int to ``bits`` bits."""
    return _WRAP[bits]


def _wrapper(bits: int):
    half = 1 << (bits - 1)
    mask = (1 << bits) - 1

    def wrap_bits(x):
        if -half <= x < half:
            return x
        return ((x + half) & mask) - half
    return wrap_bits


_WRAP = {32: _wrapper(32), 64: _wrapper(64)}


_I64 = 1 << 63


def round_f32(x) -> float:
    """A Python number rounded once to binary32 (overflow gives an infinity)."""
    if isinstance(x, int) and not isinstance(x, bool) and -_I64 <= x < _I64:
        return float(np.float32(np.int64(x)))  # one rounding (not via binary64)
    with np.errstate(over="ignore"):
        return float(np.float32(x))


def _rounding(d: DType):
    """The function that rounds an f64 result to ``d`` (None for f64)."""
    return round_f32 if d.bits == 32 else None


def _fdiv(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _ffloordiv(a, b):
    if b == 0:
        return _fdiv(a, b)
    return a // b


def _fmod(a, b):
    if b == 0:
        return math.nan
    return a % b


def _fpow(a, b):
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError):  # C's pow gives an infinity or NaN
        with np.errstate(all="ignore"):
            return float(np.power(np.float64(a), np.float64(b)))


def _int_divisor(b):
    if b == 0:
        raise DomainError("integer division by zero")


def _int_exponent(a, b):
    if b < 0:
        raise DomainError(f"integer {a} raised to the negative power {b}",
                          "use a float base for negative powers")


def _shift_amount(b, bits: int):
    if not 0 <= b < bits:
        raise DomainError(f"shift by {b} is outside 0..{bits - 1}")


# --------------------------------------------------------------- scalar factories
def _int_scalar(name: str, d: DType):
    w, bits = _WRAP[d.bits], d.bits
    if name in ("+", "-", "*"):
        f = {"+": operator.add, "-": operator.sub, "*": operator.mul}[name]
        return lambda x, y: w(f(x, y))
    if name == "//":
        def floordiv(x, y):
            _int_divisor(y)
            return w(x // y)
        return floordiv
    if name == "%":
        def mod(x, y):
            _int_divisor(y)
            return x % y
        return mod
    if name == "**":
        def ipow(x, y):
            _int_exponent(x, y)
            return w(pow(x, y, 1 << bits))
        return ipow
    if name in ("&", "|", "^"):
        return {"&": operator.and_, "|": operator.or_, "^": operator.xor}[name]
    if name == "<<":
        def shl(x, y):
            _shift_amount(y, bits)
            return w(x << y)
        return shl
    if name == ">>":
        def shr(x, y):
            _shift_amount(y, bits)
            return x >> y
        return shr
    raise KeyError(name)  # pragma: no cover


def _float_scalar(name: str, d: DType):
    f = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": _fdiv,
         "//": _ffloordiv, "%": _fmod, "**": _fpow}[name]
    r = _rounding(d)
    if r is None:
        return f
    return lambda x, y: r(f(x, y))


def _min(x, y):
    return y if y < x else x


def _max(x, y):
    return y if y > x else x


# ---------------------------------------------------------------- array factories
def _as_f64(f):
    """An f32 array operation defined as the f64 operation rounded once to f32."""
    def g(a, b):
        return f(a.astype(np.float64), b.astype(np.float64)).astype(np.float32)
    return g


def _int_array(name: str, d: DType):
    bits = d.bits
    if name in ("+", "-", "*", "&", "|", "^"):
        return {"+": np.add, "-": np.subtract, "*": np.multiply, "&": np.bitwise_and,
                "|": np.bitwise_or, "^": np.bitwise_xor}[name]
    if name in ("//", "%"):
        f = np.floor_divide if name == "//" else np.remainder

        def divmod_(a, b):
            if (b == 0).any():
                _int_divisor(0)
            return f(a, b)
        return divmod_
    if name == "**":
        def ipow(a, b):
            bad = b < 0
            if bad.any():
                _int_exponent(int(a[bad][0]), int(b[bad][0]))
            return np.power(a, b)
        return ipow

    f = np.left_shift if name == "<<" else np.right_shift

    def shift(a, b):
        bad = (b < 0) | (b >= bits)
        if bad.any():
            _shift_amount(int(b[bad][0]), bits)
        return f(a, b)
    return shift


_libm_pow = np.frompyfunc(_fpow, 2, 1)


def _array_pow(a, b):
    """Float power element by element through the C library's ``pow`` (``_fpow``), as
    the interpreter and the generated C++ compute it.  NumPy's own ``np.power`` on float
    arrays may dispatch to a SIMD routine that is not correctly rounded (NumPy 2.4 on
    AVX-512 machines: one unit in the last place off), which would make the vectorised
    executor disagree with the scalar one and with the blades."""
    with np.errstate(all="ignore"):
        return np.asarray(_libm_pow(a, b), dtype=np.float64)


def _float_array(name: str, d: DType):
    f = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide,
         "//": np.floor_divide, "%": np.remainder, "**": _array_pow}[name]
    if d.bits == 32 and name in ("//", "%", "**"):
        return _as_f64(f)
    return f


def _array_min(a, b):
    return np.where(b < a, b, a)


def _array_max(a, b):
    return np.where(b > a, b, a)


# ----------------------------------------------------------------------- the entry
@dataclass(frozen=True)
class Op:
    """One IR operator (see the module docstring for the meaning of each field)."""

    name: str
    group: str  # arith | bit | shift | cmp | logic | unary
    arity: int
    kinds: tuple[str, ...]  # dtype kinds of the (converted) operands it admits
    scalar: dict  # kind -> (dtype -> function on Python values)
    array: dict  # kind -> (dtype -> function on NumPy arrays)
    z3: dict  # kind -> function(z3, *terms, dtype); a kind missing here is not modelled
    cpp: dict  # kind -> format string over {a} {b} {c} {line}
    rtl: dict = field(default_factory=dict)  # kind -> (cost class, fn(hdl, *values))
    cpp_helper: str | None = None  # the runtime template the spelling calls
    z3_domain: Callable | None = None  # (z3, a, b, d) -> where the value is defined
    rounded: bool = False  # a correctly rounded IEEE operation on floats
    short_circuit: bool | None = None  # logic: the left value that decides alone
    laws: dict = field(default_factory=dict)  # kind -> frozenset of law names
    python: Callable | None = None  # meaning on weak Python numbers (constant folding)

    def admits(self, d: DType) -> bool:
        return d.kind in self.kinds

    def scalar_fn(self, d: DType) -> Callable:
        """The reference function on Python values of the operand type ``d``."""
        return self.scalar[d.kind](d)

    def array_fn(self, d: DType) -> Callable:
        """The same meaning on NumPy arrays of ``d``."""
        return self.array[d.kind](d)

    def z3_fn(self, d: DType) -> Callable | None:
        """``fn(z3, *terms)`` encoding the operator exactly, or None (not modelled)."""
        f = self.z3.get(d.kind)
        if f is None:
            return None
        return lambda z3, *args: f(z3, *args, d)

    def cpp_spelling(self, d: DType) -> str:
        return self.cpp[d.kind]

    def rtl_builder(self, d: DType) -> tuple[str, Callable] | None:
        return self.rtl.get(d.kind)


def _same(kinds: tuple[str, ...], value):
    return {k: value for k in kinds}


_COMMUTE = frozenset({"commutative"})
_MONOID = frozenset({"commutative", "associative"})
_LATTICE = frozenset({"commutative", "associative", "idempotent"})
_NUM = ("int", "float")


def _arith(name: str, cpp_expr: str, *, helper: str | None = None, z3_int=None,
           z3_float=None, rounded=False, laws=None, python=None, rtl=None,
           z3_domain=None) -> Op:
    return Op(
        name, "arith", 2, _NUM,
        scalar={"int": lambda d: _int_scalar(name, d), "float": lambda d: _float_scalar(name, d)},
        array={"int": lambda d: _int_array(name, d), "float": lambda d: _float_array(name, d)},
        z3={k: f for k, f in (("int", z3_int), ("float", z3_float)) if f is not None},
        cpp=_same(_NUM, cpp_expr), rtl={"int": rtl} if rtl else {}, cpp_helper=helper,
        z3_domain=z3_domain, rounded=rounded, laws=laws or {}, python=python)


def _z3_floordiv(z3, a, b, d):
    q = a / b  # truncating
    fix = z3.And(z3.SRem(a, b) != 0, (z3.SRem(a, b) < 0) != (b < 0))
    return z3.If(fix, q - 1, q)


def _z3_nonzero(z3, a, b, d):
    return b != 0


def _z3_fp(fn: str):
    return lambda z3, a, b, d: getattr(z3, fn)(z3.RNE(), a, b)


def _z3_min(z3, a, b, d):
    return z3.If(_z3_cmp["<"][d.kind](z3, b, a, d), b, a)


def _z3_max(z3, a, b, d):
    return z3.If(_z3_cmp[">"][d.kind](z3, b, a, d), b, a)


def _fold_pow(a, b):
    if isinstance(a, float | int) and isinstance(b, int) and b >= 0:
        return a ** b
    return None


_z3_cmp = {
    "<": {"int": lambda z3, a, b, d: a < b, "float": lambda z3, a, b, d: z3.fpLT(a, b)},
    "<=": {"int": lambda z3, a, b, d: a <= b, "float": lambda z3, a, b, d: z3.fpLEQ(a, b)},
    ">": {"int": lambda z3, a, b, d: a > b, "float": lambda z3, a, b, d: z3.fpGT(a, b)},
    ">=": {"int": lambda z3, a, b, d: a >= b, "float": lambda z3, a, b, d: z3.fpGEQ(a, b)},
    "==": {"int": lambda z3, a, b, d: a == b, "float": lambda z3, a, b, d: z3.fpEQ(a, b),
           "bool": lambda z3, a, b, d: a == b},
    "!=": {"int": lambda z3, a, b, d: a != b,
           "float": lambda z3, a, b, d: z3.Not(z3.fpEQ(a, b)),
           "bool": lambda z3, a, b, d: a != b},
}


def _cmp(name: str) -> Op:
    kinds = ("int", "float", "bool") if name in ("==", "!=") else _NUM
    f = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
         "==": operator.eq, "!=": operator.ne}[name]
    g = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
         "==": np.equal, "!=": np.not_equal}[name]
    cost = "eq" if name in ("==", "!=") else "carry"
    return Op(name, "cmp", 2, kinds, scalar=_same(kinds, lambda d: f),
              array=_same(kinds, lambda d: g), z3=_z3_cmp[name],
              cpp=_same(kinds, f"({{a}} {name} {{b}})"),
              rtl={k: (cost, lambda hdl, x, y: f(x, y)) for k in ("int", "bool")},
              laws=_same(kinds, _COMMUTE) if name in ("==", "!=") else {})


def _bitwise(name: str) -> Op:
    f = {"&": operator.and_, "|": operator.or_, "^": operator.xor}[name]
    gb = {"&": np.logical_and, "|": np.logical_or, "^": np.logical_xor}[name]
    zb = {"&": "And", "|": "Or", "^": "Xor"}[name]
    laws = _MONOID | ({"idempotent"} if name != "^" else set())
    return Op(name, "bit", 2, ("int", "bool"),
              scalar={"int": lambda d: _int_scalar(name, d), "bool": lambda d: f},
              array={"int": lambda d: _int_array(name, d), "bool": lambda d: gb},
              z3={"int": lambda z3, a, b, d: f(a, b),
                  "bool": lambda z3, a, b, d: getattr(z3, zb)(a, b)},
              cpp={"int": f"(({{c}})({{a}} {name} {{b}}))",
                   "bool": f"((uint8_t)(({{a}}) {name} ({{b}})))"},
              rtl={k: ("logic", lambda hdl, x, y: f(x, y)) for k in ("int", "bool")},
              laws={"int": frozenset(laws), "bool": frozenset(laws)})


def _shift(name: str) -> Op:
    helper = "shl" if name == "<<" else "shr"
    return Op(name, "shift", 2, ("int",),
              scalar={"int": lambda d: _int_scalar(name, d)},
              array={"int": lambda d: _int_array(name, d)},
              z3={"int": (lambda z3, a, b, d: a << b) if name == "<<" else
                  (lambda z3, a, b, d: a >> b)},
              cpp={"int": f"{helper}<{{c}}>({{a}}, {{b}}, {{line}})"}, cpp_helper=helper,
              z3_domain=lambda z3, a, b, d: z3.And(b >= 0, b < d.bits),
              rtl={"int": ("wire", (lambda hdl, x, n: x << n) if name == "<<" else
                           (lambda hdl, x, n: x >> n))})


def _logic(name: str) -> Op:
    f = (lambda x, y: x and y) if name == "and" else (lambda x, y: x or y)
    g = np.logical_and if name == "and" else np.logical_or
    zf = "And" if name == "and" else "Or"
    sym = "&&" if name == "and" else "||"
    return Op(name, "logic", 2, ("bool",), scalar={"bool": lambda d: f},
              array={"bool": lambda d: g},
              z3={"bool": lambda z3, a, b, d: getattr(z3, zf)(a, b)},
              cpp={"bool": f"({{a}} {sym} {{b}})"},
              rtl={"bool": ("logic", (lambda hdl, x, y: x & y) if name == "and" else
                            (lambda hdl, x, y: x | y))},
              short_circuit=(name == "and"), laws={"bool": _LATTICE})


def _minmax(name: str) -> Op:
    f, g = (_min, _array_min) if name == "min" else (_max, _array_max)
    zf = _z3_min if name == "min" else _z3_max
    pick = (lambda hdl, x, y: y < x) if name == "min" else (lambda hdl, x, y: y > x)
    return Op(name, "arith", 2, _NUM, scalar=_same(_NUM, lambda d: f),
              array=_same(_NUM, lambda d: g), z3=_same(_NUM, zf),
              cpp=_same(_NUM, f"v{name}<{{c}}>({{a}}, {{b}})"), cpp_helper=f"v{name}",
              rtl={"int": ("select", pick)}, laws={"int": _LATTICE, "float": _LATTICE})


BINARY: dict[str, Op] = {op.name: op for op in [
    _arith("+", "(({c})({a} + {b}))", z3_int=lambda z3, a, b, d: a + b,
           z3_float=_z3_fp("fpAdd"), rounded=True, python=operator.add,
           laws={"int": _MONOID, "float": _COMMUTE},
           rtl=("carry", lambda hdl, x, y: x + y)),
    _arith("-", "(({c})({a} - {b}))", z3_int=lambda z3, a, b, d: a - b,
           z3_float=_z3_fp("fpSub"), rounded=True, python=operator.sub,
           rtl=("carry", lambda hdl, x, y: x - y)),
    _arith("*", "(({c})({a} * {b}))", z3_int=lambda z3, a, b, d: a * b,
           z3_float=_z3_fp("fpMul"), rounded=True, python=operator.mul,
           laws={"int": _MONOID, "float": _COMMUTE},
           rtl=("mul", lambda hdl, x, y: x * y)),
    Op("/", "arith", 2, ("float",), scalar={"float": lambda d: _float_scalar("/", d)},
       array={"float": lambda d: _float_array("/", d)}, z3={"float": _z3_fp("fpDiv")},
       cpp={"float": "(({c})({a} / {b}))"}, rounded=True, python=operator.truediv),
    _arith("//", "fdiv<{c}>({a}, {b}, {line})", helper="fdiv", z3_int=_z3_floordiv,
           z3_domain=_z3_nonzero),
    _arith("%", "fmod_<{c}>({a}, {b}, {line})", helper="fmod_",
           z3_int=lambda z3, a, b, d: a % b, z3_domain=_z3_nonzero),  # bvsmod
    _arith("**", "ipow<{c}>({a}, {b}, {line})", helper="ipow", python=_fold_pow),
    _minmax("min"),
    _minmax("max"),
    _bitwise("&"), _bitwise("|"), _bitwise("^"),
    _shift("<<"), _shift(">>"),
    *[_cmp(c) for c in ("<", "<=", ">", ">=", "==", "!=")],
    _logic("and"), _logic("or"),
]}


def _neg_scalar(d: DType):
    if d.is_int:
        w = _WRAP[d.bits]
        return lambda x: w(-x)
    return operator.neg


def _abs_scalar(d: DType):
    if d.is_int:
        w = _WRAP[d.bits]
        return lambda x: w(abs(x))
    return abs


UNARY: dict[str, Op] = {op.name: op for op in [
    Op("-", "unary", 1, _NUM, scalar=_same(_NUM, _neg_scalar),
       array=_same(_NUM, lambda d: np.negative),
       z3={"int": lambda z3, a, d: -a, "float": lambda z3, a, d: z3.fpNeg(a)},
       cpp=_same(_NUM, "(({c})(-({c})({a})))"),
       rtl={"int": ("carry", lambda hdl, x: -x)}),
    Op("not", "unary", 1, ("bool",), scalar={"bool": lambda d: operator.not_},
       array={"bool": lambda d: np.logical_not},
       z3={"bool": lambda z3, a, d: z3.Not(a)}, cpp={"bool": "(!({a}))"},
       rtl={"bool": ("logic", lambda hdl, x: ~x)}),
    Op("abs", "unary", 1, _NUM, scalar=_same(_NUM, _abs_scalar),
       array=_same(_NUM, lambda d: np.abs),
       z3={"int": lambda z3, a, d: z3.If(a < 0, -a, a),
           "float": lambda z3, a, d: z3.fpAbs(a)},
       cpp=_same(_NUM, "vabs<{c}>({a})"), cpp_helper="vabs",
       rtl={"int": ("carry", lambda hdl, x: hdl.Mux(x < 0, -x, x))}),
    Op("~", "unary", 1, ("int",), scalar={"int": lambda d: operator.invert},
       array={"int": lambda d: np.invert}, z3={"int": lambda z3, a, d: ~a},
       cpp={"int": "(({c})~({a}))"}, rtl={"int": ("logic", lambda hdl, x: ~x)}),
]}


# ------------------------------------------------------------------------ reductions
@dataclass(frozen=True)
class Reduction:
    """A reduction operator ``t op= v``: ``t = t binary v`` (see the module docstring)."""

    name: str
    binary: str  # the BINARY operator giving its meaning
    kinds: tuple[str, ...]
    identity: Callable[[DType], object]
    ufunc: np.ufunc  # scatter/segment reductions (``ufunc.at``, ``reduceat``)
    improves: Callable | None  # (v, t) -> does v change t (None: any v may)
    cpp_improves: str | None  # the same in C++, over {v} {t}
    mpi: str
    omp: str
    laws: dict  # kind -> frozenset of law names

    @property
    def op(self) -> Op:
        return BINARY[self.binary]

    @property
    def cpp_reduce(self) -> str:
        """The runtime helper reducing into an entry one thread owns (``red_min``)."""
        return f"red_{self.name}"

    @property
    def cpp_atomic(self) -> str:
        """The runtime helper reducing into a shared entry (``atomic_min``)."""
        return f"atomic_{self.name}"

    def admits(self, d: DType) -> bool:
        return d.kind in self.kinds

    def scalar_fn(self, d: DType) -> Callable:
        return self.op.scalar_fn(d)

    def array_fn(self, d: DType) -> Callable:
        return self.op.array_fn(d)

    def z3_fn(self, d: DType) -> Callable:
        return self.op.z3_fn(d)


REDUCTIONS: dict[str, Reduction] = {r.name: r for r in [
    Reduction("min", "min", _NUM, lambda d: d.max, np.minimum, lambda v, t: v < t,
              "{v} < {t}", "MPI_MIN", "min", {"int": _LATTICE, "float": _LATTICE}),
    Reduction("max", "max", _NUM, lambda d: d.min, np.maximum, lambda v, t: v > t,
              "{v} > {t}", "MPI_MAX", "max", {"int": _LATTICE, "float": _LATTICE}),
    Reduction("add", "+", _NUM, lambda d: 0 if d.is_int else -0.0, np.add, None, None,
              "MPI_SUM", "+", {"int": _MONOID, "float": _COMMUTE}),
    Reduction("or", "|", ("bool",), lambda d: False, np.logical_or, lambda v, t: v & ~t,
              "{v} && !{t}", "MPI_LOR", "||", {"bool": _LATTICE}),
    Reduction("and", "&", ("bool",), lambda d: True, np.logical_and, lambda v, t: ~v & t,
              "!{v} && {t}", "MPI_LAND", "&&", {"bool": _LATTICE}),
]}

ARITH_OPS = ("+", "-", "*", "/", "//", "%", "**", "min", "max")
BIT_OPS = ("&", "|", "^", "<<", ">>")
CMP_OPS = ("<", "<=", ">", ">=", "==", "!=")
LOGIC_OPS = ("and", "or")
BIN_OPS = ARITH_OPS + BIT_OPS + CMP_OPS + LOGIC_OPS
UN_OPS = ("-", "not", "abs", "~")
REDUCE_OPS = ("min", "max", "add", "or", "and")

#: runtime helpers (``cosynth_rt.hpp``) the C++ spellings call
CPP_HELPERS = tuple(sorted(
    {op.cpp_helper for op in (*BINARY.values(), *UNARY.values()) if op.cpp_helper} |
    {"f2i"} | {r.cpp_reduce for r in REDUCTIONS.values()} |
    {r.cpp_atomic for r in REDUCTIONS.values()}))


def binary(name: str) -> Op:
    return BINARY[name]


def unary(name: str) -> Op:
    return UNARY[name]


def reduction(name: str) -> Reduction:
    return REDUCTIONS[name]


def identity(op: str, d: DType):
    """The identity of the reduction ``op`` on ``d`` (``x op e == x`` for every x)."""
    return REDUCTIONS[op].identity(d)


def fold(op: str, a, b):
    """``a op b`` on weak Python numbers (the tracer folds literal arithmetic), or None
    when the operator is not folded or the result is not a number."""
    f = BINARY[op].python
    if f is None:
        return None
    try:
        return f(a, b)
    except (ZeroDivisionError, OverflowError):
        return None


# ----------------------------------------------------------------------- conversions
def convert(src: DType, dst: DType) -> Callable:
    """``cs.<dst>(x)`` for a Python value ``x`` of ``src``: ints wrap, floats to ints
    truncate (a ``DomainError`` when out of range), ints to floats round once, numbers
    to bool test ``!= 0``."""
    if dst.is_bool:
        return bool
    if dst.is_float:
        return round_f32 if dst.bits == 32 else float
    if src.is_bool:
        return int
    if src.is_int:
        return _WRAP[dst.bits]
    lo, hi = dst.min, dst.max

    def f2i(x):
        if not math.isfinite(x) or not lo <= int(x) <= hi:
            raise DomainError(f"cannot convert {x} to {dst}: out of range")
        return int(x)
    return f2i


def convert_array(a: np.ndarray, src: DType, dst: DType) -> np.ndarray:
    """``convert`` on an array of ``src``."""
    if dst.is_int and src.is_float:
        t = np.trunc(a)
        bad = ~np.isfinite(a) | (t < float(dst.min)) | (t >= -float(dst.min))
        if bad.any():
            raise DomainError(f"cannot convert {a[bad][0]} to {dst}: out of range")
        return t.astype(dst.np)
    if dst.is_bool and not src.is_bool:
        return a != 0
    return a.astype(dst.np)


def cpp_cast(src: DType, dst: DType) -> str:
    """The C++ spelling of ``convert`` over ``{a} {c} {line}``."""
    if dst.is_int and src.is_float:
        return "f2i<{c}>({a}, {line})"
    if dst.is_bool and not src.is_bool:
        return "((uint8_t)(({a}) != 0))"
    return "(({c})({a}))"


def z3_convert(z3, t, src: DType, dst: DType, sort):
    """``convert`` as an exact Z3 term (``sort`` is the Z3 sort of ``dst``); the caller
    keeps its own path for unmodelled pairs.  Floats to ints round toward zero."""
    if dst.is_bool:
        if src.is_bool:
            return t
        return t != z3.BitVecVal(0, src.bits) if src.is_int else z3.Not(z3.fpIsZero(t))
    if dst.is_int:
        if src.is_bool:
            return z3.If(t, z3.BitVecVal(1, dst.bits), z3.BitVecVal(0, dst.bits))
        if src.is_int:
            if dst.bits > src.bits:
                return z3.SignExt(dst.bits - src.bits, t)
            return z3.Extract(dst.bits - 1, 0, t)
        return z3.fpToSBV(z3.RTZ(), t, sort)
    if src.is_bool:
        return z3.If(t, z3.FPVal(1.0, sort), z3.FPVal(0.0, sort))
    if src.is_int:
        return z3.fpSignedToFP(z3.RNE(), t, sort)
    return z3.fpFPToFP(z3.RNE(), t, sort)
