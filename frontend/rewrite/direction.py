"""Rule ``direction``: push (scatter along out-edges) <-> pull (gather along in-edges).

rewrite (push -> pull)::

    for v in nodes() @par:                      for u in nodes() @par:
      if depth[v] == level:                       for e in in_edges(u) @par:
        for e in out_edges(v) @par:      ->         if depth[e.src] == level:
          nd := level + 1                             nd := level + 1
          depth[e.dst] min= nd -> active              depth[u] min= nd -> active

and back (pull -> push: ``u`` becomes ``e.dst``, ``e.src`` becomes ``v``).  The vertex's
guards move inside the edge loop, recomputed per edge.  Its unconditional private
computations that read nothing the loop writes are *materialised* instead: a parallel
loop before the pull stores them per vertex in a new node table, which the edge loop reads
at ``e.src`` (PageRank's ``share = rank[v] / out_degree(v)``: one division per vertex,
not one per edge); with ``materialize=False`` they are recomputed per edge too.

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
from cosynth.ir.nodes import EdgeAttr, Kernel, Load, Loop, Store, Table, Var
from cosynth.ir.walk import iter_exprs, iter_stmts

from . import parallelize
from .core import Path, applied, get, refused, replace_at, substitute
from .deps import accesses
from .laws import DEFAULT_POLICY, Policy
from .nests import edge_body_writes_ok, fresh_name, match_nest, rebuild_prefix

NAME = "direction"


def applies_to(loop) -> bool:
    return isinstance(loop, Loop) and loop.kind == "nodes"


def apply(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY, to: str | None = None,
          materialize: bool = True):
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
    prefix = list(nest.prefix)
    before, new_tables, table_of = [], [], {}
    if to == "pull" and materialize:
        before, new_tables, table_of, prefix = _materialize(k, loop, prefix)
    # v -> e.src (push->pull) ; e.dst -> u ; a materialised private -> its table at e.src
    mapping = {v: EdgeAttr(e, there, loc=loop.loc),
               (e, here): Var(new_v, i64, True, loc=loop.loc)}
    for name, (table, d) in table_of.items():
        mapping[name] = Load(table, EdgeAttr(e, there, loc=loop.loc), d, loc=loop.loc)
    inner = list(substitute(rebuild_prefix(prefix, list(nest.edge.body)), mapping))
    kept = {n for n, _ in loop.locals} - set(table_of)
    edge = replace(nest.edge, kind="in_edges" if to == "pull" else "out_edges",
                   of=Var(new_v, i64, True, loc=loop.loc), body=tuple(inner),
                   locals=tuple((n, d) for n, d in loop.locals if n in kept) +
                   tuple(nest.edge.locals))
    outer = replace(loop, var=new_v, body=(edge,), locals=(), schedule=schedule)
    k2 = replace(k, tables=tuple(k.tables) + tuple(new_tables))
    note = f"; {', '.join(table_of)} computed once per vertex" if table_of else ""
    return applied(NAME, path, replace_at(k2, path, before + [outer]),
                   f"{now} -> {to}: contributions regrouped by "
                   f"{'destination' if to == 'pull' else 'source'}; every reduction is "
                   f"commutative and associative{note}", laws)


def _materialize(k: Kernel, loop: Loop, prefix: list):
    """Split off the leading unconditional private assignments that read nothing the loop
    writes: (the loop computing them per vertex, new tables, private -> (table, dtype),
    the remaining prefix)."""
    written = {a.table for a in accesses(k, loop) if a.write}
    lead = []
    for kind, st in prefix:
        if kind != "assign":
            break
        reads = {x.table for x in iter_exprs(st.value) if isinstance(x, Load)}
        if reads & written or st.op is not None:
            break
        lead.append(st)
    if not lead:
        return [], [], {}, prefix
    locals_ = dict(loop.locals)
    used = {t.name for t in k.tables} | {p.name for p in k.params}
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop):
            used.add(s.var or "")
            used.update(n for n, _ in s.locals)
    table_of, tables, stores = {}, [], []
    for st in lead:
        name = st.name
        if name in table_of:
            continue
        t = f"{name}_v"
        while t in used:
            t += "_"
        used.add(t)
        d = locals_[name]
        table_of[name] = (t, d)
        tables.append(Table(t, "node", d, loc=st.loc))
    for name, (t, d) in table_of.items():
        stores.append(Store(t, Var(loop.var, i64, True), Var(name, d), loc=loop.loc))
    body = tuple(lead) + tuple(stores)
    pre = Loop("nodes", loop.var, body, "par", start=loop.start, stop=loop.stop,
               locals=tuple((n, d) for n, d in loop.locals if n in table_of), loc=loop.loc)
    rest = prefix[len(lead):]
    return [pre], tables, table_of, rest
