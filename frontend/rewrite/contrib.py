"""Rule ``contrib``: precomputed contributions.  A gather that computes, per in-edge, a
value of the edge's source alone (PageRank written as pull: ``rank[e.src] /
out_degree(e.src)``) computes it once per vertex, into a node table, just before.

rewrite::

                                               for v in nodes() @par:
                                                 if out_degree(v) > 0:
    for u in nodes() @par:                         c[v] = rank[v] / out_degree(v)
      for e in in_edges(u):               ->   for u in nodes() @par:
        acc[u] add= rank[e.src] / out_degree(e.src)    for e in in_edges(u):
                                                     acc[u] add= c[e.src]

Pattern: a parallel node loop over every vertex whose body holds, unconditionally, a loop
over its in-edges; a statement directly in that edge loop (not under an ``if``) holds a
sub-expression that divides (``/``, ``//``, ``%``) and reads only the edge's source:
node tables at ``e.src`` that the node loop does not write, scalars it does not write,
the source's degrees, parameters and constants.

Legality.  The precomputed value ``c[v]`` is the same expression on the same operands
as the edge loop would evaluate at each in-edge of ``v``: the tables it reads are not
written by the node loop, and the new loop runs immediately before it, so every
evaluation the original makes sees the values ``c[v]`` was computed from -- the result is
bit for bit the same (no reassociation: exact).  It is computed for exactly the vertices
that are the source of some edge (out-degree > 0), and since the node loop visits every
vertex and the statement runs for each of its in-edges unconditionally, the original
evaluates it for each of those vertices at least once: an evaluation that fails (an
integer division by zero) fails in both, and no vertex is evaluated that the original
never evaluates.  The new table is written only by the new loop, read only at
``e.src``.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.dtypes import boolean, i64
from cosynth.ir.nodes import (
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Expr,
    GraphQuery,
    If,
    Kernel,
    Load,
    Loop,
    Select,
    Store,
    Table,
    Un,
    Var,
)
from cosynth.ir.printer import print_expr
from cosynth.ir.visit import Transformer
from cosynth.ir.walk import iter_exprs, stmt_exprs

from .core import Path, applied, get, refused, replace_at
from .deps import accesses
from .laws import DEFAULT_POLICY, Policy
from .nests import fresh_name

__all__ = ["NAME", "apply", "applies_to"]

NAME = "contrib"
_DIV = ("/", "//", "%")


def applies_to(loop) -> bool:
    return isinstance(loop, Loop) and loop.kind == "nodes"


def apply(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY):
    loop = get(k, path)
    if not applies_to(loop) or loop.schedule == "seq":
        return refused(NAME, path, "not a parallel node loop")
    if loop.start is not None or loop.stop is not None:
        return refused(NAME, path, "the node loop does not visit every vertex")
    written = {a.table for a in accesses(k, loop) if a.write}
    params = {p.name for p in k.params if p.kind == "scalar"}
    tables = k.table_map
    for i, edge in enumerate(loop.body):
        if not (isinstance(edge, Loop) and edge.kind == "in_edges" and
                isinstance(edge.of, Var) and edge.of.name == loop.var):
            continue
        for j, st in enumerate(edge.body):
            if isinstance(st, (If, Loop)):
                continue
            for top in stmt_exprs(st):
                x = _candidate(top, edge.var, written, params, tables)
                if x is None:
                    continue
                return _hoist(k, path, loop, i, edge, j, x)
    return refused(NAME, path, "no in-edge loop computes a division of its source's "
                   "data alone")


def _candidate(e: Expr, var: str, written: set, params: set, tables: dict) -> Expr | None:
    """The first (outermost) sub-expression of ``e`` worth precomputing: it divides and
    reads only the source of edge ``var``."""
    for x in iter_exprs(e):  # pre-order: outermost first
        if any(isinstance(y, Bin) and y.op in _DIV for y in iter_exprs(x)) and \
                _source_only(x, var, written, params, tables):
            return x
    return None


def _source_only(e: Expr, var: str, written: set, params: set, tables: dict) -> bool:
    src = EdgeAttr(var, "src")
    for x in iter_exprs(e):
        if isinstance(x, (Const, Bin, Un, Cast, Select)):
            continue
        if isinstance(x, EdgeAttr):
            if not (x.edge == var and x.attr == "src"):
                return False
        elif isinstance(x, Load):
            t = tables[x.table]
            if x.table in written or t.role == "weight" or t.space == "edge":
                return False
            if t.space == "node" and not _is(x.index, src):
                return False
        elif isinstance(x, GraphQuery):
            if x.fn not in ("out_degree", "in_degree") or not _is(x.args[0], src):
                return False
        elif isinstance(x, Var):
            if x.name not in params:
                return False
        else:
            return False
    return True


def _is(e, attr: EdgeAttr) -> bool:
    return isinstance(e, EdgeAttr) and e.edge == attr.edge and e.attr == attr.attr


def _hoist(k: Kernel, path: Path, loop: Loop, i: int, edge: Loop, j: int, x: Expr):
    name = fresh_name(k, "src_share")
    while name in k.table_map:
        name += "_"
    v = fresh_name(k, "v")
    at_v = _Replace({("src", edge.var): Var(v, i64, True, loc=loop.loc)}).visit(x)
    deg = GraphQuery("out_degree", (Var(v, i64, True),))
    store = Store(name, Var(v, i64, True), at_v, loc=loop.loc)
    pre = Loop("nodes", v, (If(Bin(">", deg, Const(0, i64), boolean), (store,)),), "par",
               loc=loop.loc)
    load = Load(name, EdgeAttr(edge.var, "src", loc=x.loc), x.dtype, loc=x.loc)
    st = _Replace({id(x): load}).visit(edge.body[j])
    new_edge = replace(edge, body=edge.body[:j] + (st,) + edge.body[j + 1:])
    new_loop = replace(loop, body=loop.body[:i] + (new_edge,) + loop.body[i + 1:])
    k2 = replace(k, tables=tuple(k.tables) + (Table(name, "node", x.dtype, loc=x.loc),))
    return applied(NAME, path, replace_at(k2, path, [pre, new_loop]),
                   f"{print_expr(x)} depends on the edge's source only: computed once per "
                   f"vertex into {name} (exact: same operations, same operands)")


class _Replace(Transformer):
    """Replace the edge's source by a vertex variable (key ``("src", edge)``) or one
    sub-expression object by another (key ``id(expr)``)."""

    def __init__(self, mapping: dict):
        self.mapping = mapping

    def visit_Expr(self, e):
        hit = self.mapping.get(id(e))
        if hit is not None:
            return hit
        if isinstance(e, EdgeAttr) and e.attr == "src":
            hit = self.mapping.get(("src", e.edge))
            if hit is not None:
                return hit
        return self.generic_visit(e)
