"""Per-thread copies of a node table that a parallel nest only reduces into.

rewrite::

    for e in edges() @par:                       T__priv.open(identity)   (a copy per thread)
      ...                                        for e in edges() @par:
        tri[w] add= 1      (atomic: shared) ->     ...
                                                   T__pp[thread][w] add= 1   (plain)
                                                 tri[i] add= T__pp[0][i], T__pp[1][i], ...
                                                   (every entry, after the loop, in parallel)

Legality: inside the nest no statement reads the table (no ``Load`` of it anywhere in the
nest, so no iteration can observe an intermediate value), every write of it is a
reduction with one operator that is commutative and associative and has an identity,
and none sets a change flag or queues a vertex (a level queue, a frontier), which would
need to know whether *this* update changed the entry.  Then the table's final values
are the reduction of its initial values and all contributions in some order, which is
what the atomics computed too: their order was already the threads' (for a float add the
same reassociation the atomics made; integers, min, max, or, and are exact in any
order).  Each thread's copy is written by that thread only, so the lock prefix goes (and
two threads no longer fight over the cache lines of hub vertices' entries); the combine
reads every copy once per entry.

When: the nest runs over every vertex or edge of the blade (not a level queue, a
frontier or a work list, whose sweeps may touch a few entries where the combine would
read all of them), and a shared reduction of the table sits inside an edge loop of the
nest or the nest is an edge loop: it then runs about once per edge or more, at least as
often as the combine's per-entry work (one pass over ``threads`` copies).  Reductions
into another blade's entries keep going to the outbox, atomically.
"""

from __future__ import annotations

from cosynth import ops
from cosynth.ir.nodes import Load, Loop, Store
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

__all__ = ["private_tables"]

_OPS = ("add", "min", "max", "or", "and")


def private_tables(par: Loop, tables: dict, shared: set[int], queued: set[str]) -> list[str]:
    """The node tables of the parallel loop ``par`` to reduce into per-thread copies
    (``shared``: ids of the reductions that need atomics, ``sharing.shared_stores``;
    ``queued``: tables whose changes a level queue or frontier records)."""
    read = {y.table for x, _ in iter_stmts(par.body) for e in stmt_exprs(x)
            for y in iter_exprs(e) if isinstance(y, Load)}
    stores: dict[str, list[Store]] = {}
    for x, _ in iter_stmts(par.body):
        if isinstance(x, Store):
            stores.setdefault(x.table, []).append(x)
    deep = _in_edge_loop(par)
    out = []
    for name, group in sorted(stores.items()):
        t = tables[name]
        if t.space != "node" or name in read or name in queued:
            continue
        if any(x.op is None or x.flag for x in group) or len({x.op for x in group}) != 1:
            continue
        if group[0].op not in _OPS or ops.identity(group[0].op, t.dtype) is None:
            continue
        if not any(id(x) in shared for x in group):
            continue  # no atomics to remove
        if par.kind == "nodes" and not any(id(x) in deep for x in group if id(x) in shared):
            continue  # about once per vertex: the combine would cost as much
        out.append(name)
    return out


def _in_edge_loop(par: Loop) -> set[int]:
    """The ids of the statements of ``par`` inside one of its edge loops."""
    return {id(x) for x, path in iter_stmts(par.body)
            if any(lp.kind in ("out_edges", "in_edges") for lp in path)}
