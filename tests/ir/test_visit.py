"""The IR visitor and transformer: dispatch, order, paths, purity and identity."""

from __future__ import annotations

import operator
from dataclasses import replace

import pytest

from cosynth.dtypes import boolean, i64
from cosynth.ir.nodes import (
    Assign,
    Bin,
    Const,
    Expr,
    If,
    Load,
    Loop,
    Select,
    Stmt,
    Store,
    Un,
    Var,
    children,
)
from cosynth.ir.printer import print_kernel
from cosynth.ir.verify import verify
from cosynth.ir.visit import SCHEMA, Transformer, Visitor
from cosynth.ir.walk import iter_exprs, iter_stmts, map_body
from tests.helpers import ALGORITHMS, example


class _Record(Visitor):
    """Records every node with the kinds of its enclosing loops and its address."""

    def __init__(self):
        self.seen = []

    def visit_Stmt(self, s):
        self.seen.append((type(s).__name__, tuple(lp.kind for lp in self.loops),
                          self.address))
        self.generic_visit(s)

    def visit_Expr(self, e):
        self.seen.append((type(e).__name__, tuple(lp.kind for lp in self.loops),
                          self.address))
        self.generic_visit(e)


def test_dispatch_order_loops_and_addresses():
    k = example("sssp").ir
    r = _Record()
    r.visit(k)
    names = [n for n, _, _ in r.seen]
    # dist[:] = inf; dist[source] = 0.0; changed = True; while changed: ...; return dist
    assert names == [
        "Alloc", "Const",
        "Store", "Var", "Const",
        "Store", "Const",
        "Loop", "Load",  # the while header comes before its body
        "Store", "Const",
        "Loop",
        "Loop", "Var",  # out_edges(v)
        "Assign", "Bin", "Load", "Var", "Load", "EdgeAttr",
        "Store", "EdgeAttr", "Var",
        "TableRef",
    ]
    by_name = {}
    for name, loops, address in r.seen:
        by_name.setdefault(name, []).append((loops, address))
    # the reduction into dist sits in the edge loop of the node loop of the while loop
    assert by_name["Assign"] == [(("while", "nodes", "out_edges"),
                                  (("body", 3), ("body", 1), ("body", 0), ("body", 0)))]
    # a loop's header belongs to the scope around it
    assert ((), (("body", 3),)) in by_name["Load"]
    assert (("while", "nodes"), (("body", 3), ("body", 1), ("body", 0))) in by_name["Var"]
    # paths are restored after every body: the returned table is outside every loop
    assert by_name["TableRef"] == [((), ())]


def test_specific_method_wins_over_fallbacks():
    class V(Visitor):
        def __init__(self):
            self.calls = []

        def visit_Load(self, e):
            self.calls.append("load")

        def visit_Expr(self, e):
            self.calls.append("expr")
            self.generic_visit(e)

    v = V()
    v.visit(Bin("+", Load("t", Var("x", i64), i64), Const(1, i64), i64))
    # Bin -> visit_Expr, Load -> visit_Load (its index is not visited), Const -> visit_Expr
    assert v.calls == ["expr", "load", "expr"]


def test_loops_and_address_restored_when_a_pass_raises():
    k = example("sssp").ir

    class Boom(Visitor):
        def visit_Assign(self, s):
            raise RuntimeError("stop")

    v = Boom()
    with pytest.raises(RuntimeError):
        v.visit(k)
    assert v.loops == () and v.address == ()


class _Eval(Visitor):
    """An interpreter in the fx style: each method returns the value of its node."""

    OPS = {"+": operator.add, "*": operator.mul, "<": operator.lt}

    def __init__(self, env):
        self.env = env

    def visit_Const(self, e):
        return e.value

    def visit_Var(self, e):
        return self.env[e.name]

    def visit_Bin(self, e):
        return self.OPS[e.op](self.visit(e.a), self.visit(e.b))

    def visit_Un(self, e):
        return -self.visit(e.a)

    def visit_Select(self, e):
        return self.visit(e.a) if self.visit(e.cond) else self.visit(e.b)


def test_evaluating_visitor():
    x, y = Var("x", i64), Var("y", i64)
    e = Select(Bin("<", x, y, boolean), Bin("*", x, Const(3, i64), i64),
               Un("-", Bin("+", x, y, i64), i64), i64)
    assert _Eval({"x": 2, "y": 5}).visit(e) == 6
    assert _Eval({"x": 7, "y": 5}).visit(e) == -12


class _Rename(Transformer):
    def __init__(self, old, new):
        self.old, self.new = old, new

    def visit_Load(self, e):
        e = self.generic_visit(e)
        return replace(e, table=self.new) if e.table == self.old else e

    def visit_Store(self, s):
        s = self.generic_visit(s)
        return replace(s, table=self.new) if s.table == self.old else s

    def visit_Alloc(self, s):
        s = self.generic_visit(s)
        return replace(s, table=self.new) if s.table == self.old else s

    def visit_TableRef(self, e):
        return replace(e, table=self.new) if e.table == self.old else e


def _renamed(k, old, new):
    out = _Rename(old, new).visit(k)
    return replace(out, tables=tuple(replace(t, name=new) if t.name == old else t
                                     for t in out.tables))


def test_transformer_renames_a_table():
    k = example("sssp").ir
    before = print_kernel(k)
    new = verify(_renamed(k, "dist", "d"))
    assert print_kernel(k) == before  # the input is untouched
    assert print_kernel(new) == """\
kernel sssp(source: i64 node) -> d
  tables:
    weight: edge f64 weight
    d: node f64
    changed: scalar bool
  d[:] = inf
  d[source] = 0.0
  changed = True
  while changed @seq:
    changed = False
    for v in nodes() @seq:
      for e in out_edges(v) @seq:
        private nd: f64
        nd := d[v] + weight[e.id]
        d[e.dst] min= nd -> changed
  return d
"""


def test_transformer_keeps_identity_where_nothing_changed():
    k = example("sssp").ir
    assert Transformer().visit(k) is k
    assert _Rename("nowhere", "x").visit(k) is k
    new = _Rename("dist", "d").visit(k)
    assert new is not k
    assert new.body[2] is k.body[2]  # changed = True
    old_while, new_while = k.body[3], new.body[3]
    assert new_while is not old_while
    assert new_while.cond is old_while.cond  # the header read of 'changed'
    assert new_while.body[0] is old_while.body[0]  # changed = False
    edge_old = old_while.body[1].body[0]
    edge_new = new_while.body[1].body[0]
    assert edge_new.of is edge_old.of
    # nd := d[v] + weight[e.id]: the weight load is kept, the dist load replaced
    assert edge_new.body[0].value.b is edge_old.body[0].value.b
    assert edge_new.body[0].value.a is not edge_old.body[0].value.a


@pytest.mark.parametrize("name", ALGORITHMS)
def test_renaming_back_and_forth_is_the_identity_on_text(name):
    k = example(name).ir
    table = next(t.name for t in k.tables if t.role == "local")
    there = _renamed(k, table, "renamed__")
    assert print_kernel(_renamed(there, "renamed__", table)) == print_kernel(k)
    assert table not in {x.table for s, _ in iter_stmts(there.body)
                         for x in _loads(s)}


def _loads(s):
    from cosynth.ir.walk import stmt_exprs
    return [x for e in stmt_exprs(s) for x in iter_exprs(e) if isinstance(x, Load)]


def test_transformer_splices_and_drops_statements():
    k = example("sssp").ir

    class Unroll(Transformer):
        def visit_Expr(self, e):
            return e

        def visit_Store(self, s):
            if s.table == "changed" and s.value == Const(True, boolean):
                return None  # drop
            return s

        def visit_Assign(self, s):
            return [s, Assign(s.name, s.value, "min")]  # splice two in place of one

    new = Unroll().visit(k)
    text = print_kernel(new)
    assert "  changed = True\n" not in text
    assert "nd := dist[v] + weight[e.id]\n        nd min:= dist[v] + weight[e.id]\n" in text
    assert "changed = True" in print_kernel(k)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_schema_lists_every_child(name):
    """``generic_visit`` reaches exactly the children ``nodes.children`` finds."""
    k = example(name).ir

    class Check(Visitor):
        def visit_Stmt(self, s):
            self.check(s)

        def visit_Expr(self, e):
            self.check(e)

        def check(self, node):
            assert type(node) in SCHEMA
            got = []

            class Child(Visitor):
                def visit_Stmt(self, s):
                    got.append(s)

                def visit_Expr(self, e):
                    got.append(e)
            Child().generic_visit(node)
            assert sorted(map(id, got)) == sorted(map(id, children(node)))
            self.generic_visit(node)

    Check().visit(k)


def test_map_body_wrapper():
    x = Var("x", i64)
    body = (Store("t", None, x), If(Bin("<", x, Const(0, i64), boolean),
                                    (Store("t", None, Const(1, i64)),)))
    assert map_body(body) is body

    def neg(e: Expr) -> Expr:
        return Const(-e.value, e.dtype) if isinstance(e, Const) else e

    def drop_ifs(s: Stmt):
        return None if isinstance(s, If) and not s.then else s

    out = map_body(body, None, neg)
    assert out[0] is body[0] and out[1].then[0].value == Const(-1, i64)
    assert out[1].cond.b == Const(0, i64)
    emptied = map_body(body, lambda s: None if isinstance(s, Store) else s)
    assert emptied == (If(body[1].cond, ()),)
    # stmt_fn sees a statement after its bodies were rebuilt: the if is empty by then
    assert map_body(body, lambda s: None if isinstance(s, Store) else drop_ifs(s)) == ()


def test_iter_stmts_paths():
    k = example("sssp").ir
    rows = [(type(s).__name__, tuple(lp.kind for lp in path)) for s, path in
            iter_stmts(k.body)]
    assert rows[-1] == ("Store", ("while", "nodes", "out_edges"))
    assert ("Loop", ("while", "nodes")) in rows
    assert all(isinstance(s, Stmt) for s, _ in iter_stmts(k.body))
    loops = [s for s, _ in iter_stmts(k.body) if isinstance(s, Loop)]
    assert [lp.kind for lp in loops] == ["while", "nodes", "out_edges"]
