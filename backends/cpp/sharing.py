"""Which reductions of a parallel nest reach entries other iterations also reach.

Such a reduction must be atomic (``atomic_min`` ...), and reads of its table inside the
nest are atomic loads; a reduction into the iteration's own entry is plain.  An entry is
the iteration's own when it is indexed by the node loop's variable, by the endpoint of
an edge of the iteration's vertex that is that vertex (``src`` of its out-edges, ``dst``
of its in-edges), or by the id of an edge only this iteration visits.

Invariant: if a nest reduces into a table at some shared entry, every reduction into
that table in the nest is atomic (an owner's plain update would race with the others).
"""

from __future__ import annotations

from cosynth.ir.nodes import EdgeAttr, Expr, Loop, Store, Var
from cosynth.ir.visit import Visitor
from cosynth.ir.walk import iter_stmts

__all__ = ["shared_stores"]


def shared_stores(par: Loop, tables: dict) -> set[int]:
    """The ``id``s of the reductions in the parallel loop ``par`` that need atomics."""
    v = _Shared(par, tables)
    v.visit_body(par.body)
    out = v.out
    shared_tables = {x.table for x, _ in iter_stmts(par.body) if id(x) in out}
    for x, _ in iter_stmts(par.body):
        if isinstance(x, Store) and x.op is not None and x.table in shared_tables:
            out.add(id(x))
    return out


class _Shared(Visitor):
    def __init__(self, par: Loop, tables: dict):
        self.par, self.tables = par, tables
        self.own: dict[str, str | None] = {}  # edge var -> the endpoint that is the owner
        self.out: set[int] = set()

    def visit_Expr(self, e: Expr):
        return None  # only statements matter

    def visit_Loop(self, x: Loop):
        par = self.par
        if x.is_edge_loop:
            mine = par.kind == "nodes" and isinstance(x.of, Var) and x.of.name == par.var
            self.own[x.var] = ("src" if x.kind == "out_edges" else "dst") if mine else None
        self.generic_visit(x)

    def visit_Store(self, x: Store):
        if x.op is None or self.tables[x.table].space == "scalar":
            return
        par, i = self.par, x.index
        if isinstance(i, Var) and i.name == par.var and par.kind == "nodes":
            return
        if isinstance(i, EdgeAttr) and self.own.get(i.edge) == i.attr:
            return
        if isinstance(i, EdgeAttr) and i.attr == "id" and (
                i.edge == par.var or self.own.get(i.edge) is not None):
            return
        self.out.add(id(x))
