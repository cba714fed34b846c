"""The operator table against every place that runs an operator.

Every operator of ``cosynth.ops`` on every dtype it admits, on edge-case and seeded random
operands, evaluated by (a) the scalar interpreter, (b) the vectorised executor, (c) one
compiled C++ program using the emitter's spellings and the runtime's helpers, (d) an
Amaranth simulation of the datapath (integer and bool operators), and (e) Z3
simplification of the prover's encoding.  All must agree bit for bit.

Policy cases, documented here and in ``cosynth.ops``: inputs are NaN-free (cosynth
refuses NaN data); a NaN *result* matches any NaN (sign and payload are not compared).
Signed zeros and infinities are compared exactly.  Operands in an operator's domain
only are compared; out-of-domain cases (integer division by zero, a negative integer
power, a shift out of range, a float too large for an integer) must be refused by the
interpreter and the vectorised executor and excluded by Z3's definedness condition.
Z3 does not model float ``// % **`` and integer ``**`` (the prover refuses them).
"""

from __future__ import annotations

import math
import random
import re
import struct
import subprocess
from functools import cache

import numpy as np
import pytest

from cosynth import ops
from cosynth.dtypes import DTYPES, DType, boolean, f32, f64, i32, i64
from cosynth.errors import KernelRuntimeError
from cosynth.graph import Graph
from cosynth.ir.interp import interpret
from cosynth.ir.nodes import (
    Bin,
    Cast,
    Const,
    Kernel,
    Load,
    Loop,
    Store,
    Table,
    TableRef,
    Un,
    Var,
)

_SEED = 20240611
_RANDOM = 48  # random operand pairs per operator and dtype (besides the edge cases)


# ------------------------------------------------------------------------ operands
def _edge_values(d: DType) -> list:
    if d.is_bool:
        return [False, True]
    if d.is_int:
        b = d.bits
        return [0, 1, -1, 2, -2, 3, 7, -7, b - 1, b, d.min, d.max, d.min + 1, d.max - 1,
                1 << (b - 2), -(1 << (b // 2))]
    tiny = 1e-45 if d.bits == 32 else 5e-324
    big = float(np.finfo(d.np).max)
    normal = float(np.finfo(d.np).tiny)
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, -2.5, 0.1, 3.0, -7.0, 1e10, -1e-10, math.inf,
            -math.inf, tiny, -tiny, big, -big, normal, 2.0 ** 31, -(2.0 ** 63)]
    return [_rounded(v, d) for v in vals]


def _rounded(v, d: DType):
    return float(np.float32(v)) if d.bits == 32 else float(v)


def _random_value(rng: random.Random, d: DType):
    if d.is_bool:
        return rng.random() < 0.5
    if d.is_int:
        bits = rng.choice([3, 8, 16, d.bits - 1])
        return rng.randrange(-(1 << bits), 1 << bits)
    v = rng.choice([rng.uniform(-10, 10), rng.uniform(-1e6, 1e6),
                    rng.choice([-1, 1]) * 2.0 ** rng.uniform(-140, 120)])
    return _rounded(v, d)


def _pairs(spec: ops.Op, d: DType) -> list[tuple]:
    """Operands (tuples of arity values) for ``spec`` on ``d``: edge cases crossed, and
    seeded random ones; shifts and integer powers mostly inside their domain."""
    rng = random.Random(f"{_SEED}{spec.name}{d}")
    edge = _edge_values(d)
    if spec.arity == 1:
        return [(x,) for x in edge] + [(_random_value(rng, d),) for _ in range(_RANDOM)]
    out = [(x, y) for x in edge for y in edge]
    for _ in range(_RANDOM):
        x, y = _random_value(rng, d), _random_value(rng, d)
        if spec.group == "shift":
            y = rng.randrange(0, d.bits)
        elif spec.name == "**" and d.is_int:
            y = rng.randrange(0, 70)
        out.append((x, y))
    return out


def _cases():
    """(operator, operand dtype) for every operator and every dtype it admits."""
    out = []
    for table in (ops.BINARY, ops.UNARY):
        for spec in table.values():
            for d in DTYPES.values():
                if spec.admits(d):
                    out.append((spec, d))
    return out


CASES = _cases()


def _result_dtype(spec: ops.Op, d: DType) -> DType:
    return boolean if spec.group in ("cmp", "logic") else d


def _reference(spec: ops.Op, d: DType, args) -> tuple[list, list]:
    """(in-domain operands, their results) and the out-of-domain operands."""
    f = spec.scalar_fn(d)
    good, bad = [], []
    for a in args:
        try:
            good.append((a, f(*a)))
        except ops.DomainError:
            bad.append(a)
    return good, bad


def _key(v, d: DType):
    """A value's bit pattern (NaN: one class, the policy)."""
    if d.is_bool:
        return int(bool(v))
    if d.is_int:
        return int(v) & ((1 << d.bits) - 1)
    v = float(v)
    if math.isnan(v):
        return "nan"
    if d.bits == 32:
        return struct.unpack("<I", struct.pack("<f", v))[0]
    return struct.unpack("<Q", struct.pack("<d", v))[0]


# --------------------------------------------------------------- (a)(b) the executors
def _kernel(spec: ops.Op, d: DType, schedule: str) -> Kernel:
    rd = _result_dtype(spec, d)
    loads = [Load(t, Var("v", i64), d) for t in ("A", "B")[:spec.arity]]
    e = Bin(spec.name, *loads, rd) if spec.arity == 2 else Un(spec.name, loads[0], rd)
    body = (Loop("nodes", "v", (Store("R", Var("v", i64), e),), schedule=schedule),)
    tables = (Table("A", "node", d, "input"), Table("B", "node", d, "input"),
              Table("R", "node", rd))
    return Kernel(f"op_{spec.name}", (), tables, body, (TableRef("R", rd),))


def _run(spec: ops.Op, d: DType, args: list, schedule: str) -> list:
    k = _kernel(spec, d, schedule)
    n = len(args)
    cols = list(zip(*args)) + [[_edge_values(d)[0]] * n] * (2 - spec.arity)
    g = Graph(n, [], [])
    (r,) = interpret(k, g, {"A": np.array(cols[0], dtype=d.np),
                            "B": np.array(cols[1], dtype=d.np)})
    return r.tolist()


@pytest.mark.parametrize("schedule", ["seq", "par"], ids=["interpreter", "vectorised"])
@pytest.mark.parametrize("spec,d", CASES, ids=[f"{s.name}-{d}" for s, d in CASES])
def test_executor_matches_table(spec, d, schedule):
    good, bad = _reference(spec, d, _pairs(spec, d))
    rd = _result_dtype(spec, d)
    got = _run(spec, d, [a for a, _ in good], schedule)
    for (a, want), r in zip(good, got):
        assert _key(r, rd) == _key(want, rd), f"{a[0]!r} {spec.name} {a[1:]!r} on {d}"
    for a in bad[:3]:  # out of the domain: refused, naming the kernel
        with pytest.raises(KernelRuntimeError, match=f"in kernel 'op_{re.escape(spec.name)}'"):
            _run(spec, d, [a], schedule)


# ------------------------------------------------------------------------ (c) C++
def _cpp_value(v, d: DType) -> str:
    if d.is_bool:
        return "1" if v else "0"
    if d.is_int:
        return f"UINT64_C({int(v) & ((1 << 64) - 1)})"
    return f"UINT64_C({_key(v, d)})"


@cache
def _cpp_results() -> dict:
    """{(op, dtype): [result keys]}: one program evaluating every case, compiled once."""
    from cosynth.backends import toolchain
    from cosynth.backends.cpp.emit import ctype, spell
    lines = ['#include "cosynth_rt.hpp"', "#include <cinttypes>", "using namespace cosynth;",
             "template <class T> T from_bits(uint64_t x) {",
             "  if constexpr (std::is_same_v<T, float>) { uint32_t u = (uint32_t)x; T v;"
             " std::memcpy(&v, &u, 4); return v; }",
             "  else if constexpr (std::is_same_v<T, double>) { T v; std::memcpy(&v, &x, 8);"
             " return v; }",
             "  else return (T)(int64_t)x; }",
             "template <class T> void put(T r) {",
             "  uint64_t x;",
             "  if constexpr (std::is_same_v<T, float>) { uint32_t u; std::memcpy(&u, &r, 4);"
             " x = u; }",
             "  else if constexpr (std::is_same_v<T, double>) std::memcpy(&x, &r, 8);",
             "  else x = (uint64_t)(int64_t)r;",
             '  std::printf("%" PRIx64 "\\n", x); }',
             "int main() {"]
    order = []
    for spec, d in CASES:
        good, _ = _reference(spec, d, _pairs(spec, d))
        c, rc = ctype(d), ctype(_result_dtype(spec, d))
        n = len(good)
        cols = [", ".join(_cpp_value(a[i], d) for a, _ in good) for i in range(spec.arity)]
        expr = spell(spec, d, *[f"({c})(x{i})" for i in range(spec.arity)])
        lines.append("{")
        for i, col in enumerate(cols):
            lines.append(f"  static const uint64_t X{i}[{n}] = {{{col}}};")
        lines.append(f"  for (int k = 0; k < {n}; ++k) {{")
        for i in range(spec.arity):
            lines.append(f"    volatile {c} x{i} = from_bits<{c}>(X{i}[k]);")
        lines.append(f"    put<{rc}>(({rc})({expr}));")
        lines.append("  }\n}")
        order.append((spec, d, n))
    lines.append("return 0; }")
    binary, _ = toolchain.compile_program("\n".join(lines), "ops_table")
    out = subprocess.run([binary], capture_output=True, text=True, timeout=60, check=True)
    words = out.stdout.split()
    results, pos = {}, 0
    for spec, d, n in order:
        results[(spec.name, d.name, spec.arity)] = [int(w, 16) for w in words[pos:pos + n]]
        pos += n
    assert pos == len(words)
    return results


def _bits_key(x: int, d: DType):
    if d.is_float:
        v = struct.unpack("<f", struct.pack("<I", x))[0] if d.bits == 32 else \
            struct.unpack("<d", struct.pack("<Q", x))[0]
        return _key(v, d)
    if d.is_bool:
        return int(x != 0)
    return x & ((1 << d.bits) - 1)


@pytest.mark.parametrize("spec,d", CASES, ids=[f"{s.name}-{d}" for s, d in CASES])
def test_cpp_matches_table(spec, d):
    good, _ = _reference(spec, d, _pairs(spec, d))
    rd = _result_dtype(spec, d)
    got = _cpp_results()[(spec.name, d.name, spec.arity)]
    for (a, want), r in zip(good, got):
        assert _bits_key(r, rd) == _key(want, rd), f"C++: {a!r} {spec.name} on {d}"


def test_runtime_defines_every_helper_the_table_names():
    from cosynth.backends import toolchain
    with open(f"{toolchain.RUNTIME}/cosynth_rt.hpp") as f:
        header = f.read()
    for name in ops.CPP_HELPERS:
        assert re.search(rf"inline \w+ {re.escape(name)}\(", header), name
    for spec in (*ops.BINARY.values(), *ops.UNARY.values()):
        for text in spec.cpp.values():
            for called in re.findall(r"([A-Za-z_]\w*)<", text):
                assert called in ops.CPP_HELPERS, (spec.name, called)


# ---------------------------------------------------------------------- (e) Z3
@pytest.mark.parametrize("spec,d", CASES, ids=[f"{s.name}-{d}" for s, d in CASES])
def test_z3_encoding_matches_table(spec, d):
    z3 = pytest.importorskip("z3")
    from cosynth.frontend.rewrite.smt import Encoder, Unsupported, sort_of
    rd = _result_dtype(spec, d)
    good, bad = _reference(spec, d, _pairs(spec, d))
    names = [Var(n, d) for n in ("a", "b")[:spec.arity]]
    e = Bin(spec.name, *names, rd) if spec.arity == 2 else Un(spec.name, names[0], rd)
    if spec.z3_fn(d) is None:  # not modelled: the prover must refuse, not guess
        with pytest.raises(Unsupported):
            Encoder(leaf=lambda x: z3.Const(x.name, sort_of(d))).expr(e)
        return
    for a, want in good[::2] + [(a, None) for a in bad]:
        term, defined = _z3_eval(z3, Encoder, e, dict(zip(("a", "b"), a)), d)
        if want is None:
            assert z3.is_false(defined), f"Z3 defines {spec.name}{a!r} on {d}"
            continue
        assert z3.is_true(defined)
        assert _z3_key(z3, term, rd) == _key(want, rd), f"Z3: {a!r} {spec.name} on {d}"


def _z3_eval(z3, encoder, e, values: dict, d: DType):
    """The simplified encoding of ``e`` with its variables bound to ``values``, and its
    simplified definedness condition."""
    consts = {k: encoder(leaf=None).const(v, d) for k, v in values.items()}
    enc = encoder(leaf=lambda x: consts[x.name])
    term = z3.simplify(enc.expr(e))
    return term, z3.simplify(z3.And(*enc.side)) if enc.side else z3.BoolVal(True)


def _z3_key(z3, t, d: DType):
    if d.is_bool:
        assert z3.is_true(t) or z3.is_false(t), t
        return int(z3.is_true(t))
    if d.is_int:
        return t.as_long()
    if t.isNaN():
        return "nan"
    return z3.simplify(z3.fpToIEEEBV(t)).as_long()


# ---------------------------------------------------------------------- (d) Amaranth
def _rtl_cases():
    return [(s, d) for s, d in CASES if s.rtl_builder(d) is not None and not d.is_float]


def test_amaranth_datapath_matches_table():
    """Integer and bool operators as hardware: one design, every operator as a loop
    invariant of the inputs, simulated for every operand vector."""
    pytest.importorskip("amaranth")
    from amaranth.hdl import Module, Signal
    from amaranth.sim import Simulator

    from cosynth.backends.rtl.datapath import Env, Stager, compile_expr, shape_of
    m = Module()
    st = Stager(m)
    ins = {d: (Signal(shape_of(d), name=f"a_{d}"), Signal(shape_of(d), name=f"b_{d}"))
           for d in (i32, i64, boolean)}
    env = Env(ids={}, loads={}, weight=None, kernel=Kernel("k", (), (), (), ()),
              scalars={f"{x}_{d}": s for d, pair in ins.items() for x, s in zip("ab", pair)})
    outs = []  # (spec, dtype, shift amount or None, output signal)
    for spec, d in _rtl_cases():
        rd = _result_dtype(spec, d)
        a, b = Var(f"a_{d}", d), Var(f"b_{d}", d)
        amounts = [0, 1, 5, d.bits - 1] if spec.group == "shift" else [None]
        for k in amounts:
            rhs = b if k is None else Const(k, d)
            e = Bin(spec.name, a, rhs, rd) if spec.arity == 2 else Un(spec.name, a, rd)
            sv, _ = compile_expr(e, env, st)
            o = Signal(shape_of(rd), name=f"o{len(outs)}")
            m.d.comb += o.eq(sv.value)
            outs.append((spec, d, k, o))
    rng = random.Random(_SEED)
    vectors = []
    for _ in range(160):
        vec = {}
        for d in ins:
            pool = _edge_values(d)
            vec[d] = tuple(rng.choice(pool) if rng.random() < 0.5 else _random_value(rng, d)
                           for _ in range(2))
        vectors.append(vec)
    seen: list = []
    depth = st.inv_depth + 1

    async def bench(ctx):
        for vec in vectors:
            for d, (sa, sb) in ins.items():
                ctx.set(sa, vec[d][0])
                ctx.set(sb, vec[d][1])
            await ctx.tick().repeat(depth)
            seen.append([ctx.get(o) for *_, o in outs])

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    checked = 0
    for vec, got in zip(vectors, seen):
        for (spec, d, k, _), r in zip(outs, got):
            x, y = vec[d]
            args = (x,) if spec.arity == 1 else (x, y if k is None else k)
            try:
                want = spec.scalar_fn(d)(*args)
            except ops.DomainError:
                continue
            rd = _result_dtype(spec, d)
            assert _key(r, rd) == _key(want, rd), f"RTL: {args!r} {spec.name} on {d}"
            checked += 1
    assert checked > 1000


# ------------------------------------------------------------- the table's own claims
@pytest.mark.parametrize("name", list(ops.REDUCTIONS))
def test_reduction_identity_and_meaning(name):
    r = ops.reduction(name)
    for d in DTYPES.values():
        if not r.admits(d):
            continue
        e = ops.identity(name, d)
        f = r.scalar_fn(d)
        for x in _edge_values(d):
            assert _key(f(e, x), d) == _key(x, d), (name, d, x)
            assert _key(f(x, e), d) == _key(x, d), (name, d, x)
        if r.improves is not None:  # v improves t exactly when t op v != t
            vals = np.array(_edge_values(d), dtype=d.np)
            for t in vals:
                changed = r.improves(vals, np.full_like(vals, t))
                want = [_key(f(t.item(), v.item()), d) != _key(t.item(), d) for v in vals]
                assert changed.tolist() == want, (name, d, t)


@pytest.mark.parametrize("name", list(ops.REDUCTIONS))
def test_reduction_laws_are_the_proved_ones(name):
    pytest.importorskip("z3")
    from cosynth.frontend.rewrite.laws import operator_law
    r = ops.reduction(name)
    for d in (i32, f32, boolean):
        if not r.admits(d):
            continue
        for law in ("commutative", "associative", "idempotent"):
            proved = operator_law(law, name, d).status == "proved"
            assert proved == (law in r.laws[d.kind]), (name, d, law)


@pytest.mark.parametrize("src,dst", [(s, t) for s in (i32, i64, f32, f64)
                                     for t in (i32, i64, f32, f64) if s != t])
def test_casts_agree(src, dst):
    """``cs.<dst>(x)``: interpreter, vectorised executor and the table's reference."""
    args = [(x,) for x in _edge_values(src)] + \
        [(_random_value(random.Random(i), src),) for i in range(32)]
    conv = ops.convert(src, dst)
    good = []
    for (x,) in args:
        try:
            good.append((x, conv(x)))
        except ops.DomainError:
            continue
    for schedule in ("seq", "par"):
        e = Cast(Load("A", Var("v", i64), src), dst)
        k = Kernel("cast", (), (Table("A", "node", src, "input"), Table("R", "node", dst)),
                   (Loop("nodes", "v", (Store("R", Var("v", i64), e),), schedule=schedule),),
                   (TableRef("R", dst),))
        (r,) = interpret(k, Graph(len(good), [], []),
                         {"A": np.array([x for x, _ in good], dtype=src.np)})
        for (x, want), got in zip(good, r.tolist()):
            assert _key(got, dst) == _key(want, dst), (schedule, src, dst, x)
            if dst.is_float and src.is_int:  # one rounding, as C's conversion
                assert _key(got, dst) == _key(np.array([x], src.np).astype(dst.np)[0], dst)


def test_f64_promotes_before_rounding_to_f32():
    # documented invariant: an f32 operation is the f64 one rounded once
    for name in ("+", "-", "*", "/", "//", "%", "**"):
        f, g = ops.binary(name).scalar_fn(f32), ops.binary(name).scalar_fn(f64)
        for x, y in [(1.5, 0.1), (3.0, -7.0), (1e10, 3.0)]:
            x, y = _rounded(x, f32), _rounded(y, f32)
            assert _key(f(x, y), f32) == _key(np.float32(g(x, y)), f32)
