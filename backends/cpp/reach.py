"""Which part of the graph a blade's loops reach.

A blade loads the structure of its own vertices' rows unless some loop may visit edges
of vertices it does not own (``needs_full_graph``); a loop runs over the blade's own
range exactly when the projection rule gave it the shard bounds (``on_shard``).

A program is *sharded* (``replicated`` is False) when every node-table index and every
degree query names a vertex the blade holds: a vertex of its own range (the variable of a
node loop over exactly ``[shard_lo, shard_hi)``), an endpoint of one of its edges, or a
node parameter (added to every blade's ghosts).  Then each blade stores only its own
vertices and those ghosts (``cosynth_rt.hpp``'s ``Graph``).  Otherwise -- whole-graph
loops, ``has_edge``, edge tables, computed vertex indices, an offload device -- every
blade holds every vertex, as a replicated program must.
"""

from __future__ import annotations

from cosynth.ir.nodes import EdgeAttr, GraphQuery, Kernel, Load, Loop, Store, Var
from cosynth.ir.visit import Visitor
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

__all__ = ["needs_full_graph", "on_shard", "replicated"]


def on_shard(s: Loop) -> bool:
    """The loop runs over the blade's own range (its start reads ``shard_lo``)."""
    return s.start is not None and any(isinstance(x, Var) and x.name == "shard_lo"
                                       for x in iter_exprs(s.start))


def replicated(k: Kernel, hw=None) -> bool:
    """Must every blade hold every vertex's entries (see the module docstring)?"""
    if hw is not None or needs_full_graph(k):
        return True
    tables = k.table_map
    if any(t.space == "edge" and t.role != "weight" for t in k.tables):
        return True
    owned = set()
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop) and s.kind == "nodes":
            if not (_is(s.start, "shard_lo") and _is(s.stop, "shard_hi")):
                return True
            owned.add(s.var)
    node_params = {p.name for p in k.params if p.node}

    def held(e) -> bool:
        if isinstance(e, EdgeAttr):
            return e.attr in ("src", "dst")
        return isinstance(e, Var) and (e.name in owned or e.name in node_params)

    for s, _ in iter_stmts(k.body):
        if isinstance(s, Store) and tables[s.table].space == "node" and not held(s.index):
            return True
        if isinstance(s, Loop) and s.kind in ("out_edges", "in_edges") and not held(s.of):
            return True
    for e in (x for s, _ in iter_stmts(k.body) for top in stmt_exprs(s)
              for x in iter_exprs(top)):
        if isinstance(e, Load) and tables[e.table].space == "node" and \
                tables[e.table].role != "weight" and not held(e.index):
            return True
        if isinstance(e, GraphQuery) and e.fn in ("out_degree", "in_degree") and \
                not held(e.args[0]):
            return True
    return False


def _is(e, name: str) -> bool:
    return isinstance(e, Var) and e.name == name


def needs_full_graph(k: Kernel) -> bool:
    """Does some loop visit edges of vertices the blade may not own (then every blade
    loads the whole graph structure)?"""
    owned = {s.var for s, _ in iter_stmts(k.body) if isinstance(s, Loop) and
             s.is_data_loop and s.start is not None and s.kind == "nodes"}
    v = _Reach(owned)
    v.visit_body(k.body)
    return v.full


class _Reach(Visitor):
    """Sets ``full`` at a loop over a vertex's edges that is not a vertex the blade owns,
    at a whole-graph node or edge loop, and at a ``has_edge`` query."""

    def __init__(self, owned: set[str]):
        self.owned = owned
        self.full = False

    def visit_Loop(self, s: Loop):
        if s.kind in ("out_edges", "in_edges"):
            if not (isinstance(s.of, Var) and s.of.name in self.owned):
                self.full = True
        if s.kind in ("nodes", "edges") and s.start is None:
            self.full = True
        self.generic_visit(s)

    def visit_GraphQuery(self, e: GraphQuery):
        if e.fn == "has_edge":
            self.full = True
        self.generic_visit(e)
