"""Rule ``deadfill``: a whole-table fill whose every entry is overwritten before any read
is dropped.

rewrite (PageRank: the reset that the pull form fuses with its gather)::

    contrib[:] = 0.0                       (dropped)
    while not done:                        while not done:
      for v in nodes():                      for v in nodes():
        contrib[v] = 0.0                       contrib[v] = 0.0
        for e in in_edges(v):       ->         for e in in_edges(v):
          contrib[v] add= ...                    contrib[v] add= ...
      ... contrib[v] ...                     ... contrib[v] ...

Pattern: a fill ``F`` (``T[:] = c``, an ``Alloc``) of a node table ``T`` in some body,
and the first statement ``S`` after it in that body that touches ``T`` (reads or writes
any entry) is either

(a) an *overwrite* ``L``: a loop over every vertex (``for v in nodes()``, no range),
    whose body's first statement touching ``T`` is an unconditional plain store
    ``T[v] = e``, ``e`` not reading ``T``, and every other access of ``T`` inside ``L``
    is at the entry ``v`` itself (a load ``T[v]``, a store or reduction into ``T[v]``,
    ``v`` not rebound by an inner loop); or
(b) a sequential ``while`` whose test does not read ``T``, whose body's first statement
    touching ``T`` is an overwrite ``L`` as in (a), with ``F`` in the kernel's top-level
    body, ``T`` no result of the kernel and not read by any statement after the
    ``while``.

and ``T`` takes part in no collective (``refresh``, ``exchange``: a blade program's ghost
entries are not covered by its node loop; the rule runs before projection).

Legality.  A value ``F`` stores can be observed only by a read of ``T`` that runs after
``F`` and before the entry is stored again.  Statements of a body run in order (the IR has
no jumps), and nothing between ``F`` and ``S`` touches ``T``.  In case (a), ``L`` runs
right after, and iteration ``v`` of ``L`` stores ``T[v]`` before any access of its own
to ``T``; every other iteration accesses only its own entry, so in any order of the
iterations (parallel ones included) no iteration reads an entry before its owner
iteration overwrote it; after ``L`` every entry holds ``L``'s value.  So no read sees
``F``'s values.  In case (b), if the ``while`` runs at least once, its first iteration
runs ``L`` before any access to ``T`` (the test does not read it), and (a)'s argument
applies; if it runs zero times, ``T`` is never read again (not after the ``while``, not
as a result, and ``F`` is at top level: no enclosing loop comes back to read it).  The
fill may not fail (its value is an expression of scalars evaluated once; it is dropped
only if it cannot fail).  Exact: the kernel computes the same values; the table is
simply not initialised where its initial values are never seen.
"""

from __future__ import annotations

from cosynth.ir.nodes import (
    Alloc,
    AllReduce,
    Exchange,
    Kernel,
    Load,
    Loop,
    Refresh,
    Store,
    TableRef,
    Var,
)
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .core import Path, applied, get, refused, replace_at
from .laws import DEFAULT_POLICY, Policy
from .saturation import cannot_fail

__all__ = ["NAME", "apply", "dead_fills"]

NAME = "deadfill"


def dead_fills(k: Kernel) -> list[Path]:
    """The paths of the fills of ``k`` that ``apply`` drops, in program order."""
    out = []

    def walk(body, prefix):
        for i, s in enumerate(body):
            p = prefix + (("body", i),)
            if isinstance(s, Alloc) and not _why_live(k, p):
                out.append(p)
            elif isinstance(s, Loop):
                walk(s.body, p)
    walk(k.body, ())
    return out


def apply(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY):
    """Drop the fill at ``path`` if no read can see its values."""
    why = _why_live(k, path)
    if why:
        return refused(NAME, path, why)
    f = get(k, path)
    k2 = replace_at(k, path, [])
    return applied(NAME, path, k2, f"'{f.table}' is overwritten at every entry before any "
                   "read: " + _overwriter(k, path))


def _why_live(k: Kernel, path: Path) -> str:
    f = get(k, path)
    if not isinstance(f, Alloc):
        return "not a table fill"
    t = f.table
    if k.table_map[t].space != "node":
        return f"'{t}' is not a node table"
    if not all(cannot_fail(x) for x in iter_exprs(f.fill) if hasattr(x, "op")):
        return "the fill's value may fail"
    for s, _ in iter_stmts(k.body):
        if isinstance(s, (Refresh, Exchange, AllReduce)) and s.table == t:
            return f"'{t}' takes part in a {type(s).__name__.lower()}"
    *prefix, (field, i) = path
    body = get(k, tuple(prefix)).body if prefix else k.body
    if field != "body":
        return "not directly in a loop body"
    nxt = next((j for j in range(i + 1, len(body)) if _touches(body[j], t)), None)
    if nxt is None:
        return f"nothing after it overwrites '{t}'"
    s = body[nxt]
    why = _overwrites(s, t)
    if not why:
        return ""
    if not (isinstance(s, Loop) and s.kind == "while"):
        return why
    if s.schedule != "seq":
        return f"the while loop after it is {s.schedule}"
    if prefix:
        return "a fill before a while loop must be at the kernel's top level"
    if _touches_expr(s.cond, t):
        return f"the while loop's test reads '{t}'"
    if any(_touches_expr(r, t) for r in k.returns):
        return f"'{t}' is a result: a while loop that runs zero times returns the fill"
    if any(_touches(x, t) for x in body[nxt + 1:]):
        return f"'{t}' is read after the while loop, which may run zero times"
    first = next((x for x in s.body if _touches(x, t)), None)
    if first is None:
        return f"the while loop does not write '{t}'"
    why = _overwrites(first, t)
    return f"in the while loop: {why}" if why else ""


def _overwriter(k: Kernel, path: Path) -> str:
    *prefix, (_, i) = path
    body = get(k, tuple(prefix)).body if prefix else k.body
    t = get(k, path).table
    s = next(x for x in body[i + 1:] if _touches(x, t))
    if isinstance(s, Loop) and s.kind == "while":
        return (f"the first loop of the while loop at line {_line(s)} stores '{t}[v]' for "
                f"every vertex v before reading it, the test does not read '{t}', and "
                "nothing after the while loop reads it")
    return f"the loop at line {_line(s)} stores '{t}[v]' for every vertex v before reading it"


def _line(s) -> str:
    return str(s.loc.line) if getattr(s, "loc", None) is not None else "?"


def _overwrites(s, t: str) -> str:
    """Why ``s`` is not a loop that stores every entry of ``t`` before any read of it
    ('' when it is)."""
    if not (isinstance(s, Loop) and s.kind == "nodes" and s.start is None):
        return f"the next statement using '{t}' is not a loop over every vertex"
    v = s.var
    first = next((x for x in s.body if _touches(x, t)), None)
    if not (isinstance(first, Store) and first.table == t and first.op is None
            and first.flag is None and _is_var(first.index, v)
            and not _touches_expr(first.value, t)):
        return (f"the loop at line {_line(s)} does not store '{t}[{v}]' unconditionally "
                f"before it uses '{t}'")
    for x, _ in iter_stmts(s.body):
        if isinstance(x, Loop) and x.var == v:
            return f"an inner loop rebinds '{v}'"
        if isinstance(x, Store) and x.table == t and not _is_var(x.index, v):
            return f"the loop at line {_line(s)} stores into '{t}' at another entry than {v}"
        if isinstance(x, Store) and x.flag == t:
            return f"the loop at line {_line(s)} uses '{t}' as a flag"
        for e in stmt_exprs(x):
            for y in iter_exprs(e):
                if isinstance(y, TableRef) and y.table == t:
                    return f"the loop at line {_line(s)} uses the whole table '{t}'"
                if isinstance(y, Load) and y.table == t and not _is_var(y.index, v):
                    return f"the loop at line {_line(s)} reads '{t}' at another entry than {v}"
    return ""


def _is_var(e, name: str) -> bool:
    return isinstance(e, Var) and e.name == name


def _touches(s, t: str) -> bool:
    for x, _ in iter_stmts((s,)):
        if isinstance(x, (Store, Alloc, Exchange, Refresh, AllReduce)) and x.table == t:
            return True
        if isinstance(x, Store) and x.flag == t:
            return True
        if any(_touches_expr(e, t) for e in stmt_exprs(x)):
            return True
    return False


def _touches_expr(e, t: str) -> bool:
    if e is None:
        return False
    return any(isinstance(x, (Load, TableRef)) and x.table == t for x in iter_exprs(e))
