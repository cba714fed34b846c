"""Rule ``rotate``: a per-iteration map loop of a ``while`` moves to the end of the previous
iteration (loop rotation), with one copy before the ``while``; the loops it leaves and
joins are then fused when ``fuse`` allows it.

rewrite (PageRank written as pull: the contribution pass joins the update of the previous
iteration, and the reset joins the gather)::

                                             for v in nodes() @par:            # prologue
                                               share_v[v] = f(rank[v], deg(v))
    while not done:                          while not done:
      for v in nodes() @par:                   for v in nodes() @par:
        contrib[v] = 0.0                         contrib[v] = 0.0
      for v in nodes() @par:          ->         for e in in_edges(v):
        share_v[v] = f(rank[v], deg(v))            contrib[v] add= share_v[e.src]
      for u in nodes() @par:                   for v in nodes() @par:
        for e in in_edges(u):                    rank[v] = g(contrib[v])
          contrib[u] add= share_v[e.src]         share_v[v] = f(rank[v], deg(v))
      for v in nodes() @par:                   done = ...
        rank[v] = g(contrib[v])
      done = ...

Pattern: a node loop ``B`` directly in the body of a sequential ``while``, at position
``j``; ``B``'s only effects are plain stores into node tables ``T`` (and its own
privates); it holds no loop; none of its operators can fail (float ``/`` is IEEE: it
never fails).  Write the body ``S1; B; S2a; S2b`` where ``S2a`` ends with the last
statement that reads ``T`` or writes a table ``B`` reads (``R``).  The rewrite is
``B; while c: S1; S2a; B; S2b``.

Legality.  Iteration ``i`` of the new loop runs ``B`` after ``S2a`` of iteration ``i - 1``
(or before the ``while``, for ``i = 0``) instead of between ``S1`` and ``S2a`` of
iteration ``i``.  In between run only ``S2b``, the test ``c`` and ``S1``, which write
nothing in ``R`` (the pattern's conditions: ``S2b`` by the choice of the split, ``S1``
checked, ``c`` is an expression) and do not touch ``T``: so ``B`` reads the same values
and stores the same entries of ``T``, and ``S2a`` -- the only reader of ``T`` anywhere in
the kernel -- reads what it read before.  ``T`` is written by ``B`` alone (and by
whole-table fills outside the ``while``, which run before the copy or after the loop
exits, as they ran before ``B`` or after it), is no kernel result and is not read after
the ``while``, so the one extra execution of ``B`` (after the last iteration, or before a
``while`` that runs zero times) changes nothing observable, and it cannot fail.
Exact: the same operations on the same operands.

The fusions that follow are the ``fuse`` rule's, with its own legality argument (no
iteration of one loop touches what a different iteration of the other writes): the loop
before ``B``'s new place with ``B`` (``B`` reads the entry the update just wrote: own),
and the two loops ``B`` used to separate.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.ir.nodes import (
    Alloc,
    AllReduce,
    Assign,
    Bin,
    Exchange,
    If,
    Kernel,
    Load,
    Loop,
    Refresh,
    Stmt,
    Store,
    TableRef,
    Var,
)
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from . import fusion
from .core import Path, applied, get, refused, replace_at
from .laws import DEFAULT_POLICY, Policy
from .saturation import cannot_fail

__all__ = ["NAME", "apply", "applies_to"]

NAME = "rotate"


def applies_to(loop) -> bool:
    return isinstance(loop, Loop) and loop.kind == "nodes"


def apply(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY, *, fuse: bool = True):
    """Rotate the node loop at ``path`` to the end of its ``while``'s previous iteration
    (then fuse its new and old neighbours where ``fuse`` allows, unless ``fuse=False``)."""
    b = get(k, path)
    if not applies_to(b):
        return refused(NAME, path, "not a node loop")
    *prefix, (field, j) = path
    w = get(k, tuple(prefix)) if prefix else None
    if not (isinstance(w, Loop) and w.kind == "while" and field == "body"):
        return refused(NAME, path, "not directly in the body of a while loop")
    if w.schedule != "seq":
        return refused(NAME, path, f"the while loop is {w.schedule}, not sequential")
    why, out, reads = _map_effects(k, b)
    if why:
        return refused(NAME, path, why)
    body = w.body
    # T: read only in the statements after B, written only by B, no result
    for t in sorted(out):
        if any(_reads(r, {t}) for r in k.returns):
            return refused(NAME, path, f"'{t}' is a result of the kernel")
    others = [s for i, s in enumerate(body) if i != j]
    outside = _outside(k.body, w)
    for t in sorted(out):
        if any(t in _writes(s) for s in others) or \
                any(t in _writes(s) for s in outside if not isinstance(s, Alloc)):
            return refused(NAME, path, f"'{t}' is written outside this loop")
        if any(_reads(s, {t}) for s in outside) or _reads_expr(w.cond, {t}):
            return refused(NAME, path, f"'{t}' is read outside this while loop")
        if any(_reads(s, {t}) for s in body[:j]):
            return refused(NAME, path, f"'{t}' is read before the loop in the iteration")
    if any(reads & _writes(s) for s in body[:j]):
        name = sorted(next(reads & _writes(s) for s in body[:j] if reads & _writes(s)))[0]
        return refused(NAME, path, f"'{name}', which the loop reads, is written before it "
                       "in the iteration")
    last = j
    for i in range(j + 1, len(body)):
        if _reads(body[i], out) or reads & _writes(body[i]):
            last = i
    if last == j:
        return refused(NAME, path, "nothing after it in the iteration reads what it writes")
    new_body = body[:j] + body[j + 1:last + 1] + (b,) + body[last + 1:]
    k2 = replace_at(k, tuple(prefix), [b, replace(w, body=new_body)])
    wpath = tuple(prefix[:-1]) + ((prefix[-1][0], prefix[-1][1] + 1),)
    note = [f"computed at the end of the previous iteration (after statement {last} of "
            f"the body) and once before the loop: {', '.join(sorted(out))} read only "
            "after it in the iteration, and what it reads is not written in between"]
    if fuse:  # B sits at position ``last`` of the new body
        k2 = _fuse_at(k2, wpath + (("body", last - 1),), note)  # its new predecessor + B
        if 0 < j:
            k2 = _fuse_at(k2, wpath + (("body", j - 1),), note)  # its old neighbours
    return applied(NAME, path, k2, "; ".join(note))


def _fuse_at(k: Kernel, path: Path, note: list) -> Kernel:
    s = get(k, path)
    if not (isinstance(s, Loop) and s.kind == "nodes"):
        return k
    r = fusion.fuse(k, path)
    if r.applied:
        note.append(f"fused with the loop after it at {list(map(list, path))[-1]}")
        return r.kernel
    return k


def _map_effects(k: Kernel, b: Loop) -> tuple[str, set, set]:
    """(why not, tables stored, names read) of a map loop: plain stores into node
    tables and assignments of its privates, no loop, nothing that can fail."""
    tables = k.table_map
    private = {n for n, _ in b.locals} | {b.var}
    out, reads = set(), set()
    for s, _ in iter_stmts(b.body):
        if isinstance(s, Loop):
            return "it holds a loop", out, reads
        if isinstance(s, Store):
            t = tables[s.table]
            if s.op is not None or s.flag is not None or t.space != "node":
                return f"it does more than store into node tables ('{s.table}')", out, reads
            out.add(s.table)
        elif isinstance(s, Assign):
            if s.name not in private:
                return f"it assigns '{s.name}', which is not its own", out, reads
        elif not isinstance(s, If):
            return f"it holds a {type(s).__name__} statement", out, reads
        for e in stmt_exprs(s):
            for x in iter_exprs(e):
                if isinstance(x, Load):
                    reads.add(x.table)
                elif isinstance(x, Var) and x.name not in private:
                    reads.add(x.name)
                elif hasattr(x, "op") and not _total(x):
                    return f"'{x.op}' may fail: it must not run more often", out, reads
    if not out:
        return "it stores nothing", out, reads
    if reads & out:
        return f"it reads what it writes ({sorted(reads & out)[0]})", out, reads
    return "", out, reads


def _total(x) -> bool:
    """An operator node that evaluates without failing (float ``/`` is IEEE division)."""
    return cannot_fail(x) or (isinstance(x, Bin) and x.op == "/" and x.dtype.is_float)


def _writes(s) -> set:
    out = set()
    if not isinstance(s, Stmt):
        return out  # an enclosing loop's or if's expression
    for t, _ in iter_stmts((s,)):
        if isinstance(t, (Store, Alloc, Exchange, Refresh, AllReduce)):
            out.add(t.table)
            if isinstance(t, Store) and t.flag:
                out.add(t.flag)
        elif isinstance(t, Assign):
            out.add(t.name)
    return out


def _reads(s, names: set) -> bool:
    if not isinstance(s, Stmt):
        return _reads_expr(s, names)
    for t, _ in iter_stmts((s,)):
        if isinstance(t, (Refresh, Exchange, AllReduce)) and t.table in names:
            return True
        if any(_reads_expr(e, names) for e in stmt_exprs(t)):
            return True
    return False


def _reads_expr(e, names: set) -> bool:
    if e is None:
        return False
    return any(isinstance(x, (Load, TableRef)) and x.table in names or
               isinstance(x, Var) and x.name in names for x in iter_exprs(e))


def _outside(body, w: Loop) -> list:
    """The statements of the kernel that are not ``w`` and not inside it: for a loop or
    an if that encloses ``w``, its other statements and its own expressions."""
    out = []
    for s in body:
        if s is w:
            continue
        if isinstance(s, Loop) and _contains(s, w):
            out.extend(_outside(s.body, w))
            for e in stmt_exprs(s):
                out.append(e)
        elif isinstance(s, If) and _contains(s, w):
            out.extend(_outside(s.then, w))
            out.extend(_outside(s.orelse, w))
            out.append(s.cond)
        else:
            out.append(s)
    return out


def _contains(s, w) -> bool:
    return any(t is w for t, _ in iter_stmts((s,)))
