"""Ordered intersection: an edge loop that tests ``has_edge`` against another vertex's row
becomes a merge of the two sorted rows, with its ordering filters hoisted into the range.
The C++ emitter (``backends/cpp/intersect``) emits the merge; the cost model
(``planner/workload``) counts its work with the same analysis.

rewrite (schedule of one loop; the IR keeps the loop as written)::

    for f in out_edges(x):                 lo = first position of x's row with dst > b
      w := f.dst                           q  = first position of y's row with dst > b
      if w > b and has_edge(y, w):   ->    for f in lo .. end(x):
        body                                 w := f.dst
                                             advance q while dst[q] < w; stop when q ends
                                             if dst[q] == w: body

Pattern: the loop walks ``x``'s out-edges; its body is a run of assignments to the
loop's privates followed by one ``if`` without ``else`` whose condition is a conjunction
(``and``) of

* one ``has_edge(y, t)`` where ``t`` is the edge's head (``f.dst``, or a private
  assigned ``f.dst``) and ``y`` is invariant in the loop;
* any number of order tests ``t > b``, ``t >= b``, ``t < b``, ``t <= b`` (either side)
  with ``b`` an invariant integer: they become the bounds of the range (hoisted);
* other conjuncts, kept and tested on each match.

Legality.  Rows are sorted by head (the runtime's invariant, which ``has_edge``'s binary
search already relies on), so the positions of ``x``'s row whose head satisfies the
hoisted bounds form one contiguous range, found by binary search; an iteration outside
it has a false conjunct.  Inside it, the iterations visit heads in non-decreasing order,
so one pointer walking ``y``'s row forward (also from the hoisted bound) reaches, for
each head ``t``, the first entry not below ``t``; ``has_edge(y, t)`` holds exactly when
that entry equals ``t`` (the pointer is not consumed by a match, so repeated heads, a
multigraph's parallel edges, each still match).  Once the pointer passes the end of
``y``'s row no later head matches.  Every skipped iteration therefore has a false
condition; since each conjunct and each leading assignment is pure and cannot fail
(no division, modulo, shift, power, table read, or graph query other than
``has_edge`` with the vertices above), and the leading assignments write only privates
of the loop, skipping such an iteration (or evaluating its conjuncts in another order)
changes no table, no flag and no result.  The matched iterations run in the original
order with the same edge id ``f``, so the body, whatever it does, runs exactly as
before.  Invariance of ``b`` and ``y``: they read no private of the loop, not its edge,
and no table.

Running down (``downward``)::

    for f in out_edges(x):                 for t in y's row, from its end down:
      w := f.dst                             stop once t <= b (or t is below x's row)
      if w > b and has_edge(y, w):   ->      move q down x's row while dst[q] > t
        body                                 for each f at q.. with dst[f] == t: body

When every hoisted bound is a lower bound (``>`` / ``>=``), the kept parts of both rows
are suffixes, and a merge from the rows' ends needs no search for where they start: the
walk stops at the first head at or below the bound.  The matched iterations are the same
(for each entry ``f`` of ``x``'s kept part whose head ``y``'s row holds, once, however
often ``y``'s row holds it), but they run in descending order of the head, so this is
legal only when the order of the matched iterations cannot matter: the loop's iterations
are independent (``deps.conflicts``: every write is a store to the iteration's own entry
or a reduction whose operator is proved commutative and associative on its dtype, and
nothing written is read in the loop).  ``y``'s row drives and ``x``'s row is walked by
the pointer: with the vertices in degree order ``y`` (the outer vertex ``u`` of a
wedge) has the shorter kept part, and the pointer's walk is the merge's cheapest step.
"""

from __future__ import annotations

from dataclasses import dataclass

from cosynth.ir.nodes import (
    Assign,
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Expr,
    GraphQuery,
    If,
    Kernel,
    Loop,
    Stmt,
    Un,
    Var,
)
from cosynth.ir.walk import iter_exprs

from .deps import conflicts
from .saturation import cannot_fail

__all__ = ["Merge", "intersection", "why_not", "conjuncts", "downward", "why_not_downward"]

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class Merge:
    """How to run ``loop`` as a merge: ``row`` is the vertex whose out-row the pointer
    walks; ``above`` (head > b) / ``from_`` (head >= b) / ``below`` (head < b) /
    ``upto`` (head <= b) the hoisted bounds; ``prefix`` the leading assignments, ``rest``
    the conjuncts kept (None: none), ``then`` the body."""

    loop: Loop
    row: Expr
    above: tuple[Expr, ...]
    from_: tuple[Expr, ...]
    below: tuple[Expr, ...]
    upto: tuple[Expr, ...]
    prefix: tuple[Stmt, ...]
    rest: Expr | None
    then: tuple[Stmt, ...]


def intersection(loop: Loop) -> Merge | None:
    """The merge schedule of ``loop`` (see the module docstring), or None."""
    m, _ = _match(loop)
    return m


def why_not(loop: Loop) -> str:
    """Why ``loop`` is not an ordered intersection ("" when it is)."""
    return _match(loop)[1]


def downward(k: Kernel, m: Merge) -> bool:
    """May ``m`` run from the rows' ends down (see "Running down" in the module
    docstring)?"""
    return not why_not_downward(k, m)


def why_not_downward(k: Kernel, m: Merge) -> str:
    """Why ``m`` may not run from the rows' ends down ("" when it may)."""
    if m.below or m.upto:
        return "an upper bound on the head: the kept parts do not end at the rows' ends"
    if not (m.above or m.from_):
        return "no lower bound on the head: the merge from the rows' starts searches nothing"
    c = conflicts(k, m.loop)
    if c.reasons:
        return "the matched iterations' order may matter: " + "; ".join(c.reasons)
    if c.rw_tables:
        return (f"'{next(iter(c.rw_tables))}' is written and read in the loop: the "
                "matched iterations' order may matter")
    return ""


def conjuncts(e: Expr) -> list[Expr]:
    """``a and b and c`` as ``[a, b, c]``, left to right."""
    if isinstance(e, Bin) and e.op == "and":
        return conjuncts(e.a) + conjuncts(e.b)
    return [e]


def _match(loop: Loop) -> tuple[Merge | None, str]:
    if not isinstance(loop, Loop) or loop.kind != "out_edges":
        return None, "not a loop over a vertex's out-edges"
    private = {name for name, _ in loop.locals}
    body = loop.body
    if not body or not isinstance(body[-1], If) or body[-1].orelse:
        return None, "the body does not end in one if without else"
    prefix, guard = body[:-1], body[-1]
    heads = set()
    for s in prefix:
        if not (isinstance(s, Assign) and s.op is None and s.name in private):
            return None, "a statement before the if is not an assignment to a private"
        if not _pure(s.value, loop.var, private, allow_edge=True):
            return None, f"the assignment to {s.name} may fail or reads a table"
        if isinstance(s.value, EdgeAttr) and s.value.edge == loop.var and s.value.attr == "dst":
            heads.add(s.name)
        else:
            heads.discard(s.name)
    assigned = [s.name for s in prefix]
    heads = {h for h in heads if assigned.count(h) == 1}

    def is_head(e: Expr) -> bool:
        return (isinstance(e, EdgeAttr) and e.edge == loop.var and e.attr == "dst") or (
            isinstance(e, Var) and e.name in heads)

    row = None
    bounds = {">": [], ">=": [], "<": [], "<=": []}
    rest = []
    for c in conjuncts(guard.cond):
        if isinstance(c, GraphQuery) and c.fn == "has_edge" and row is None and \
                is_head(c.args[1]) and _invariant(c.args[0], loop.var, private):
            row = c.args[0]  # the head is a vertex: has_edge cannot fail on it
            continue
        if not _pure(c, loop.var, private, allow_edge=True):
            return None, "a conjunct of the condition may fail or reads a table"
        if isinstance(c, Bin) and c.op in _FLIP:
            for t, b, op in ((c.a, c.b, c.op), (c.b, c.a, _FLIP[c.op])):
                if is_head(t) and _invariant(b, loop.var, private) and b.dtype.is_int \
                        and not b.dtype.is_bool:
                    bounds[op].append(b)
                    break
            else:
                rest.append(c)
            continue
        rest.append(c)
    if row is None:
        return None, "no has_edge(y, head) test with y invariant in the loop"
    cond = None
    for c in rest:
        cond = c if cond is None else Bin("and", cond, c, c.dtype)
    return Merge(loop, row, tuple(bounds[">"]), tuple(bounds[">="]), tuple(bounds["<"]),
                 tuple(bounds["<="]), tuple(prefix), cond, guard.then), ""


def _invariant(e: Expr, var: str, private: set) -> bool:
    """Same value in every iteration: no private, not the loop's edge, no table."""
    return _pure(e, var, private, allow_edge=False)


def _pure(e: Expr, var: str, private: set, allow_edge: bool) -> bool:
    """``e`` cannot fail and reads no table (privates and the loop's edge only when
    ``allow_edge``)."""
    for x in iter_exprs(e):
        if isinstance(x, Const):
            continue
        if isinstance(x, Var):
            if not allow_edge and x.name in private:
                return False
        elif isinstance(x, EdgeAttr):
            if x.edge == var and (not allow_edge or x.attr == "id"):
                return False  # the edge id changes meaning nowhere, but keep it simple
        elif isinstance(x, (Bin, Un, Cast)):
            if not cannot_fail(x):
                return False
        else:
            return False  # loads, selects of anything else, anything new
    return True
