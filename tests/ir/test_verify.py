"""The verifier accepts what the tracer makes and rejects each broken invariant."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cosynth.dtypes import boolean, f32, f64, i32, i64
from cosynth.ir.nodes import (
    EDGE,
    REDUCE_OPS,
    Assign,
    Const,
    EdgeAttr,
    Kernel,
    Load,
    Loop,
    Param,
    Store,
    Table,
    TableRef,
    Var,
)
from cosynth.ir.verify import VerifyError, reduce_op_allowed, verify
from tests.helpers import ALGORITHMS, example


@pytest.mark.parametrize("name", ALGORITHMS)
def test_examples_verify(name):
    verify(example(name).ir)


def kernel(body, tables=(), params=()):
    base = (Table("d", "node", f64), Table("f", "scalar", boolean),
            Table("inp", "node", f64, "input"))
    return Kernel("t", tuple(params) + (Param("inp", "array", f64),),
                  base + tuple(tables), tuple(body), (TableRef("d", f64),), f64)


V = Var("v", i64, True)
ONE = Const(1.0, f64, True)


def nodes(*body, locals_=()):
    return Loop("nodes", "v", tuple(body), locals=locals_)


@pytest.mark.parametrize("body,msg", [
    ([Store("x", V, ONE)], "unknown table 'x'"),
    ([nodes(Store("inp", V, ONE))], "read-only table 'inp'"),
    ([nodes(Store("d", None, ONE))], "stored without an index"),
    ([nodes(Store("f", None, ONE))], "value of type f64 stored into bool table"),
    ([nodes(Store("d", V, ONE, "or"))], "reduction 'or' on a f64 table"),
    ([nodes(Store("d", V, ONE, "min", "d"))], "flag 'd' must be another bool scalar"),
    ([nodes(Store("d", V, ONE, None, "f"))], "flag 'f' must be another bool scalar"),
    ([nodes(Store("d", V, Var("t", f64)), locals_=(("t", f64),))], "read before it is assigned"),
    ([nodes(Assign("t", ONE))], "not a loop-private local"),
    ([nodes(Store("d", EdgeAttr("e", "dst"), ONE))], "not an edge field in scope"),
    ([Store("d", V, ONE)], "'v' is not in scope"),
    ([nodes(Store("d", V, Load("d", V, i64)))], "typed i64, table is f64"),
    ([Loop("while", None, (), cond=Const(1, boolean))], "constant value and dtype disagree"),
    ([Loop("while", None, (), cond=Const(1, i64, True))], "while-condition is not bool"),
    ([Loop("out_edges", "e", ())], "name the vertex 'of'"),
    ([Loop("nodes", "v", (), schedule="fast")], "unknown schedule"),
    ([nodes(nodes())], "shadows another name"),
])
def test_rejects(body, msg):
    with pytest.raises(VerifyError, match=msg):
        verify(kernel(body))


def test_tables_declared_twice_and_bad_return():
    k = kernel([])
    with pytest.raises(VerifyError, match="declared twice"):
        verify(replace(k, tables=k.tables + (Table("d", "node", f64),)))
    with pytest.raises(VerifyError, match="return of unknown or scalar table"):
        verify(replace(k, returns=(TableRef("f", boolean),)))


def test_reduction_operators_come_from_the_table():
    numeric, flags = (i32, i64, f32, f64), (boolean,)
    for op in ("min", "max", "add"):
        assert all(reduce_op_allowed(op, d) for d in numeric)
        assert not reduce_op_allowed(op, boolean)
    for op in ("or", "and"):
        assert all(reduce_op_allowed(op, d) for d in flags)
        assert not any(reduce_op_allowed(op, d) for d in numeric)
    assert not reduce_op_allowed("xor", boolean) and not reduce_op_allowed("+", i64)
    assert not any(reduce_op_allowed(op, EDGE) for op in REDUCE_OPS)
