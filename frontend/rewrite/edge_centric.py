"""Rule ``edge_centric``: a node loop nested with its edge loop <-> one loop over all edges.

rewrite (node -> edge)::

    for v in nodes() @S:                       for e in edges() @S:
      share := rank[v] / out_degree(v)   ->      share := rank[e.src] / out_degree(e.src)
      for e in out_edges(v) @S:                  contrib[e.dst] add= share
        contrib[e.dst] add= share

and back (edge -> node: ``for e in edges()`` becomes ``for v in nodes(): for e in
out_edges(v)`` with ``e.src`` read as ``v``).  This is the form that streams the edge
list from storage and the form the FPGA kernels consume.

Edge ids follow CSR order, which is exactly the order of ``for v: for e in
out_edges(v)``, so both directions over out-edges preserve the order of every operation:
always legal, no law needed.  Over in-edges the order changes (CSC order is not edge-id
order) and the rule then needs what ``direction`` needs: independent node iterations and
reorderable reductions.
"""

from __future__ import annotations

from cosynth.dtypes import i64
from cosynth.ir.nodes import EdgeAttr, Kernel, Loop, Var

from . import parallelize
from .core import Path, applied, get, refused, replace_at, substitute
from .laws import DEFAULT_POLICY, Policy
from .nests import edge_body_writes_ok, fresh_name, match_nest, rebuild_prefix

NAME = "edge_centric"


def applies_to(loop) -> bool:
    return isinstance(loop, Loop) and loop.kind in ("nodes", "edges")


def apply(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY, to: str | None = None):
    """``to``: ``edges`` or ``nodes`` (default: the other form)."""
    loop = get(k, path)
    if isinstance(loop, Loop) and loop.kind == "edges":
        if to == "edges":
            return refused(NAME, path, "already edge-centric")
        return _to_nodes(k, path, loop)
    nest, why = match_nest(loop)
    if nest is None:
        return refused(NAME, path, why)
    if to == "nodes":
        return refused(NAME, path, "already node-centric")
    laws = []
    if nest.edge.kind == "in_edges":
        if loop.schedule == "seq":
            pr = parallelize.apply(k, path, policy)
            laws += pr.laws
            if not pr.applied:
                return refused(NAME, path, "over in-edges the edge order changes, and the "
                               f"node loop's iterations must be independent: {pr.reason}", laws)
        why, more = edge_body_writes_ok(k, nest, policy)
        laws += more
        if why:
            return refused(NAME, path, f"over in-edges the edge order changes: {why}", laws)
    v, e = loop.var, nest.edge.var
    attr = "src" if nest.edge.kind == "out_edges" else "dst"
    inner = list(substitute(rebuild_prefix(nest.prefix, list(nest.edge.body)),
                            {v: EdgeAttr(e, attr, loc=loop.loc)}))
    sched = loop.schedule if loop.schedule == nest.edge.schedule else "seq"
    new = Loop("edges", e, tuple(inner), sched, locals=tuple(loop.locals) +
               tuple(nest.edge.locals), loc=loop.loc)
    exact = nest.edge.kind == "out_edges"
    return applied(NAME, path, replace_at(k, path, [new]),
                   "edge ids follow CSR order: every operation keeps its place" if exact else
                   "in-edges regrouped in edge-id order; every reduction is commutative and "
                   "associative", laws)


def _to_nodes(k: Kernel, path: Path, loop: Loop):
    if loop.start is not None:
        return refused(NAME, path, "a shard's edge range (projected loop) stays edge-centric")
    v = fresh_name(k, "v")
    vv = Var(v, i64, True, loc=loop.loc)
    body = substitute(loop.body, {(loop.var, "src"): vv})
    edge = Loop("out_edges", loop.var, body, loop.schedule, of=vv, locals=loop.locals,
                loc=loop.loc)
    outer = Loop("nodes", v, (edge,), loop.schedule, loc=loop.loc)
    return applied(NAME, path, replace_at(k, path, [outer]),
                   "edge ids follow CSR order: every operation keeps its place")

