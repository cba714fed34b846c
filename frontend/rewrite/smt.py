"""Z3 encodings of IR values and operations (the only module that imports z3).

Two encodings of the IR's semantics:

* **exact**: integers are bit-vectors of their width (wrapping ``+ - *``, Python's
  floor ``//`` and ``%``, signed comparisons); floats are IEEE 754 binary32/binary64 with
  round-to-nearest-even; bools are Z3 Bools.  Used for every law about a reduction
  operator and for every integer obligation.
* **rounding-lemma**: for monotonicity of float expressions, bit-blasting two IEEE adders
  does not finish (measured: ~35 s for binary16, over 2 minutes for binary32).  Each
  rounded float operation (``+ - * /``, conversions) is then an uninterpreted function,
  and for every pair of corresponding applications in the two copies of the expression
  the prover adds the instance of the IEEE 754 fact that correctly rounded operations are
  monotone in each argument (§4.3: the result is the rounding of the exact result, and
  rounding is monotone).  Comparisons, ``min``/``max``, negation and ``abs`` stay exact.
  The law records this in its ``detail``.

A value "equals" another when both are NaN or they compare equal (so ``-0.0 == +0.0``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import struct
import time
from dataclasses import dataclass, field

import z3

from cosynth import ops
from cosynth.cache import cache_root, load_table, notice, sign, signed, write_table
from cosynth.dtypes import DType, promote
from cosynth.ir.nodes import Bin, Cast, Const, Expr, Select, Un
from cosynth.ir.visit import Visitor

__all__ = ["Encoder", "Law", "prove", "sort_of", "to_python", "fresh", "Unsupported"]

_RNE = z3.RNE()
_FP = {32: (8, 24), 64: (11, 53)}
_counter = [0]


class Unsupported(Exception):
    """An expression or statement the prover does not model (the rule then refuses)."""


def sort_of(d: DType):
    if d.is_bool:
        return z3.BoolSort()
    if d.is_int:
        return z3.BitVecSort(d.bits)
    return z3.FPSort(*_FP[d.bits])


def fresh(name: str, d: DType):
    _counter[0] += 1
    return z3.Const(f"{name}!{_counter[0]}", sort_of(d))


@dataclass
class Law:
    """A proof obligation and its outcome, kept with every rewrite result."""

    name: str
    subject: str
    status: str  # proved | refuted | assumed | unknown
    detail: str = ""
    counterexample: dict | None = None
    policies: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("proved", "assumed")

    def describe(self) -> str:
        text = f"{self.name} of {self.subject}: {self.status}"
        if self.detail:
            text += f" ({self.detail})"
        if self.policies:
            text += f" [policy: {', '.join(self.policies)}]"
        if self.counterexample:
            cex = ", ".join(f"{k}={v}" for k, v in self.counterexample.items())
            text += f"; counterexample: {cex}"
        return text

    def as_dict(self) -> dict:
        return {"law": self.name, "subject": self.subject, "status": self.status,
                "detail": self.detail, "counterexample": self.counterexample,
                "policies": list(self.policies), "seconds": round(self.seconds, 4)}


def prove(name: str, subject: str, claim, hypotheses=(), show: dict | None = None,
          detail: str = "", policies=(), timeout_ms: int = 30000, witnesses=(),
          samples: int = 64) -> Law:
    """Prove ``hypotheses => claim`` for all values; on failure report a counterexample
    over the terms in ``show`` (name -> z3 term).

    Outcomes are remembered (in this process, and on disk under the cosynth cache) by the
    formula with its variables renamed in order of appearance: planning a kernel proves
    the same laws for every variant, and a 64-bit monotonicity proof takes seconds.

    ``witnesses`` are candidate counterexamples (lists of (term, value) pairs) that Z3
    evaluates first, then ``samples`` seeded assignments of small and extreme values: a
    refutation of a hard (float) formula is then often found at once instead of by search.
    The solver decides everything the samples do not refute, within ``timeout_ms``:
    a budget in milliseconds of a quiet machine, given to Z3 as its deterministic resource
    count (``rlimit``, ``RLIMIT_PER_MS`` units per millisecond), never as wall-clock time,
    so that the outcome (and the plan built on it) does not depend on the machine's load:
    a proof that ran out of time under load made the planner refuse a rewrite it took on
    a quiet machine.
    """
    t0 = time.perf_counter()
    formula = z3.And(*hypotheses, z3.Not(claim))
    key, shown = _key(formula, show or {})
    hit = _remembered(key)
    if hit is not None:
        status, cex = hit
        if cex is not None:  # the counterexample's terms under this call's names
            cex = {k: cex.get(text) for k, text in shown.items()}
        return Law(name, subject, status, detail, cex, tuple(policies),
                   time.perf_counter() - t0)
    law = _prove(name, subject, formula, claim, hypotheses, show, detail, policies,
                 timeout_ms, witnesses, samples, t0)
    if law.status in ("proved", "refuted"):  # never remember a timeout
        cex = None if law.counterexample is None else \
            {shown[k]: v for k, v in law.counterexample.items() if k in shown}
        _remember(key, (law.status, cex))
    return law


# Z3 resource units per millisecond of a budget: the rate the slowest proofs of the
# rewrite rules (relax order, monotone, stable read: 4-17 M units) ran at on this project's
# reference machine (2 cores, quiet: ~2.2 M units/s; at load 13 the same proofs ran at
# 0.5 M/s and ran out of their wall-clock time).
RLIMIT_PER_MS = 2000


def _prove(name, subject, formula, claim, hypotheses, show, detail, policies, timeout_ms,
           witnesses, samples, t0) -> Law:
    consts, apps = _free(formula)
    has_functions = bool(apps)
    witnesses = list(witnesses) + ([] if has_functions else _samples(consts, samples))
    for w in witnesses:
        sub = [(t, v) for t, v in w]
        bad = z3.simplify(z3.substitute(formula, *sub))
        if z3.is_true(bad):
            cex = {k: to_python(z3.simplify(z3.substitute(v, *sub)))
                   for k, v in (show or {}).items()}
            return Law(name, subject, "refuted", detail, cex, tuple(policies),
                       time.perf_counter() - t0)
    s = z3.Solver()
    if has_functions and samples:
        # guided search: pin the free constants and the float table entries to small
        # values; the solver then only chooses indices and the graph
        s.set("rlimit", 250 * RLIMIT_PER_MS)
        s.add(formula)
        pinned = consts + [a for a in apps if isinstance(a.sort(), z3.FPSortRef)]
        for w in _samples(pinned, min(samples, 16)):
            s.push()
            s.add(*[t == v for t, v in w])
            if s.check() == z3.sat:
                m = s.model()
                cex = {k: to_python(m.eval(v, model_completion=True))
                       for k, v in (show or {}).items()}
                return Law(name, subject, "refuted", detail, cex, tuple(policies),
                           time.perf_counter() - t0)
            s.pop()
        s = z3.Solver()
    s.set("rlimit", max(1, int(timeout_ms * RLIMIT_PER_MS)))
    for h in hypotheses:
        s.add(h)
    s.add(z3.Not(claim))
    r = s.check()
    dt = time.perf_counter() - t0
    if r == z3.unsat:
        return Law(name, subject, "proved", detail, None, tuple(policies), dt)
    if r == z3.sat:
        m = s.model()
        cex = {k: to_python(m.eval(v, model_completion=True)) for k, v in (show or {}).items()}
        return Law(name, subject, "refuted", detail, cex, tuple(policies), dt)
    return Law(name, subject, "unknown", detail + f"; solver gave up ({s.reason_unknown()})",
               None, tuple(policies), dt)


_POOLS = ({"bv": [0, 1], "fp": [0.0, 1.0, 2.0]},
          {"bv": [0, 1, -1, 2, 3, 7, -2], "fp": [0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -0.5, 1e10]})


# ------------------------------------------------------------------ remembered proofs
_MEMORY: dict[str, tuple] = {}
_DISK: dict | None = None


def _key(formula, show: dict) -> tuple[str | None, dict]:
    """A hash of the formula with every free constant and function renamed in order of
    first appearance, so that fresh names (counters, object ids) do not matter; and the
    canonical text of each shown term (a remembered counterexample is keyed by those)."""
    try:
        order, seen = [], set()
        stack = [formula]
        while stack:
            t = stack.pop(0)
            if t.get_id() in seen:
                continue
            seen.add(t.get_id())
            if z3.is_app(t):
                d = t.decl()
                if d.kind() == z3.Z3_OP_UNINTERPRETED and d.name() not in {
                        x.name() for x in order}:
                    order.append(d)
                stack[0:0] = list(t.children())
        consts = [(z3.Const(d.name(), d.range()), z3.Const(f"c{i}", d.range()))
                  for i, d in enumerate(order) if d.arity() == 0]
        funs = [(d, z3.Function(f"f{i}", *[d.domain(j) for j in range(d.arity())],
                                d.range())(*[z3.Var(j, d.domain(j))
                                             for j in range(d.arity())]))
                for i, d in enumerate(order) if d.arity() > 0]

        def canon(t):
            t = z3.substitute(t, *consts) if consts else t
            return z3.substitute_funs(t, *funs) if funs else t
        # an expression's text names its constants, not their sorts: f32 and f64 (or i32
        # and i64) formulas print alike, so the renamed symbols' signatures are part of it
        sorts = " ".join(f"{i}:{[str(d.domain(j)) for j in range(d.arity())]}->{d.range()}"
                         for i, d in enumerate(order))
        text = sorts + "\n" + canon(formula).sexpr()
        shown = {k: canon(v).sexpr() for k, v in show.items()}
    except (z3.Z3Exception, AttributeError):  # pragma: no cover - an old z3
        return None, {}
    return hashlib.sha256((z3.get_version_string() + "\n" + text).encode()).hexdigest(), \
        shown


def _disk_path() -> str:
    return os.path.join(cache_root(), "proofs.json")


# An entry of proofs.json: key -> {"status", "cex", "z3", "sig"}, where the key hashes
# the z3 version and the canonical formula text (``_key``) and "sig" is this
# installation's HMAC (``cosynth.cache.sign``) of the rest.  Only a signed entry is
# believed; any other (tampered, copied from elsewhere, malformed, older format) is
# discarded: the law is proved again by Z3, and a disagreement is reported.
_UNTRUSTED: dict[str, object] = {}


def _signature_text(key: str, status: str, cex) -> str:
    return json.dumps([key, status, cex, z3.get_version_string()], sort_keys=True)


def _entry(key: str, outcome: tuple) -> dict:
    status, cex = outcome
    return {"status": status, "cex": cex, "z3": z3.get_version_string(),
            "sig": sign(_signature_text(key, status, cex))}


def _trusted(key: object, entry: object) -> tuple | None:
    """``(status, cex)`` of a well-formed entry signed by this installation, else None."""
    if not isinstance(key, str) or not isinstance(entry, dict):
        return None
    status, cex = entry.get("status"), entry.get("cex")
    if status not in ("proved", "refuted") or entry.get("z3") != z3.get_version_string():
        return None
    if cex is not None and not (isinstance(cex, dict) and
                                all(isinstance(k, str) for k in cex)):
        return None
    try:
        text = _signature_text(key, status, cex)
    except (TypeError, ValueError):
        return None
    return (status, cex) if signed(text, entry.get("sig")) else None


def _remembered(key: str | None):
    global _DISK
    if key is None:
        return None
    if key in _MEMORY:
        return _MEMORY[key]
    if _DISK is None:
        path = _disk_path()
        _DISK = {}
        table = load_table(path, "the proof cache")
        for k, entry in table.items():
            got = _trusted(k, entry)
            if got is None:
                _UNTRUSTED[k] = entry
            else:
                _DISK[k] = got
        if _UNTRUSTED:
            notice(f"{len(_UNTRUSTED)} entr{'y' if len(_UNTRUSTED) == 1 else 'ies'} of "
                   f"{path} not signed by this installation (or malformed) discarded; "
                   "their laws are proved again by Z3")
    got = _DISK.get(key)
    if got is not None:
        _MEMORY[key] = got
        return got
    return None


def _remember(key: str | None, outcome: tuple) -> None:
    """Keep an outcome in memory and on disk, signed (merged with the signed entries
    other processes wrote; a failure to write only loses the speed-up)."""
    if key is None:
        return
    _MEMORY[key] = outcome
    claimed = _UNTRUSTED.pop(key, None)
    if isinstance(claimed, dict) and claimed.get("status") in ("proved", "refuted") and \
            claimed["status"] != outcome[0]:
        notice(f"the proof cache claimed a law {claimed['status']} that Z3 finds "
               f"{outcome[0]}; the entry was replaced")
    path = _disk_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        table = {k: v for k, v in load_table(path, "the proof cache", quiet=True).items()
                 if _trusted(k, v) is not None}
        table[key] = _entry(key, outcome)
        write_table(path, table)
        if _DISK is not None:
            _DISK[key] = outcome
    except OSError:
        pass


def _free(formula) -> tuple[list, list]:
    """The formula's free constants, and its applications of uninterpreted functions."""
    consts, funs, seen = {}, {}, set()
    stack = [formula]
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_app(t):
            d = t.decl()
            if d.kind() == z3.Z3_OP_UNINTERPRETED:
                if t.num_args() == 0:
                    consts[str(t)] = t
                else:
                    funs[str(t)] = t
            stack.extend(t.children())
    return [consts[k] for k in sorted(consts)], [funs[k] for k in sorted(funs)]


def _samples(consts: list, count: int) -> list:
    """Seeded assignments of the constants to small and extreme values."""
    if not consts or any(not isinstance(c.sort(), z3.BitVecSortRef | z3.FPSortRef |
                                        z3.BoolSortRef) for c in consts):
        return []
    rng = random.Random(0)
    out = []
    for i in range(count):
        pool = _POOLS[i % 2]
        pairs = []
        for c in consts:
            srt = c.sort()
            if isinstance(srt, z3.BoolSortRef):
                pairs.append((c, z3.BoolVal(rng.random() < 0.5)))
            elif isinstance(srt, z3.BitVecSortRef):
                pairs.append((c, z3.BitVecVal(rng.choice(pool["bv"]), srt.size())))
            else:
                pairs.append((c, z3.FPVal(rng.choice(pool["fp"]), srt)))
        out.append(pairs)
    return out


def to_python(v):
    """A model value as a readable Python value."""
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    if z3.is_bv_value(v):
        return v.as_signed_long()
    if isinstance(v, z3.FPNumRef):
        if v.isNaN():
            return "nan"
        if v.isInf():
            return "-inf" if v.isNegative() else "inf"
        bits = z3.simplify(z3.fpToIEEEBV(v)).as_long()
        if v.ebits() == 8:
            return struct.unpack("<f", struct.pack("<I", bits))[0]
        return struct.unpack("<d", struct.pack("<Q", bits))[0]
    return str(v)


# ----------------------------------------------------------------------------- encoder
@dataclass
class Encoder(Visitor):
    """Translate IR expressions to Z3: ``expr(e)`` (a visitor: ``visit_<Node>`` returns the
    node's term).

    ``leaf(expr)`` supplies terms for variables, loads, edge fields and graph queries.
    In ``rounding_lemma`` mode each rounded float operation becomes an application of an
    uninterpreted function, recorded in ``apps`` in evaluation order, so that two
    encodings of the same expression can be paired (see ``monotone_lemmas``).
    """

    leaf: object
    rounding_lemma: bool = False
    apps: list = field(default_factory=list)
    side: list = field(default_factory=list)  # definedness conditions (no division by 0)

    def expr(self, e: Expr):
        """The Z3 term of ``e``."""
        return self.visit(e)

    def visit_Expr(self, e: Expr):
        return self.leaf(e)  # variables, loads, edge fields, graph queries

    def visit_Const(self, e: Const):
        return self.const(e.value, e.dtype)

    def visit_Select(self, e: Select):
        return z3.If(self.expr(e.cond), self.convert(self.expr(e.a), e.a.dtype, e.dtype),
                     self.convert(self.expr(e.b), e.b.dtype, e.dtype))

    def visit_Cast(self, e: Cast):
        return self.convert(self.expr(e.a), e.a.dtype, e.dtype)

    def const(self, value, d: DType):
        if d.is_bool:
            return z3.BoolVal(bool(value))
        if d.is_int:
            return z3.BitVecVal(int(value), d.bits)
        v = float(value)
        if math.isnan(v):
            return z3.fpNaN(sort_of(d))
        return z3.FPVal(v, sort_of(d))

    def convert(self, t, src: DType, dst: DType):
        """The implicit/explicit conversion of a value of ``src`` to ``dst``."""
        if src == dst or src.is_bool and dst.is_bool:
            return t
        if dst.is_bool:
            raise Unsupported(f"conversion from {src} to {dst}")

        def exact(a):
            return ops.z3_convert(z3, a, src, dst, sort_of(dst))
        if src.is_bool or dst.is_int and src.is_int:
            return exact(t)
        kind = "f2i" if dst.is_int else "i2f" if src.is_int else "f2f"
        return self._rounded(kind, (t,), dst, exact)

    def _rounded(self, op: str, args: tuple, d: DType, exact):
        if not self.rounding_lemma:
            return exact(*args)
        f = z3.Function(f"{op}_{d}", *[a.sort() for a in args], sort_of(d))
        r = f(*args)
        self.apps.append((op, args, r, d))
        return r

    def visit_Bin(self, e: Bin):
        spec = ops.binary(e.op)
        if spec.group == "logic":
            return self._apply(spec, e.dtype, self.expr(e.a), self.expr(e.b))
        if spec.group == "cmp":
            common = e.a.dtype if e.a.dtype.is_bool else promote(e.a.dtype, e.b.dtype,
                                                                 e.a.weak, e.b.weak)
        else:
            common = e.dtype
        a = self.convert(self.expr(e.a), e.a.dtype, common)
        b = self.convert(self.expr(e.b), e.b.dtype, common)
        if spec.z3_domain is not None and common.kind in spec.z3:
            self.side.append(spec.z3_domain(z3, a, b, common))
        return self._apply(spec, common, a, b)

    def _apply(self, spec: ops.Op, d: DType, *args):
        """The table's exact encoding of ``spec`` on ``d`` (an uninterpreted, rounded
        application in rounding-lemma mode for rounded float operations)."""
        f = spec.z3_fn(d)
        if f is None:
            kind = "integer" if d.is_int else "float" if d.is_float else d.name
            raise Unsupported(f"{kind} operator '{spec.name}'")
        if spec.rounded and d.is_float:
            return self._rounded(spec.name, args, d, lambda *xs: f(z3, *xs))
        return f(z3, *args)

    def visit_Un(self, e: Un):
        spec = ops.unary(e.op)
        if spec.z3_fn(e.dtype) is None:
            raise Unsupported(f"unary '{e.op}' on {e.dtype}")
        return self._apply(spec, e.dtype, self.expr(e.a))


def compare(op: str, a, b, d: DType):
    return ops.binary(op).z3_fn(d)(z3, a, b)


def apply_op(op: str, a, b, d: DType):
    """A reduction operator (or min/max) with the IR's exact semantics."""
    spec = ops.REDUCTIONS[op].op if op in ops.REDUCTIONS else ops.binary(op)
    f = spec.z3_fn(d)
    if f is None:
        raise Unsupported(op)
    return f(z3, a, b)


def same(a, b, d: DType):
    """Equal values (both NaN, or equal as numbers: -0.0 == +0.0)."""
    if d.is_float:
        return z3.Or(z3.fpEQ(a, b), z3.And(z3.fpIsNaN(a), z3.fpIsNaN(b)))
    return a == b


def leq(a, b, d: DType):
    """The natural order (False < True for bools)."""
    if d.is_bool:
        return z3.Implies(a, b)
    return compare("<=", a, b, d)


def not_nan(t, d: DType):
    return z3.Not(z3.fpIsNaN(t)) if d.is_float else z3.BoolVal(True)


def monotone_lemmas(apps_x: list, apps_y: list) -> list:
    """Instances of "rounded IEEE operations are monotone in each argument" for each pair
    of corresponding applications of the two encodings of an expression."""
    out = []
    for (op, ax, rx, _), (op2, ay, ry, _) in zip(apps_x, apps_y):
        assert op == op2
        sx = [a.sort() for a in ax]

        def le(p, q, s):
            if isinstance(s, z3.FPSortRef):
                return z3.fpLEQ(p, q)
            return p <= q

        def ge(p, q, s):
            return le(q, p, s)

        zero = [z3.FPVal(0.0, s) if isinstance(s, z3.FPSortRef) else z3.BitVecVal(0, s.size())
                for s in sx]
        ok = z3.And(not_nan_any(rx), not_nan_any(ry))
        if op in ("+",):
            inc = z3.And(le(ax[0], ay[0], sx[0]), le(ax[1], ay[1], sx[1]))
            dec = z3.And(ge(ax[0], ay[0], sx[0]), ge(ax[1], ay[1], sx[1]))
            out += [z3.Implies(z3.And(inc, ok), le(rx, ry, rx.sort())),
                    z3.Implies(z3.And(dec, ok), ge(rx, ry, rx.sort()))]
        elif op == "-":
            inc = z3.And(le(ax[0], ay[0], sx[0]), ge(ax[1], ay[1], sx[1]))
            dec = z3.And(ge(ax[0], ay[0], sx[0]), le(ax[1], ay[1], sx[1]))
            out += [z3.Implies(z3.And(inc, ok), le(rx, ry, rx.sort())),
                    z3.Implies(z3.And(dec, ok), ge(rx, ry, rx.sort()))]
        elif op in ("*", "/"):
            # monotone in the first argument when the second is fixed and of known sign
            fixed = z3.fpEQ(ax[1], ay[1])
            pos = z3.And(fixed, ge(ax[1], zero[1], sx[1]))
            neg = z3.And(fixed, le(ax[1], zero[1], sx[1]))
            if op == "/":
                pos = z3.And(pos, z3.Not(z3.fpIsZero(ax[1])))
                neg = z3.And(neg, z3.Not(z3.fpIsZero(ax[1])))
            out += [z3.Implies(z3.And(pos, le(ax[0], ay[0], sx[0]), ok), le(rx, ry, rx.sort())),
                    z3.Implies(z3.And(pos, ge(ax[0], ay[0], sx[0]), ok), ge(rx, ry, rx.sort())),
                    z3.Implies(z3.And(neg, le(ax[0], ay[0], sx[0]), ok), ge(rx, ry, rx.sort())),
                    z3.Implies(z3.And(neg, ge(ax[0], ay[0], sx[0]), ok), le(rx, ry, rx.sort()))]
            if op == "*":  # and symmetrically in the second
                fixed0 = z3.fpEQ(ax[0], ay[0])
                pos0 = z3.And(fixed0, ge(ax[0], zero[0], sx[0]))
                out += [z3.Implies(z3.And(pos0, le(ax[1], ay[1], sx[1]), ok),
                                   le(rx, ry, rx.sort())),
                        z3.Implies(z3.And(pos0, ge(ax[1], ay[1], sx[1]), ok),
                                   ge(rx, ry, rx.sort()))]
        else:  # conversions: monotone
            out += [z3.Implies(z3.And(le(ax[0], ay[0], sx[0]), ok), le(rx, ry, rx.sort())),
                    z3.Implies(z3.And(ge(ax[0], ay[0], sx[0]), ok), ge(rx, ry, rx.sort()))]
    return out


def not_nan_any(t):
    if isinstance(t.sort(), z3.FPSortRef):
        return z3.Not(z3.fpIsNaN(t))
    return z3.BoolVal(True)
