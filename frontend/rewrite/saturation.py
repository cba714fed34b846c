"""Saturating edge loops: when an edge loop may stop early (the pull step of
direction-optimising BFS).  The C++ emitter (``backends/cpp/loops``) emits the early exit;
the ``hybrid`` rule uses the same analysis to count the pull step's work.

Pattern: inside the outermost parallel node loop over ``u``, a loop over ``u``'s edges
whose only effects are idempotent reductions into ``u``'s own entry of one node table,
all with the same loop-invariant value ``c``::

    for u in nodes() @par:
      for e in in_edges(u):
        if depth[e.src] == level:
          nd := level + 1
          depth[u] min= nd -> active

Schedule (emitted by the C++ backend): before every iteration of the edge loop, stop
when ``c`` cannot improve
``T[u]`` (``!(c < depth[u])`` for ``min``): an unvisited vertex stops scanning at its
first parent, a visited one scans nothing (Beamer's bottom-up step).

Legality.  Let ``op`` be the reduction (``min``/``max``/``or``/``and``: idempotent and
commutative) and ``c`` its value.  Once ``T[u] op c == T[u]`` holds, every remaining
iteration either does nothing (its guard is false) or executes ``T[u] op= c``, which
leaves ``T[u]`` unchanged (idempotence) and so sets no change flag; assignments to the
edge loop's privates are invisible after it.  The condition cannot become false again
while the loop runs: within the node loop, ``T`` is written only at index ``u`` and only
by ``op`` (checked over the whole node loop), so only this iteration writes ``T[u]`` and
only towards saturation.  ``c`` reads no edge attribute, no private of the edge loop and
no table the node loop writes, and spells no operation that can fail (division, modulo,
power, shifts, graph queries are refused), so it is evaluated once before the loop with
the value every iteration would compute.  Hence skipping the remaining iterations leaves
every table, flag and result as the full loop would.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass

from cosynth.ir.nodes import Assign, Bin, Cast, Const, Expr, If, Load, Loop, Select, Store, Un, Var
from cosynth.ir.walk import iter_exprs, iter_stmts

__all__ = ["Saturation", "saturation", "SAFE_BIN", "SAFE_UN", "IDEMPOTENT", "cannot_fail",
           "tail_stores"]

IDEMPOTENT = ("min", "max", "or", "and")
SAFE_BIN = ("+", "-", "*", "min", "max", "<", "<=", ">", ">=", "==", "!=", "and", "or",
             "&", "|", "^")
SAFE_UN = ("-", "not", "abs", "~")


def cannot_fail(x) -> bool:
    """Whether the operator node ``x`` (Bin, Un or Cast) evaluates on every input without
    failing: no division, shift or power, no float -> int conversion (which checks its
    range).  The one test every rule that moves or skips an evaluation uses."""
    if isinstance(x, Bin):
        return x.op in SAFE_BIN
    if isinstance(x, Un):
        return x.op in SAFE_UN
    if isinstance(x, Cast):
        return not (x.a.dtype.is_float and not x.dtype.is_float)
    return False


@dataclass(frozen=True)
class Saturation:
    """``table[index] op= value`` is the edge loop's only effect; ``value`` is invariant."""

    table: str
    index: Expr
    op: str
    value: Expr


def saturation(par: Loop, edge: Loop, tables: dict) -> Saturation | None:
    """The saturation of ``edge`` (a loop over the edges of ``par``'s vertex, inside the
    parallel node loop ``par``), or None when the early exit is not proved legal."""
    if par.kind != "nodes" or edge.kind not in ("in_edges", "out_edges"):
        return None
    if not (isinstance(edge.of, Var) and edge.of.name == par.var):
        return None
    private = {name for name, _ in edge.locals}
    stores, assigns = [], {}
    for s, _ in iter_stmts(edge.body):
        if isinstance(s, Store):
            stores.append(s)
        elif isinstance(s, Assign):
            if s.name not in private or s.op is not None:
                return None
            assigns.setdefault(s.name, []).append(s.value)
        elif not isinstance(s, If):
            return None  # a nested loop, an exchange, an allocation ...
    if not stores or len({(s.table, s.op) for s in stores}) != 1:
        return None
    table, op = stores[0].table, stores[0].op
    if op not in IDEMPOTENT or tables[table].space != "node":
        return None
    written = {s.table for s, _ in iter_stmts(par.body) if isinstance(s, Store)}
    for s, _ in iter_stmts(par.body):  # T: only op-reductions at u in the whole node loop
        if isinstance(s, Store) and s.table == table and not (
                s.op == op and isinstance(s.index, Var) and s.index.name == par.var):
            return None
    values = set()
    value = None
    for s in stores:
        exprs = assigns.get(s.value.name, []) if (
            isinstance(s.value, Var) and s.value.name in private) else [s.value]
        for e in exprs:
            if not _invariant(e, edge, private, written, tables):
                return None
            values.add(repr(_strip(e)))
            value = e
    if len(values) != 1:
        return None
    return Saturation(table, stores[0].index, op, value)


def tail_stores(body) -> set[int]:
    """Ids of the stores that are the last statement on their path through ``body``: the
    last statement of the block, or of a branch of an ``if`` that is itself last."""
    if not body:
        return set()
    x = body[-1]
    if isinstance(x, Store):
        return {id(x)}
    if isinstance(x, If):
        return tail_stores(x.then) | tail_stores(x.orelse)
    return set()


def _invariant(e: Expr, edge: Loop, private: set, written: set, tables: dict) -> bool:
    """``e`` has the same value in every iteration of ``edge`` and cannot fail."""
    for x in iter_exprs(e):
        if isinstance(x, Const):
            continue
        if isinstance(x, Var):
            if x.name == edge.var or x.name in private:
                return False
        elif isinstance(x, Load):
            if x.table in written or tables[x.table].space != "scalar":
                return False
        elif isinstance(x, (Bin, Un, Cast)):
            if not cannot_fail(x):
                return False
        elif not isinstance(x, Select):
            return False  # edge attributes, graph queries, anything new
    return True


def _strip(e: Expr):
    """``e`` without source locations (equal values print equal)."""
    if not is_dataclass(e):
        return e
    return tuple((f.name, _strip(getattr(e, f.name))) for f in fields(e) if f.name != "loc")
