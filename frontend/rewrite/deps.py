"""Dependence analysis of a node/edge loop: which tables its iterations share, and how.

``accesses(kernel, loop)`` lists every read and write inside ``loop`` (nested loops
included) with the class of its index relative to the loop's iteration:

* ``own``: the entry this iteration owns: the loop's vertex ``v`` (and ``e.src`` of an
  edge of ``out_edges(v)``, ``e.dst`` of ``in_edges(v)``), or ``e.id`` in an edge loop;
  distinct iterations touch distinct entries;
* ``shared``: the same entry in every iteration (a scalar table, or an index that does
  not depend on the iteration);
* ``other``: anything else: iterations may collide on it.

``conflicts(kernel, loop, policy)`` turns that into the list of reasons the iterations
are not independent, after discharging the reductions whose operator is proved
commutative and associative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cosynth.ir.nodes import (
    Alloc,
    Assign,
    EdgeAttr,
    Expr,
    If,
    Kernel,
    Load,
    Loop,
    Store,
    Var,
)
from cosynth.ir.printer import print_expr
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .laws import DEFAULT_POLICY, Policy, reorderable
from .smt import Law

__all__ = ["Access", "accesses", "Conflicts", "conflicts", "loop_vars_inside"]


@dataclass(frozen=True)
class Access:
    table: str
    write: bool
    op: str | None
    index: Expr | None
    cls: str  # own | shared | other
    stmt: object
    is_flag: bool = False
    private: bool = False  # an enclosing loop's private local, not a table

    def describe(self) -> str:
        what = self.table if self.index is None else f"{self.table}[{print_expr(self.index)}]"
        if not self.write:
            return f"reads {what}"
        if self.is_flag:
            return f"sets flag {what}"
        return f"writes {what}" if self.op is None else f"reduces {what} with {self.op}"


def loop_vars_inside(loop: Loop) -> set[str]:
    names = {loop.var} if loop.var else set()
    stack = list(loop.body)
    while stack:
        s = stack.pop()
        if isinstance(s, Loop):
            if s.var:
                names.add(s.var)
            names.update(n for n, _ in s.locals)
            stack.extend(s.body)
        elif isinstance(s, If):
            stack.extend(s.then)
            stack.extend(s.orelse)
    names.update(n for n, _ in loop.locals)
    return names


class _Classifier:
    def __init__(self, loop: Loop):
        self.loop = loop
        self.inner = loop_vars_inside(loop)
        # edge variable -> which of its endpoints is the loop's own vertex (None: neither);
        # rebound by every edge loop, since sibling loops may reuse a name
        self.own_attrs: dict[str, str | None] = {}

    def note_edge_loop(self, s: Loop):
        own = self.loop.kind == "nodes" and isinstance(s.of, Var) and \
            s.of.name == self.loop.var
        self.own_attrs[s.var] = ("src" if s.kind == "out_edges" else "dst") if own else None

    def depends(self, e: Expr) -> bool:
        for x in iter_exprs(e):
            if isinstance(x, Var) and x.name in self.inner:
                return True
            if isinstance(x, EdgeAttr) and x.edge in self.inner:
                return True
        return False

    def cls(self, index: Expr | None, space: str) -> str:
        if index is None or not self.depends(index):
            return "shared"
        L = self.loop
        if isinstance(index, EdgeAttr) and index.edge == L.var and (
                (L.kind, index.attr) in (("out_edges", "src"), ("in_edges", "dst"))):
            return "shared"  # the vertex whose edges this loop walks
        if space == "node" and L.kind == "nodes" and (
                (isinstance(index, Var) and index.name == L.var) or
                (isinstance(index, EdgeAttr) and self.own_attrs.get(index.edge) == index.attr)):
            return "own"
        if space == "edge" and isinstance(index, EdgeAttr) and index.attr == "id" and (
                L.is_edge_loop and index.edge == L.var or
                L.kind == "nodes" and self.own_attrs.get(index.edge) is not None):
            return "own"
        return "other"


def accesses(k: Kernel, loop: Loop) -> list[Access]:
    tables = k.table_map
    c = _Classifier(loop)
    out: list[Access] = []
    owned_privates = {n for n, _ in loop.locals}

    def reads(e: Expr, stmt):
        for x in iter_exprs(e):
            if isinstance(x, Load):
                t = tables[x.table]
                out.append(Access(x.table, False, None, x.index, c.cls(x.index, t.space), stmt))
            elif isinstance(x, Var) and x.name not in c.inner and _is_private(k, x.name):
                out.append(Access(x.name, False, None, None, "shared", stmt, private=True))

    def walk(body, owned):
        for s in body:
            for e in stmt_exprs(s):
                reads(e, s)
            if isinstance(s, Store):
                t = tables[s.table]
                out.append(Access(s.table, True, s.op, s.index, c.cls(s.index, t.space), s))
                if s.flag:
                    out.append(Access(s.flag, True, "or", None, "shared", s, is_flag=True))
            elif isinstance(s, Assign) and s.name not in owned:
                out.append(Access(s.name, True, s.op, None, "shared", s, private=True))
            elif isinstance(s, Alloc):
                out.append(Access(s.table, True, None, None, "other", s))
            elif isinstance(s, If):
                walk(s.then, owned)
                walk(s.orelse, owned)
            elif isinstance(s, Loop):
                if s.is_edge_loop:
                    c.note_edge_loop(s)
                walk(s.body, owned | {n for n, _ in s.locals})

    walk(loop.body, owned_privates)
    return out


def _is_private(k: Kernel, name: str) -> bool:
    return name not in k.table_map and name not in {p.name for p in k.params}


@dataclass
class Conflicts:
    """Why iterations of a loop are not independent (empty: they are)."""

    reasons: list[str] = field(default_factory=list)
    laws: list[Law] = field(default_factory=list)
    rw_tables: dict[str, list[Access]] = field(default_factory=dict)  # read-write conflicts

    @property
    def independent(self) -> bool:
        return not self.reasons and not self.rw_tables


def conflicts(k: Kernel, loop: Loop, policy: Policy = DEFAULT_POLICY) -> Conflicts:
    """Cross-iteration conflicts of ``loop``; reductions are discharged by proving their
    operator commutative and associative on the table's dtype."""
    out = Conflicts()
    acc = accesses(k, loop)
    by_table: dict[str, list[Access]] = {}
    for a in acc:
        by_table.setdefault(a.table, []).append(a)
    for name, items in by_table.items():
        writes = [a for a in items if a.write]
        reads = [a for a in items if not a.write]
        if not writes:
            continue
        if any(isinstance(a.stmt, Alloc) for a in writes):
            out.reasons.append(f"'{name}' is re-initialised inside the loop")
            continue
        plain = [a for a in writes if a.op is None]
        reduce_ = [a for a in writes if a.op is not None]
        if all(a.cls == "own" for a in items):
            continue  # every access is to the iteration's own entry
        if plain and reduce_:
            out.reasons.append(f"'{name}' is both stored and reduced in the loop")
            continue
        if plain:
            bad = [a for a in plain if a.cls != "own"]
            if bad:
                out.reasons.append(
                    f"{bad[0].describe()}: a plain store to an entry other iterations may "
                    "also write (the last writer would win)")
                continue
            other_reads = [a for a in reads if a.cls != "own"]
            if other_reads:
                out.rw_tables[name] = other_reads + plain
            continue
        ops = {a.op for a in reduce_}
        if len(ops) > 1:
            out.reasons.append(f"'{name}' is reduced with different operators {sorted(ops)}")
            continue
        op = ops.pop()
        dtype = _dtype(k, name, loop)
        laws = reorderable(op, dtype, policy)
        out.laws.extend(laws)
        failed = [law for law in laws if not law.ok]
        if failed:
            out.reasons.append(f"reductions into '{name}' cannot be reordered: "
                               + "; ".join(law.describe() for law in failed))
            continue
        if reads:
            only_own = all(r.cls == "own" for r in reads) and all(
                w.cls == "own" for w in reduce_)
            if not only_own:
                out.rw_tables[name] = reads + reduce_
    return out


def _dtype(k: Kernel, name: str, loop: Loop):
    if name in k.table_map:
        return k.table_map[name].dtype
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop):
            for n, d in s.locals:
                if n == name:
                    return d
    raise KeyError(name)
