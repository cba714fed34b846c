"""Shapes shared by the direction and edge-centric rules: a node loop wrapping one edge loop.

A *nest* is ``for v in nodes(): P`` where ``P`` is a list of private assignments followed
by either the edge loop ``for e in out_edges(v)`` / ``in_edges(v)``, or an ``if`` (no
else) whose body is again such a ``P``.  The private assignments and the if-conditions
are the *prefix*: they depend only on ``v``, and moving them inside the edge loop (where
``v`` becomes ``e.src`` or ``e.dst``) recomputes them per edge with the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cosynth.ir.nodes import Assign, EdgeAttr, If, Kernel, Loop, Stmt, Var
from cosynth.ir.visit import Visitor
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .deps import accesses
from .laws import DEFAULT_POLICY, Policy, reorderable
from .smt import Law

__all__ = ["Nest", "match_nest", "rebuild_prefix", "fresh_name", "edge_body_writes_ok"]


@dataclass
class Nest:
    outer: Loop
    edge: Loop
    prefix: list  # Assign statements and If conditions, outermost first: ("assign", s) | ("if", s)


def match_nest(loop: Loop, edge_kinds=("out_edges", "in_edges")) -> tuple[Nest | None, str]:
    if not isinstance(loop, Loop) or loop.kind != "nodes":
        return None, "not a node loop"
    return _NestShape(loop, edge_kinds).body(loop.body)


class _NestShape(Visitor):
    """Matches ``P`` (see the module docstring): ``body`` collects the prefix assignments,
    then a method on the body's last statement returns ``(Nest, "")`` or
    ``(None, why not)``."""

    def __init__(self, loop: Loop, edge_kinds):
        self.loop, self.edge_kinds = loop, edge_kinds
        self.prefix: list = []

    def body(self, stmts) -> tuple[Nest | None, str]:
        if not stmts:
            return None, "the node loop is empty"
        *pre, last = stmts
        for s in pre:
            if not isinstance(s, Assign):
                return None, (f"the node loop does more than compute privates before its "
                              f"edge loop (line {getattr(s.loc, 'line', '?')})")
            self.prefix.append(("assign", s))
        return self.visit(last)

    def visit_Loop(self, s: Loop):
        if s.kind not in self.edge_kinds:
            return self.visit_Stmt(s)
        if not (isinstance(s.of, Var) and s.of.name == self.loop.var):
            return None, "the edge loop is not over the node loop's own vertex"
        return Nest(self.loop, s, self.prefix), ""

    def visit_If(self, s: If):
        if s.orelse:
            return self.visit_Stmt(s)
        self.prefix.append(("if", s))
        return self.body(list(s.then))

    def visit_Stmt(self, s):
        return None, "the node loop's last statement is not its edge loop (or an if around it)"


def rebuild_prefix(prefix: list, inner: list[Stmt]) -> list[Stmt]:
    """Wrap ``inner`` in the prefix (assignments first, ifs nesting)."""
    out = list(inner)
    for kind, s in reversed(prefix):
        if kind == "assign":
            out = [s] + out
        else:
            out = [replace(s, then=tuple(out))]
    return out


def fresh_name(k: Kernel, base: str) -> str:
    used = {t.name for t in k.tables} | {p.name for p in k.params}
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop):
            if s.var:
                used.add(s.var)
            used.update(n for n, _ in s.locals)
    if base not in used:
        return base
    i = 1
    while f"{base}{i}" in used:
        i += 1
    return f"{base}{i}"


def edge_body_writes_ok(k: Kernel, nest: Nest, policy: Policy = DEFAULT_POLICY
                        ) -> tuple[str, list[Law]]:
    """Writes inside the edge loop must tolerate reordered contributions: reductions with
    a commutative, associative operator, or stores to the edge's own entry."""
    laws: list[Law] = []
    for a in accesses(k, nest.edge):
        if not a.write or a.is_flag:
            continue
        if a.private:
            return f"it writes '{a.table}', a private of an enclosing loop", laws
        t = k.table_map[a.table]
        if a.op is None:
            own_edge = t.space == "edge" and isinstance(a.index, EdgeAttr) and \
                a.index.edge == nest.edge.var and a.index.attr == "id"
            if not own_edge:
                return (f"{a.describe()}: a plain store, so the order of the edges decides "
                        "which value remains (the last writer wins)"), laws
            continue
        for law in reorderable(a.op, t.dtype, policy):
            if law not in laws:
                laws.append(law)
            if not law.ok:
                return f"{a.describe()} cannot be reordered: {law.describe()}", laws
    for s, _ in iter_stmts(nest.edge.body):
        if isinstance(s, Loop) and not s.is_data_loop:
            return f"it contains a {s.kind} loop", laws
    return "", laws


def uses_var(stmts, name: str) -> bool:
    for s, _ in iter_stmts(stmts):
        for e in stmt_exprs(s):
            for x in iter_exprs(e):
                if isinstance(x, Var) and x.name == name:
                    return True
    return False
