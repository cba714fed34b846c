"""The canonical text form of the IR.

::

    kernel sssp(source: i64 node) -> dist
      tables:
        weight: edge f64 weight
        dist: node f64
        changed: scalar bool
      dist[:] = inf
      dist[source] = 0.0
      changed = True
      while changed @seq:
        changed = False
        for v in nodes() @seq:
          for e in out_edges(v) @seq:
            private nd: f64
            nd := dist[v] + weight[e.id]
            dist[e.dst] min= nd -> changed
      return dist

``t[i] = v`` stores into a table, ``t = v`` into a scalar table, ``x := v`` assigns a
loop-private local; ``op=`` (``min= max= add= or= and=``) is a reduction and ``-> f``
names its changed-flag; ``@seq`` / ``@par`` / ``@bsp`` / ``@async`` is the loop schedule.
Literals print as Python literals; a constant whose type is not the literal's default
prints as a cast (``i32(0)``).  Equal IR prints equal text; ``print_kernel(k, locs=True)``
adds the user's source line to each statement.
"""

from __future__ import annotations

import math

from .nodes import Const, Expr, Kernel, Loop
from .visit import Visitor

__all__ = ["print_kernel", "print_expr", "print_stmts"]

_PREC = {"if": 0, "or": 1, "and": 2, "not": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "==": 4,
         "!=": 4, "|": 5, "^": 6, "&": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10,
         "//": 10, "%": 10, "neg": 11, "~": 11, "**": 12}
_ATOM = 13


def print_kernel(k: Kernel, locs: bool = False) -> str:
    params = ", ".join(_param(p) for p in k.params)
    rets = ", ".join(print_expr(r) for r in k.returns)
    lines = [f"kernel {k.name}({params}) -> {rets}", "  tables:"]
    for t in k.tables:
        role = "" if t.role == "local" else f" {t.role}"
        lines.append(f"    {t.name}: {t.space} {t.dtype}{role}")
    lines.extend(print_stmts(k.body, 1, locs))
    lines.append(f"  return {rets}")
    return "\n".join(lines) + "\n"


def _param(p) -> str:
    kind = {"array": f"node {p.dtype}", "shard": f"{p.dtype} shard"}.get(p.kind, str(p.dtype))
    node = " node" if p.node else ""
    default = f" = {_literal(p.default)}" if p.has_default else ""
    return f"{p.name}: {kind}{node}{default}"


def print_stmts(body, depth: int = 0, locs: bool = False) -> list[str]:
    return _StmtPrinter(depth, locs).lines(body)


class _StmtPrinter(Visitor):
    """Each method returns the statement's lines at ``self.depth``."""

    def __init__(self, depth: int, locs: bool):
        self.depth, self.locs = depth, locs

    def lines(self, body) -> list[str]:
        return [line for s in body for line in self.visit(s)]

    def nested(self, body) -> list[str]:
        self.depth += 1
        try:
            return self.lines(body)
        finally:
            self.depth -= 1

    def line(self, s, text: str) -> list[str]:
        tail = f"  # line {s.loc.line}" if self.locs and s.loc is not None else ""
        return [f"{'  ' * self.depth}{text}{tail}"]

    def visit_Alloc(self, s):
        return self.line(s, f"{s.table}[:] = {print_expr(s.fill)}")

    def visit_Store(self, s):
        target = s.table if s.index is None else f"{s.table}[{print_expr(s.index)}]"
        op = "=" if s.op is None else f"{s.op}="
        flag = f" -> {s.flag}" if s.flag else ""
        return self.line(s, f"{target} {op} {print_expr(s.value)}{flag}")

    def visit_Assign(self, s):
        op = ":=" if s.op is None else f"{s.op}:="
        return self.line(s, f"{s.name} {op} {print_expr(s.value)}")

    def visit_If(self, s):
        pad = "  " * self.depth
        out = self.line(s, f"if {print_expr(s.cond)}:")
        out.extend(self.nested(s.then) or [f"{pad}  pass"])
        if s.orelse:
            out.append(f"{pad}else:")
            out.extend(self.nested(s.orelse))
        return out

    def visit_Loop(self, s):
        pad = "  " * self.depth
        out = self.line(s, f"{_loop_header(s)} @{s.schedule}:")
        if s.locals:
            decl = ", ".join(f"{n}: {d}" for n, d in s.locals)
            out.append(f"{pad}  private {decl}")
        out.extend(self.nested(s.body) or [f"{pad}  pass"])
        return out

    def visit_Exchange(self, s):
        flag = f" -> {s.flag}" if s.flag else ""
        return self.line(s, f"exchange {s.table} {s.op}{flag}")

    def visit_Refresh(self, s):
        return self.line(s, f"refresh {s.table}")

    def visit_AllReduce(self, s):
        return self.line(s, f"allreduce {s.table} {s.op}")

    def generic_visit(self, s):  # pragma: no cover - the verifier rejects unknown statements
        return [f"{'  ' * self.depth}<{type(s).__name__}>"]


def _loop_header(s: Loop) -> str:
    if s.kind == "while":
        return f"while {print_expr(s.cond)}"
    if s.kind == "nodes":
        rng = "" if s.start is None else f"{print_expr(s.start)}, {print_expr(s.stop)}"
        return f"for {s.var} in nodes({rng})"
    if s.kind in ("out_edges", "in_edges"):
        return f"for {s.var} in {s.kind}({print_expr(s.of)})"
    if s.kind == "edges":
        rng = "" if s.start is None else f"{print_expr(s.start)}, {print_expr(s.stop)}"
        return f"for {s.var} in edges({rng})"
    step = "" if isinstance(s.step, Const) and s.step.value == 1 else f", {print_expr(s.step)}"
    return f"for {s.var} in range({print_expr(s.start)}, {print_expr(s.stop)}{step})"


def _literal(v) -> str:
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if math.isnan(v):
            return "nan"
    return repr(v)


def print_expr(e: Expr) -> str:
    return _EXPR.visit(e)[0]


class _ExprPrinter(Visitor):
    """Each method returns ``(text, precedence)``; the printer keeps no state."""

    def visit_Const(self, e):
        text = _literal(e.value)
        default = e.weak or e.dtype.is_bool or (e.dtype.name == "i64" and isinstance(
            e.value, int)) or (e.dtype.name == "f64" and isinstance(e.value, float))
        if not default:
            return f"{e.dtype}({text})", _ATOM
        if text.startswith("-"):
            return text, _PREC["neg"]
        return text, _ATOM

    def visit_Var(self, e):
        return e.name, _ATOM

    def visit_Load(self, e):
        if e.index is None:
            return e.table, _ATOM
        return f"{e.table}[{print_expr(e.index)}]", _ATOM

    def visit_TableRef(self, e):
        return e.table, _ATOM

    def visit_EdgeAttr(self, e):
        return f"{e.edge}.{e.attr}", _ATOM

    def visit_GraphQuery(self, e):
        return f"{e.fn}({', '.join(print_expr(a) for a in e.args)})", _ATOM

    def visit_Cast(self, e):
        return f"{e.dtype}({print_expr(e.a)})", _ATOM

    def visit_Select(self, e):
        p = _PREC["if"]
        return (f"{_wrap(e.a, p + 1)} if {_wrap(e.cond, p + 1)} else {_wrap(e.b, p)}", p)

    def visit_Un(self, e):
        if e.op == "abs":
            return f"abs({print_expr(e.a)})", _ATOM
        if e.op == "not":
            p = _PREC["not"]
            return f"not {_wrap(e.a, p)}", p
        p = _PREC["neg"] if e.op == "-" else _PREC["~"]
        return f"{e.op}{_wrap(e.a, p)}", p

    def visit_Bin(self, e):
        if e.op in ("min", "max"):
            return f"{e.op}({print_expr(e.a)}, {print_expr(e.b)})", _ATOM
        p = _PREC[e.op]
        if e.op == "**":  # right-associative
            return f"{_wrap(e.a, p + 1)} ** {_wrap(e.b, p)}", p
        if p == _PREC["<"]:  # comparisons do not chain in the IR: parenthesise nested ones
            return f"{_wrap(e.a, p + 1)} {e.op} {_wrap(e.b, p + 1)}", p
        return f"{_wrap(e.a, p)} {e.op} {_wrap(e.b, p + 1)}", p

    def generic_visit(self, e):  # pragma: no cover
        return f"<{type(e).__name__}>", _ATOM


_EXPR = _ExprPrinter()


def _wrap(e: Expr, min_prec: int) -> str:
    text, p = _EXPR.visit(e)
    return text if p >= min_prec else f"({text})"
