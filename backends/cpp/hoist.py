"""Loop invariants of a parallel nest held in locals: the graph's arrays and bounds, the
tables' base pointers, each edge loop's row end and the running vertex's own entries.

Why: inside an OpenMP region the kernel's ``Graph G`` and its tables are shared variables,
reached through the region's argument block, and an ``__atomic`` builtin (every relaxed
load, compare-and-swap and queue mark of a relaxed loop) or a store through a pointer
that may alias them obliges the compiler to assume that any escaped memory changed.  So
the emitted edge loop reloaded, at every edge, ``G``'s members (``indptr``, ``dst``,
``w``, ``glo``, ``elo``, ``olo``, ...), the table's data pointer, the row end
``G.out_end(v)`` and the running vertex's own entry ``T[v]``: kron-18 SSSP ran 52
instructions an edge against GAP's 18, CC 37 against 9.4 (notes sssp18, cc18, bfs18).

Three emitter transforms, one for every nest of that shape (no kernel named):

1. **Region locals** (``open_region``/``close_region``).  Before a parallel loop's
   region, a block opens with a ``GraphView`` of ``G`` (the runtime's copy of the
   graph's base pointers and bounds) and each table's base pointer, under the names the
   emitted code already spells (``G``, ``u_dist``), and the region makes them
   ``firstprivate``: each thread's copy is a local whose address is never taken, so it
   stays in registers.  Legal: no statement of a kernel writes the graph, and no table is
   allocated or resized inside a nest (tables are sized once, before the clock), so every
   copy equals what it copies throughout the region; entries are still read and written
   through the same addresses with the same atomics.
2. **Row bounds** (``row_end``): an edge loop reads its row's end once, into a local.
   Legal by the same argument (the CSR/CSC arrays are never written).
3. **The running vertex's own entry** (``own_entries``): ``T[v]`` of the parallel node
   loop's vertex ``v``, read inside an edge loop, is read once before the loop into a
   local that the loop's expressions use.  Legal in three cases:

   * ``T`` is read from the ``bsp`` snapshot: the snapshot is constant in the region;
   * no statement of the edge loop writes ``T`` and no other iteration of the parallel
     loop writes ``T`` at a shared entry (``T`` is not among its atomic tables: the
     sharing analysis makes every other write an own-entry write of another vertex):
     nothing changes ``T[v]`` while the row runs, so every read of it returns the same;
   * ``T`` is a state table of the loop's frontier (``frontend.rewrite.frontier``: the
     relaxation proof's conditions, every store of the loop an idempotent monotone
     reduction of the state, and every change of an entry of the blade queues its
     vertex) and the loop is not a saturating loop on ``T`` (whose exit test must see
     the entry move).  Another thread's write to ``T[v]`` during the row, or this row's
     own (a self-loop ``e.dst == v``), then changes ``T[v]`` and queues ``v``, which
     runs again with the new value: the rest of this row, run with the value read at
     its start, applies contributions of a state ``T[v]`` held (a run the relaxation
     order allows, since contributions read only the vertex's own state entries), and
     the monotone, idempotent reduction absorbs them under the later run's, which the
     proof says reaches the same fixed point -- a stale value costs only a redundant
     relaxation.  (That is the argument by which the relaxed loop may already read
     ``T[v]`` with a relaxed load while other threads lower it.)
"""

from __future__ import annotations

from cosynth.ir.nodes import Load, Loop, Store, Var
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs, tables_read_written

__all__ = ["region_names", "open_region", "close_region", "row_end", "own_entries"]


def _tables_used(cx, s: Loop) -> tuple[set[str], set[str]]:
    """(tables the loop ``s`` reads, tables it writes): node and edge tables only."""
    read, written = tables_read_written(s)
    keep = {name for name in read | written
            if cx.tables[name].space in ("node", "edge") and cx.tables[name].role != "weight"}
    return read & keep, written & keep


def region_names(cx, s: Loop) -> list[str]:
    """The C++ names of the tables the parallel loop ``s`` reaches (its ``bsp`` snapshots
    for what it reads from them), sorted: with ``G``, its region's ``firstprivate``
    locals (module docstring, 1)."""
    read, written = _tables_used(cx, s)
    return sorted({cx.snap.get(t, t) for t in read} | {t for t in read if t not in cx.snap} |
                  written)


def open_region(cx, names: list[str]) -> None:
    """Open the block holding the region's locals: ``G``'s view and the tables' base
    pointers under their own names (the region's ``firstprivate`` copies them into each
    thread); ``close_region`` closes it after the region."""
    v = cx.tmp("G")
    copies = [f"const GraphView {v}(G);"] + [f"auto* const {t}__d = {t}.data();" for t in names]
    locals_ = [f"const GraphView G = {v};"] + [f"auto* const {t} = {t}__d;" for t in names]
    cx.out(" ".join(copies))
    cx.out("{ " + " ".join(locals_) + "  // each thread copies them (hoist.py)")


def close_region(cx) -> None:
    cx.out("}")


def row_end(var: str) -> str:
    """The local holding the end of the row an edge loop over position ``var`` walks."""
    return f"{var}__end"


def own_entries(cx, s: Loop, saturated: str | None) -> list[str]:
    """Hoist the running vertex's own entries that edge loop ``s`` reads (module
    docstring, 3): declare their locals and map them in ``cx.hoisted``; returns the keys
    to drop when the loop closes.  ``saturated``: the table of a saturating loop."""
    par = cx.par
    if par is None or par.kind != "nodes" or s is par or \
            s.kind not in ("in_edges", "out_edges"):
        return []
    written = {x.table for x, _ in iter_stmts(s.body) if isinstance(x, Store)}
    plan = cx.frontier.plan if cx.frontier is not None else {}
    keys = []
    for x, _ in iter_stmts(s.body):
        for top in stmt_exprs(x):
            for e in iter_exprs(top):
                if not (isinstance(e, Load) and isinstance(e.index, Var) and
                        e.index.name == par.var):
                    continue
                t = cx.tables[e.table]
                key = (e.table, par.var)
                if t.space != "node" or t.role == "weight" or key in cx.hoisted or \
                        key in keys:
                    continue
                snap = e.table in cx.snap
                still = e.table not in written and e.table not in cx.atomic_tables
                relaxed = e.table in plan and e.table != saturated
                if not (snap or still or relaxed):
                    continue
                name = cx.tmp("own")
                cx.out(f"const auto {name} = {cx.expr(e)};  // {e.table}[{par.var}] read "
                       "once for the row (hoist.py)")
                cx.hoisted[key] = name
                keys.append(key)
    return keys
