"""The IR parser: exact round trips of every kernel, variant and blade program, the
canonical form of the golden files, and errors that name line and column."""

from __future__ import annotations

import glob
import os
import re

import pytest

from cosynth.frontend.rewrite import VARIANTS, variant
from cosynth.ir.nodes import Bin, Const, Un
from cosynth.ir.parser import IRSyntaxError, loc_order, parse_kernel
from cosynth.ir.printer import _head, print_kernel, print_kernel_exact
from cosynth.ir.walk import iter_stmts
from cosynth.planner.stubs import blade_program
from tests.helpers import example

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden")
NAMES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(GOLDEN, "*.ir")))


def _locs(k):
    out = [k.loc] + [p.loc for p in k.params] + [t.loc for t in k.tables]
    for s, _ in iter_stmts(k.body):
        out += [n.loc for n in loc_order(_head(s))]
    return out + [x.loc for r in k.returns for x in loc_order(r)]


def _kernels(name):
    k = example(name).ir
    yield "as written", k
    for v in VARIANTS:
        kv, _ = variant(k, v)
        yield v, kv
        yield f"{v} blade program", blade_program(k, v)


@pytest.mark.parametrize("name", NAMES)
def test_exact_form_round_trips_kernels_variants_and_blade_programs(name):
    for what, k in _kernels(name):
        text = print_kernel_exact(k)
        back = parse_kernel(text)
        assert back == k, what
        assert _locs(back) == _locs(k), what  # locations too, though equality ignores them
        assert print_kernel_exact(back) == text, what
        # the exact form is the canonical one plus ascriptions and '#@' comments
        plain = re.sub(r"  #@.*", "", text)
        plain = re.sub(r" : (i32|i64|f32|f64|bool) (weak|strong)\)", ")", plain)
        assert "weights:" in plain or len(plain.splitlines()) == len(print_kernel(k).splitlines())


@pytest.mark.parametrize("name", NAMES)
def test_golden_files_parse_to_their_text(name):
    with open(os.path.join(GOLDEN, f"{name}.ir")) as f:
        text = f.read()
    k = parse_kernel(text, f"{name}.ir")
    assert print_kernel(k) == text
    assert print_kernel(example(name).ir) == text


def test_canonical_form_reads_back_the_traced_kernel():
    # the reading rules are the frontend's: these kernels need no ascription at all
    for name in ("bfs", "sssp", "pagerank", "tc"):
        k = example(name).ir
        assert parse_kernel(print_kernel(k)) == k, name


def test_ascriptions_distinguish_what_the_canonical_form_merges():
    k = parse_kernel("kernel f(x: i64) -> t\n  tables:\n    t: scalar i64\n"
                     "  t = -(1 : i64 weak) + i64((2 : i64 weak)) + (x : i64 strong)\n"
                     "  return t\n")
    e = k.body[0].value
    assert isinstance(e, Bin) and isinstance(e.a.a, Un) and isinstance(e.a.a.a, Const)
    assert e.b.weak is False and not e.weak
    folded = parse_kernel("kernel f() -> t\n  tables:\n    t: scalar i32\n"
                          "  t = i32(-3)\n  return t\n")
    assert folded.body[0].value == Const(-3, folded.tables[0].dtype, False)


def test_weak_scalars_are_a_fixed_point():
    k = parse_kernel("kernel f() -> a, b\n  tables:\n    a: scalar i64\n    b: scalar i64\n"
                     "  a = 1\n  b = i64(a)\n  a = a + 1\n  b = b + 1\n  return a, b\n")
    loads = {s.table: s.value for s in k.body}
    assert loads["a"].weak  # only ever assigned Python numbers
    assert not loads["b"].weak  # assigned a typed cast


@pytest.mark.parametrize("text, where, what", [
    ("kernel f() -> t\n  tables:\n    t: scalar i64\n  t = 1 +\n  return t\n",
     ":4:10:", "expected an expression"),
    ("kernel f() -> t\n  tables:\n    t: scalar i64\n  u = 1\n  return t\n",
     ":4:3:", "no table named 'u'"),
    ("kernel f() -> t\n  tables:\n    t: blob i64\n  return t\n", ":3:8:", "table space"),
    ("kernel f() -> t\n  tables:\n    t: scalar i64\n  t = 1 < 2 < 3\n  return t\n",
     ":4:13:", "do not chain"),
    ("kernel f() -> t\n  tables:\n    t: scalar i64\n  t = 1\n", ":5:1:", "ends before"),
    ("kernel f() -> t\n  tables:\n    t: scalar i64\n  t = 1 $ 2\n  return t\n",
     ":4:9:", "unexpected character"),
    ("kernel f() -> t\n  tables:\n    t: scalar i64\n  t = 1\n  return t\n  t = 2\n",
     ":6:3:", "after the kernel's 'return'"),
    ("kernel f() -> t  #@ 1:0\n  tables:\n    t: scalar i64  #@ 2:0 3:0\n  return t\n",
     ":3:", "2 location(s) for the 1 node(s)"),
])
def test_errors_name_line_and_column(text, where, what):
    with pytest.raises(IRSyntaxError) as exc:
        parse_kernel(text, "x.ir")
    msg = str(exc.value)
    assert msg.startswith("x.ir" + where) and what in msg, msg
