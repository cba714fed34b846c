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
    Kernel,
    Load,
    Loop,
    Store,
    Var,
    children,
)
from cosynth.ir.printer import print_expr
from cosynth.ir.visit import Visitor
from cosynth.ir.walk import iter_stmts, stmt_exprs

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
    """The variables and privates ``loop`` binds, its nested loops' included."""
    v = _Bound()
    v.visit(loop)
    return v.names


class _Bound(Visitor):
    def __init__(self):
        self.names: set[str] = set()

    def visit_Loop(self, s: Loop):
        if s.var:
            self.names.add(s.var)
        self.names.update(n for n, _ in s.locals)
        self.visit_body(s.body, "body", s)

    def visit_Expr(self, e):
        return None


class _Mentions(Visitor):
    """Does an expression read one of ``names`` (a variable, or a field of an edge)?"""

    def __init__(self, names: set[str]):
        self.names = names

    def visit_Var(self, e: Var) -> bool:
        return e.name in self.names

    def visit_EdgeAttr(self, e: EdgeAttr) -> bool:
        return e.edge in self.names

    def visit_Expr(self, e) -> bool:
        return any(self.visit(x) for x in children(e))


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
        return _Mentions(self.inner).visit(e)

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
    """Every read and write inside ``loop``'s body, in program order (a statement's reads
    before its write)."""
    v = _Accesses(k, loop)
    v.visit_body(loop.body, "body", loop)
    return v.out


class _Accesses(Visitor):
    def __init__(self, k: Kernel, loop: Loop):
        self.k = k
        self.tables = k.table_map
        self.c = _Classifier(loop)
        self.out: list[Access] = []
        self.owned = {n for n, _ in loop.locals}  # privates of loops inside ``loop``
        self.stmt = None  # the statement whose expressions are being read

    def visit_Stmt(self, s):
        self.stmt = s
        self.generic_visit(s)

    def visit_Store(self, s: Store):
        self.visit_Stmt(s)
        t = self.tables[s.table]
        self.out.append(Access(s.table, True, s.op, s.index, self.c.cls(s.index, t.space), s))
        if s.flag:
            self.out.append(Access(s.flag, True, "or", None, "shared", s, is_flag=True))

    def visit_Assign(self, s: Assign):
        self.visit_Stmt(s)
        if s.name not in self.owned:
            self.out.append(Access(s.name, True, s.op, None, "shared", s, private=True))

    def visit_Alloc(self, s: Alloc):
        self.visit_Stmt(s)
        self.out.append(Access(s.table, True, None, None, "other", s))

    def visit_Loop(self, s: Loop):
        self.stmt = s
        for e in stmt_exprs(s):
            self.visit(e)
        if s.is_edge_loop:
            self.c.note_edge_loop(s)
        outer = self.owned
        self.owned = outer | {n for n, _ in s.locals}
        try:
            self.visit_body(s.body, "body", s)
        finally:
            self.owned = outer

    def visit_Load(self, e: Load):
        t = self.tables[e.table]
        self.out.append(Access(e.table, False, None, e.index, self.c.cls(e.index, t.space),
                               self.stmt))
        self.generic_visit(e)

    def visit_Var(self, e: Var):
        if e.name not in self.c.inner and _is_private(self.k, e.name):
            self.out.append(Access(e.name, False, None, None, "shared", self.stmt,
                                   private=True))


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
