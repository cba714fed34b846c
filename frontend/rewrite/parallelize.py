"""Rule ``parallelize``: a node/edge loop whose iterations are independent runs in any order.

rewrite::

    for v in nodes() @seq:                    for v in nodes() @par:
      for e in out_edges(v) @seq:      ->       for e in out_edges(v) @seq:
        contrib[e.dst] add= share                 contrib[e.dst] add= share

Applies when no iteration can observe another: every table an iteration writes is either
stored only at the iteration's own entry (``t[v] = ...``), or reduced with an operator
proved commutative and associative on its dtype and not read in the loop.  A read of a
reduced table at another entry is allowed when Z3 proves it *stable*: the iteration does
the same whether or not the other iterations' reductions have landed (the BFS frontier
test ``depth[v] == level`` against ``depth[e.dst] min= level + 1``).  The proof knows the
conditions of the ifs around the loop that it does not affect, and the bounds of the
range loops around it (``0 <= level < k`` inside ``for level in range(k)``, so that
``level + 1`` cannot wrap), which the law's detail lists.

Refused, with the reason: a plain store to an entry others may write (``d[e.dst] = d[v]``:
the last writer would win), a reduction whose operator fails a law (with Z3's
counterexample), a read of something other iterations store or reduce unstably.
The inverse (``par`` -> ``seq``) is always legal: running in order is one of the orders.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.ir.nodes import Bin, Kernel, Load, Loop, Var
from cosynth.ir.printer import print_expr
from cosynth.ir.walk import iter_exprs

from .core import Path, applied, get, guards_on_path, range_bounds_on_path, refused, replace_at
from .deps import accesses, conflicts
from .laws import DEFAULT_POLICY, Policy
from .proofs import stable_read

NAME = "parallelize"


def applies_to(loop) -> bool:
    return isinstance(loop, Loop) and loop.is_data_loop


def apply(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY, to: str = "par"):
    loop = get(k, path)
    if not applies_to(loop):
        return refused(NAME, path, "not a node or edge loop")
    if to == "seq":
        if loop.schedule == "seq":
            return refused(NAME, path, "already sequential")
        return applied(NAME, path, replace_at(k, path, [replace(loop, schedule="seq")]),
                       "running the iterations in order is one of the orders allowed")
    if loop.schedule != "seq":
        return refused(NAME, path, f"already {loop.schedule}")
    c = conflicts(k, loop, policy)
    laws = list(c.laws)
    if c.reasons:
        return refused(NAME, path, "; ".join(c.reasons), laws)
    for table, acc in c.rw_tables.items():
        reads = [a for a in acc if not a.write]
        writes = [a for a in acc if a.write]
        if any(r.private for r in reads):
            return refused(NAME, path, f"reads '{table}', which other iterations write", laws)
        law = stable_read(k, loop, table, writes, policy, _context(k, path, loop))
        bounds = range_bounds_on_path(k, path)
        if bounds:
            law.detail += "; the enclosing range loops give " + ", ".join(
                print_expr(c) for c, _ in bounds)
        laws.append(law)
        if not law.ok:
            what = {"refuted": "Z3 found an order where it does not",
                    "unknown": "this could not be proved"}.get(law.status, law.status)
            return refused(NAME, path, f"it {reads[0].describe()} while other iterations "
                           f"may have {_past(writes[0].describe())}, and its outcome must not "
                           f"depend on whether they have: {what} (stable read, below)", laws)
    new = replace(loop, schedule="par")
    return applied(NAME, path, replace_at(k, path, [new]),
                   "iterations are independent" + (
                       " (reductions reorderable" + (", reads stable)" if c.rw_tables else ")")
                       if c.laws else ""), laws)


def _context(k: Kernel, path: Path, loop: Loop) -> list:
    """Conditions of the ifs around ``loop`` that hold throughout it (it does not write
    the tables they read, or only moves them the way that keeps the condition true), and
    the bounds of the range loops around it."""
    ops_of: dict[str, set] = {}
    for a in accesses(k, loop):
        if a.write:
            ops_of.setdefault(a.table, set()).add(a.op)
    out = list(range_bounds_on_path(k, path))
    for cond, holds in guards_on_path(k, path):
        if not any(isinstance(x, Load) and x.table in ops_of for x in iter_exprs(cond)) or \
                holds and _stays_true(cond, ops_of):
            out.append((cond, holds))
    return out


# a bound on a table entry that min= (max=) reductions cannot break: t[i] < c stays true
# while t only decreases, c > t[i] too; (op, entry on the left) -> the reduction
_MONOTONE_BOUND = {("<", True): "min", ("<=", True): "min", (">", False): "min",
                   (">=", False): "min", (">", True): "max", (">=", True): "max",
                   ("<", False): "max", ("<=", False): "max"}


def _stays_true(cond, ops_of: dict) -> bool:
    """``cond`` compares one entry of a table the loop only ``min=``-reduces with
    something the loop does not write, in the direction the reductions keep true (``t[i]
    < c`` under ``min=``, ``t[i] > c`` under ``max=``): true on entry, true throughout."""
    if not (isinstance(cond, Bin) and cond.op in ("<", "<=", ">", ">=")):
        return False
    for entry, other, left in ((cond.a, cond.b, True), (cond.b, cond.a, False)):
        if isinstance(entry, Load) and entry.table in ops_of and \
                ops_of[entry.table] == {_MONOTONE_BOUND[(cond.op, left)]} and \
                not _reads_any(other, ops_of) and \
                (entry.index is None or not _reads_any(entry.index, ops_of)):
            return True
    return False


def _reads_any(e, names) -> bool:
    """``e`` reads a table or a private named in ``names``."""
    return any(isinstance(x, Load) and x.table in names or isinstance(x, Var) and
               x.name in names for x in iter_exprs(e))


def _past(text: str) -> str:
    for a, b in (("reduces ", "reduced "), ("writes ", "written "), ("sets ", "set ")):
        if text.startswith(a):
            return b + text[len(a):]
    return text
