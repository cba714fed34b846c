"""Rules ``fuse`` and ``fission``: merge two adjacent loops over the same domain, or split
one loop's body in two.

rewrite (fuse; fission is the reverse)::

    for v in nodes() @par:                    for v in nodes() @par:
      contrib[v] = 0.0                          contrib[v] = 0.0
    for v in nodes() @par:           <->        if out_degree(v) == 0:
      if out_degree(v) == 0:                      dangling add= rank[v]
        dangling add= rank[v]

Fusing interleaves the two loops' iterations (``A(0) B(0) A(1) B(1) ...`` instead of all
of ``A`` then all of ``B``); splitting does the opposite.  Both are legal exactly when no
iteration of one part touches what a *different* iteration of the other part writes:
every table both parts use (and one of them writes) is accessed only at the iteration's
own entry, and a scalar is at most reduced by both with one operator and read by
neither.  A private computed by the first part and used by the second forbids splitting.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.dtypes import i64
from cosynth.ir.nodes import Assign, EdgeAttr, Kernel, Loop, Var
from cosynth.ir.walk import iter_stmts

from .core import Path, applied, get, refused, replace_at, substitute
from .deps import Access, accesses, conflicts
from .laws import DEFAULT_POLICY, Policy
from .nests import uses_var

NAME_FUSE = "fuse"
NAME_FISSION = "fission"


def applies_to(loop) -> bool:
    return isinstance(loop, Loop) and loop.kind in ("nodes", "edges")


def _same_domain(a: Loop, b: Loop) -> bool:
    return a.kind == b.kind and a.kind in ("nodes", "edges") and a.start == b.start and \
        a.stop == b.stop


def _interference(k: Kernel, a: Loop, b: Loop) -> str:
    """Why iterations of ``a`` and ``b`` may not be interleaved ("" if they may)."""
    acc_a, acc_b = accesses(k, a), accesses(k, b)
    by_a: dict[str, list[Access]] = {}
    by_b: dict[str, list[Access]] = {}
    for x in acc_a:
        by_a.setdefault(x.table, []).append(x)
    for x in acc_b:
        by_b.setdefault(x.table, []).append(x)
    for name in sorted(set(by_a) & set(by_b)):
        both = by_a[name] + by_b[name]
        if not any(x.write for x in both):
            continue
        if all(x.cls == "own" for x in both):
            continue
        ops = {x.op for x in both if x.write}
        if not any(not x.write for x in both) and len(ops) == 1 and None not in ops:
            continue  # reduced by both with one operator and never read: order-free
        w = next(x for x in both if x.write)
        r = next((x for x in both if x is not w and (x.cls != "own" or w.cls != "own")), w)
        return (f"'{name}' is shared between different iterations of the two parts "
                f"({w.describe()}; {r.describe()})")
    return ""


def fuse(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY):
    """Fuse the loop at ``path`` with the statement that follows it."""
    a = get(k, path)
    if not applies_to(a):
        return refused(NAME_FUSE, path, "not a node or edge loop")
    *prefix, (field, i) = path
    parent = get(k, tuple(prefix)) if prefix else None
    body = k.body if parent is None else getattr(parent, field)
    if i + 1 >= len(body) or not isinstance(body[i + 1], Loop):
        return refused(NAME_FUSE, path, "the next statement is not a loop")
    b = body[i + 1]
    if not _same_domain(a, b):
        return refused(NAME_FUSE, path, f"the next loop runs over {b.kind}, a different "
                       "domain")
    if a.schedule != b.schedule:
        return refused(NAME_FUSE, path, f"the loops have different schedules "
                       f"({a.schedule}, {b.schedule})")
    # make b use a's variable and keep private names apart
    b_body = b.body
    if b.var != a.var:
        if uses_var(b.body, a.var) or any(n == a.var for n, _ in b.locals):
            return refused(NAME_FUSE, path, f"the second loop already uses the name '{a.var}'")
        if a.kind == "nodes":
            b_body = substitute(b.body, {b.var: Var(a.var, i64, True)})
        else:
            b_body = substitute(b.body, {(b.var, f): EdgeAttr(a.var, f)
                                         for f in ("src", "dst", "id")})
    clash = {n for n, _ in a.locals} & {n for n, _ in b.locals}
    if clash:
        return refused(NAME_FUSE, path, f"both loops have privates named {sorted(clash)}")
    why = "" if a.schedule == "async" else _interference(k, a, b)
    if why:
        return refused(NAME_FUSE, path, why)
    fused = replace(a, body=a.body + b_body, locals=a.locals + b.locals)
    if fused.schedule == "par":
        c = conflicts(k, fused, policy)
        if not c.independent:
            return refused(NAME_FUSE, path, "the fused loop's iterations would depend on "
                           "each other: " + ("; ".join(c.reasons) or "read/write conflict"),
                           c.laws)
    new = replace_at(k, path, [fused])
    new = replace_at(new, tuple(prefix) + ((field, i + 1),), [])
    return applied(NAME_FUSE, path, new, "no iteration of one loop touches what another "
                   "iteration of the other writes")


def fission(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY, at: int | None = None):
    """Split the loop at ``path`` before statement ``at`` of its body (first legal point
    if not given)."""
    loop = get(k, path)
    if not applies_to(loop):
        return refused(NAME_FISSION, path, "not a node or edge loop")
    if len(loop.body) < 2:
        return refused(NAME_FISSION, path, "the body has a single statement")
    points = [at] if at is not None else list(range(1, len(loop.body)))
    reasons = []
    for p in points:
        if not 1 <= p < len(loop.body):
            return refused(NAME_FISSION, path, f"no statement {p} to split before")
        first, second = loop.body[:p], loop.body[p:]
        shared = [n for n, _ in loop.locals if _assigns(first, n) and uses_var(second, n)]
        if shared:
            reasons.append(f"at {p}: private '{shared[0]}' flows from the first part to "
                           "the second")
            continue
        a = replace(loop, body=first, locals=tuple((n, d) for n, d in loop.locals
                                                   if _mentions(first, n)))
        b = replace(loop, body=second, locals=tuple((n, d) for n, d in loop.locals
                                                    if _mentions(second, n)))
        why = "" if loop.schedule == "async" else _interference(k, a, b)
        if why:
            reasons.append(f"at {p}: {why}")
            continue
        return applied(NAME_FISSION, path, replace_at(k, path, [a, b]),
                       f"split before statement {p}: no iteration of one part touches what "
                       "another iteration of the other writes")
    return refused(NAME_FISSION, path, "; ".join(reasons))


def _assigns(stmts, name) -> bool:
    return any(isinstance(s, Assign) and s.name == name for s, _ in iter_stmts(stmts))


def _mentions(stmts, name) -> bool:
    return _assigns(stmts, name) or uses_var(stmts, name)
