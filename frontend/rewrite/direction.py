"""Rule ``direction``: push (scatter along out-edges) <-> pull (gather along in-edges).

rewrite (push -> pull)::

    for v in nodes() @par:                      for u in nodes() @par:
      if depth[v] == level:                       for e in in_edges(u) @par:
        for e in out_edges(v) @par:      ->         if depth[e.src] == level:
          nd := level + 1                             nd := level + 1
          depth[e.dst] min= nd -> active              depth[u] min= nd -> active

and back (pull -> push: ``u`` becomes ``e.dst``, ``e.src`` becomes ``v``).  The vertex's
private computations and guards move inside the edge loop, recomputed per edge.

Every contribution still happens exactly once, but in another order: grouped by
destination instead of by source.  Legal when

* the node loop's iterations are independent (it is already ``par``/``bsp``/``async``,
  or ``parallelize`` would prove it), so interleaving them is allowed;
* every write in the edge loop is a reduction whose operator Z3 proves commutative and
  associative on its dtype (or a store to the edge's own entry).

Refused otherwise: ``d[e.dst] = d[v]`` (last writer wins) must not change direction.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.dtypes import i64
from cosynth.ir.nodes import EdgeAttr, Kernel, Loop, Var

from .core import Path, applied, get, refused, replace_at, substitute
from .laws import DEFAULT_POLICY, Policy
from .nests import edge_body_writes_ok, fresh_name, match_nest, rebuild_prefix

NAME = "direction"


def applies_to(loop) -> bool:
    return isinstance(loop, Loop) and loop.kind == "nodes"


def apply(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY, to: str | None = None):
    """``to``: ``pull`` or ``push`` (default: the other direction)."""
    loop = get(k, path)
    nest, why = match_nest(loop)
    if nest is None:
        return refused(NAME, path, why)
    now = "push" if nest.edge.kind == "out_edges" else "pull"
    to = to or ("pull" if now == "push" else "push")
    if to == now:
        return refused(NAME, path, f"already {now}")
    laws = []
    schedule = loop.schedule
    if schedule == "seq":
        from . import parallelize
        pr = parallelize.apply(k, path, policy)
        laws += pr.laws
        if not pr.applied:
            return refused(NAME, path, "the node loop must run its iterations in any order, "
                           f"and parallelize does not apply: {pr.reason}", laws)
        schedule = "par"
    why, more = edge_body_writes_ok(k, nest, policy)
    laws += more
    if why:
        return refused(NAME, path, f"the edge loop cannot be regrouped by "
                       f"{'destination' if to == 'pull' else 'source'}: {why}", laws)
    v, e = loop.var, nest.edge.var
    new_v = fresh_name(k, "u" if to == "pull" else "v")
    here, there = ("dst", "src") if to == "pull" else ("src", "dst")
    # v -> e.src (push->pull) ; e.dst -> u
    mapping = {v: EdgeAttr(e, there, loc=loop.loc),
               (e, here): Var(new_v, i64, True, loc=loop.loc)}
    inner = list(substitute(rebuild_prefix(nest.prefix, list(nest.edge.body)), mapping))
    edge = replace(nest.edge, kind="in_edges" if to == "pull" else "out_edges",
                   of=Var(new_v, i64, True, loc=loop.loc), body=tuple(inner),
                   locals=tuple(loop.locals) + tuple(nest.edge.locals))
    outer = replace(loop, var=new_v, body=(edge,), locals=(), schedule=schedule)
    return applied(NAME, path, replace_at(k, path, [outer]),
                   f"{now} -> {to}: contributions regrouped by "
                   f"{'destination' if to == 'pull' else 'source'}; every reduction is "
                   "commutative and associative", laws)
