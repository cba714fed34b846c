"""The canonical printer: golden files for the seven algorithms.

Regenerate after an intended change with ``pytest tests/ir/test_printer.py --update-golden``
and review the diff.
"""

from __future__ import annotations

import os

import pytest

from cosynth.dtypes import boolean, f64, i32, i64
from cosynth.ir.nodes import Bin, Const, Select, Un, Var
from cosynth.ir.printer import print_expr, print_kernel
from tests.helpers import ALGORITHMS, example

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(__file__)), "golden")


@pytest.mark.parametrize("name", ALGORITHMS)
def test_golden(name, update_golden):
    text = print_kernel(example(name).ir)
    path = os.path.join(GOLDEN, f"{name}.ir")
    if update_golden or not os.path.exists(path):
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        assert text == f.read()


def test_printing_is_deterministic_and_ignores_locations():
    a = print_kernel(example("sssp").ir)
    b = print_kernel(example("sssp").ir)
    assert a == b
    with_locs = print_kernel(example("sssp").ir, locs=True)
    assert "# line 16" in with_locs and with_locs.replace("  # line", "#").count("#") > 3


def test_expression_precedence():
    x, y = Var("x", i64), Var("y", i64)
    one = Const(1, i64, True)
    assert print_expr(Bin("*", Bin("+", x, y, i64), y, i64)) == "(x + y) * y"
    assert print_expr(Bin("-", x, Bin("-", y, one, i64), i64)) == "x - (y - 1)"
    assert print_expr(Bin("-", Bin("-", x, y, i64), one, i64)) == "x - y - 1"
    assert print_expr(Bin("**", x, Bin("**", y, one, i64), i64)) == "x ** y ** 1"
    assert print_expr(Bin("**", Bin("**", x, y, i64), one, i64)) == "(x ** y) ** 1"
    assert print_expr(Un("-", Bin("+", x, y, i64), i64)) == "-(x + y)"
    lt = Bin("<", x, y, boolean)
    assert print_expr(Bin("==", lt, Const(True, boolean), boolean)) == "(x < y) == True"
    assert print_expr(Un("not", Bin("and", lt, lt, boolean), boolean)) == \
        "not (x < y and x < y)"
    assert print_expr(Select(lt, x, y, i64)) == "x if x < y else y"
    assert print_expr(Const(0, i32)) == "i32(0)"
    assert print_expr(Const(float("inf"), f64, True)) == "inf"
    assert print_expr(Bin("min", x, Un("abs", y, i64), i64)) == "min(x, abs(y))"
