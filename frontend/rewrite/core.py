"""What every rewrite rule shares: loop addresses, results with certificates, helpers.

A loop is addressed by its *path*: the sequence of (field, index) steps from the kernel
body to the statement, where the field is ``body`` (of a loop or the kernel), ``then`` or
``orelse`` (of an if).  Rules are pure: they return a new kernel and never modify theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from cosynth.dtypes import boolean, i64
from cosynth.ir.nodes import (
    Assign,
    Bin,
    Const,
    EdgeAttr,
    Expr,
    If,
    Kernel,
    Load,
    Loop,
    Stmt,
    Store,
    Var,
)
from cosynth.ir.printer import _loop_header, print_expr
from cosynth.ir.verify import verify
from cosynth.ir.visit import Transformer, Visitor
from cosynth.ir.walk import iter_exprs, iter_stmts

from .smt import Law

__all__ = ["Rewrite", "Path", "loops", "get", "replace_at", "loop_label", "substitute",
           "applied", "refused", "guards_on_path", "enclosing", "range_bounds_on_path"]

Path = tuple


@dataclass
class Rewrite:
    """The outcome of trying a rule at one loop: the new kernel, or why not; the laws."""

    rule: str
    path: Path
    applied: bool
    kernel: Kernel | None
    reason: str
    laws: list[Law] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """True unless a law was only assumed by policy (results then within tolerance)."""
        return all(law.status == "proved" for law in self.laws)

    def certificate(self) -> dict:
        return {"rule": self.rule, "loop": list(map(list, self.path)),
                "applied": self.applied, "reason": self.reason, "exact": self.exact,
                "laws": [law.as_dict() for law in self.laws]}


def applied(rule: str, path: Path, k: Kernel, reason: str, laws=()) -> Rewrite:
    return Rewrite(rule, path, True, verify(k), reason, list(laws))


def refused(rule: str, path: Path, reason: str, laws=()) -> Rewrite:
    return Rewrite(rule, path, False, None, reason, list(laws))


def loops(k: Kernel) -> list[tuple[Path, Loop]]:
    """Every loop of ``k`` with its path, outer loops before inner ones."""
    v = _Loops()
    v.visit_body(k.body)
    return v.out


class _Loops(Visitor):
    def __init__(self):
        self.out: list[tuple[Path, Loop]] = []

    def visit_Loop(self, s: Loop):
        self.out.append((self.address, s))
        self.generic_visit(s)

    def visit_Expr(self, e):
        return None


def get(k: Kernel, path: Path) -> Stmt:
    node = None
    body = k.body
    for fieldname, i in path:
        if node is not None:
            body = getattr(node, fieldname)
        node = body[i]
    return node


def enclosing(k: Kernel, path: Path) -> list[Stmt]:
    """The statements on the way to ``path`` (outermost first), excluding the target."""
    out = []
    node = None
    body = k.body
    for fieldname, i in path[:-1]:
        if node is not None:
            body = getattr(node, fieldname)
        node = body[i]
        out.append(node)
    return out


def guards_on_path(k: Kernel, path: Path) -> list[tuple[Expr, bool]]:
    """The if-conditions the statement at ``path`` sits under, with the branch taken."""
    out = []
    node = None
    body = k.body
    for fieldname, i in path:
        if node is not None:
            if isinstance(node, If):
                out.append((node.cond, fieldname == "then"))
            body = getattr(node, fieldname)
        node = body[i]
    return out


def range_bounds_on_path(k: Kernel, path: Path) -> list[tuple[Expr, bool]]:
    """``start <= i`` and ``i < stop`` (``stop < i <= start`` for a negative step) for
    every ``for i in range(start, stop, step)`` enclosing the statement at ``path``, as
    ``(condition, True)`` pairs in the form of ``guards_on_path``.

    Python evaluates ``range``'s arguments once, on entry, so a bound is only valid
    throughout the loop when its expression reads nothing the loop body writes (tables,
    scalars); such loops contribute nothing.  The step must be a constant (its sign says
    which way the counter runs).  These facts are what lets a proof know ``level < k``
    inside ``for level in range(k)``."""
    out = []
    for s in enclosing(k, path):
        if not (isinstance(s, Loop) and s.kind == "range" and isinstance(s.step, Const)):
            continue
        written = set()
        for t, _ in iter_stmts(s.body):
            if isinstance(t, Store):
                written.add(t.table)
            elif isinstance(t, Assign):
                written.add(t.name)
        if any(isinstance(x, Load | Var) and getattr(x, "table", getattr(x, "name", None))
               in written for b in (s.start, s.stop) for x in iter_exprs(b)):
            continue
        i = Var(s.var, i64, weak=True, loc=s.loc)
        if s.step.value > 0:
            conds = [Bin("<=", s.start, i, boolean, loc=s.loc),
                     Bin("<", i, s.stop, boolean, loc=s.loc)]
        else:
            conds = [Bin("<", s.stop, i, boolean, loc=s.loc),
                     Bin("<=", i, s.start, boolean, loc=s.loc)]
        out += [(c, True) for c in conds]
    return out


def replace_at(k: Kernel, path: Path, new: list[Stmt]) -> Kernel:
    """``k`` with the statement at ``path`` replaced by the statements ``new``."""
    def rebuild(body: tuple, steps) -> tuple:
        (_, i), rest = steps[0], steps[1:]
        if not rest:
            return body[:i] + tuple(new) + body[i + 1:]
        s = body[i]
        nxt = rest[0][0]
        changed = replace(s, **{nxt: rebuild(getattr(s, nxt), rest)})
        return body[:i] + (changed,) + body[i + 1:]
    return replace(k, body=rebuild(k.body, path))


def loop_label(loop: Loop) -> str:
    """``for v in nodes() (line 12)``: how reports name a loop."""
    line = f" (line {loop.loc.line})" if loop.loc is not None else ""
    return f"{_loop_header(loop)}{line}"


def substitute(body, mapping: dict) -> tuple:
    """Replace leaves in statements: keys are variable names (``"v"``) or
    ``(edge, attr)`` pairs, values are expressions."""
    return _Substitute(mapping).visit_body(tuple(body))


def substitute_expr(e: Expr, mapping: dict) -> Expr:
    return _Substitute(mapping).visit(e)


class _Substitute(Transformer):
    def __init__(self, mapping: dict):
        self.mapping = mapping

    def visit_Var(self, e: Var) -> Expr:
        return self.mapping.get(e.name, e)

    def visit_EdgeAttr(self, e: EdgeAttr) -> Expr:
        return self.mapping.get((e.edge, e.attr), e)


def text(e: Expr) -> str:
    return print_expr(e)
