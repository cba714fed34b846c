"""Register accumulation of a gather: inside a parallel node loop over ``u``, the
reductions of a loop over ``u``'s edges into ``u``'s own entries accumulate in a local
variable, loaded before the edge loop and stored once after it (the tight pull loop)::

    for u in nodes() @par:                      acc = contrib[u]
      for e in in_edges(u):               ->    for e in in_edges(u): acc add= share[e.src]
        contrib[u] add= share[e.src]            contrib[u] = acc

Legality: the entry ``T[u]`` is the iteration's own (no other iteration of the parallel
loop reduces into it: ``sharing``, so no atomic), the edge loop neither reads ``T`` nor
writes it at another index or with another operator, and no reduction into it sets a
change flag.  Then every read-modify-write of ``T[u]`` inside the edge loop sees exactly
the value the previous one left, so carrying that value in a register performs the same
operations on the same operands in the same order: the result is bit for bit the
original's (float sums included), only the memory round trips go.
"""

from __future__ import annotations

from cosynth.ir.nodes import Load, Loop, Store, Var
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .exprs import ctype

__all__ = ["open_gather", "close_gather"]


def open_gather(cx, s: Loop) -> list[tuple[str, str, str]]:
    """Declare the accumulators of edge loop ``s`` (see the module docstring) and return
    (table, C++ entry, accumulator) for each; ``cx.gathered`` maps the stores to theirs."""
    par = cx.par
    if par is None or par.kind != "nodes" or s.kind not in ("in_edges", "out_edges") or \
            not (isinstance(s.of, Var) and s.of.name == par.var):
        return []
    stores: dict[str, list[Store]] = {}
    blocked: set[str] = set()
    for x, _ in iter_stmts(s.body):
        if isinstance(x, Store):
            t = cx.tables[x.table]
            own = isinstance(x.index, Var) and x.index.name == par.var
            if t.space != "node" or x.op is None or not own or x.flag or \
                    id(x) in cx.shared_stores or x.table in cx.atomic_tables:
                blocked.add(x.table)
            else:
                stores.setdefault(x.table, []).append(x)
        for e in ([] if isinstance(x, Loop) and x is s else stmt_exprs(x)):
            for y in iter_exprs(e):
                if isinstance(y, Load):
                    blocked.add(y.table)
    out = []
    for name, group in sorted(stores.items()):
        if name in blocked or len({x.op for x in group}) != 1:
            continue
        t = cx.tables[name]
        acc = cx.tmp("acc")
        entry = f"{name}[{cx.local_index(group[0].index, 0)}]"
        cx.out(f"{ctype(t.dtype)} {acc} = {entry};  // gathered in a register (gather.py)")
        for x in group:
            cx.gathered[id(x)] = acc
        out.append((name, entry, acc))
    return out


def close_gather(cx, accs: list[tuple[str, str, str]]) -> None:
    """Store the accumulators back into their entries."""
    for _name, entry, acc in accs:
        cx.out(f"{entry} = {acc};")
