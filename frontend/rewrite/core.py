"""What every rewrite rule shares: loop addresses, results with certificates, helpers.

A loop is addressed by its *path*: the sequence of (field, index) steps from the kernel
body to the statement, where the field is ``body`` (of a loop or the kernel), ``then`` or
``orelse`` (of an if).  Rules are pure: they return a new kernel and never modify theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from cosynth.ir.nodes import EdgeAttr, Expr, If, Kernel, Loop, Stmt, Var
from cosynth.ir.printer import _loop_header, print_expr
from cosynth.ir.verify import verify
from cosynth.ir.walk import map_body, map_exprs

from .smt import Law

__all__ = ["Rewrite", "Path", "loops", "get", "replace_at", "loop_label", "substitute",
           "applied", "refused", "guards_on_path", "enclosing"]

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
    out: list = []

    def walk(body, prefix, fieldname):
        for i, s in enumerate(body):
            p = prefix + ((fieldname, i),)
            if isinstance(s, Loop):
                out.append((p, s))
                walk(s.body, p, "body")
            elif isinstance(s, If):
                walk(s.then, p, "then")
                walk(s.orelse, p, "orelse")
    walk(k.body, (), "body")
    return out


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
    def fn(e: Expr) -> Expr:
        if isinstance(e, Var) and e.name in mapping:
            return mapping[e.name]
        if isinstance(e, EdgeAttr) and (e.edge, e.attr) in mapping:
            return mapping[(e.edge, e.attr)]
        return e
    return map_body(body, None, fn)


def substitute_expr(e: Expr, mapping: dict) -> Expr:
    def fn(x: Expr) -> Expr:
        if isinstance(x, Var) and x.name in mapping:
            return mapping[x.name]
        if isinstance(x, EdgeAttr) and (x.edge, x.attr) in mapping:
            return mapping[(x.edge, x.attr)]
        return x
    return map_exprs(e, fn)


def text(e: Expr) -> str:
    return print_expr(e)
