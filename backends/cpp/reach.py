"""Which part of the graph a blade's loops reach.

A blade loads the structure of its own vertices' rows unless some loop may visit edges
of vertices it does not own (``needs_full_graph``); a loop runs over the blade's own
range exactly when the projection rule gave it the shard bounds (``on_shard``).
"""

from __future__ import annotations

from cosynth.ir.nodes import GraphQuery, Kernel, Loop, Var
from cosynth.ir.visit import Visitor
from cosynth.ir.walk import iter_exprs, iter_stmts

__all__ = ["needs_full_graph", "on_shard"]


def on_shard(s: Loop) -> bool:
    """The loop runs over the blade's own range (its start reads ``shard_lo``)."""
    return s.start is not None and any(isinstance(x, Var) and x.name == "shard_lo"
                                       for x in iter_exprs(s.start))


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
