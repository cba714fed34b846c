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

import json
import math
import re
from dataclasses import fields, replace

from .nodes import Cast, Const, Expr, If, Kernel, Loop, Un, Var
from .parser import default_weight_dtype, loc_order, parse_kernel
from .visit import Visitor
from .walk import iter_exprs, iter_stmts, stmt_exprs

__all__ = ["print_kernel", "print_expr", "print_stmts", "print_kernel_exact"]

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


# ----------------------------------------------------------------------- exact form
def print_kernel_exact(k: Kernel) -> str:
    """The canonical text plus what reading it back would lose (see ``cosynth.ir.parser``):
    ``(e : T weak|strong)`` where the reading rules give an expression another type or
    weakness, a ``weights: T`` line where they give another weight type, and a ``#@``
    comment per line with its nodes' source locations.  Invariant:
    ``parse_kernel(print_kernel_exact(k)) == k`` with every ``loc`` restored; the text
    without ``#@`` comments and ascriptions is ``print_kernel(k)``.
    """
    marked = _forced_ascriptions(k)
    for _ in range(64):
        text = _print_exact(k, marked)
        back = parse_kernel(text)
        wrong = _misread(k, back)
        if not wrong:
            return text
        if wrong <= marked:
            break
        marked |= wrong
    raise ValueError(f"kernel '{k.name}' has no exact text form (a name shared by a table "
                     "and a variable, or a default value without has_default)")


def _print_exact(k: Kernel, marked: set[int]) -> str:
    texts: dict[str, str] = {}
    hole = re.compile("\x00(\\d+)\x00")

    def fill(text: str) -> str:
        return hole.sub(lambda m: texts[m.group(1)], text)

    def mark(e):
        if id(e) in marked:
            key = str(len(texts))
            inner = fill(print_expr(_mark_operands(e, mark)))
            weak = "weak" if e.weak else "strong"
            texts[key] = f"({inner} : {e.dtype} {weak})"
            return Var(f"\x00{key}\x00", e.dtype)
        return _mark_operands(e, mark)

    file = k.loc.file if k.loc is not None else None

    def locs(nodes) -> str:
        out = []
        for n in nodes:
            lc = n.loc
            if lc is None:
                out.append("-")
            elif lc.file == file:
                out.append(f"{lc.line}:{lc.col}")
            else:
                out.append(f"{json.dumps(lc.file)}:{lc.line}:{lc.col}")
        return "  #@ " + " ".join(out)

    body = tuple(_mark_stmt(s, mark) for s in k.body)
    rets = tuple(mark(r) for r in k.returns)
    shown = Kernel(k.name, k.params, k.tables, body, rets, k.weight_dtype)
    lines = fill(print_kernel(shown)).rstrip("\n").split("\n")
    head = [json.dumps(file)] if file is not None else []
    lines[0] += "  #@ " + " ".join(head + [locs([n])[5:] for n in (k, *k.params)])
    if k.weight_dtype != default_weight_dtype(k.tables):
        lines.insert(1, f"  weights: {k.weight_dtype or 'none'}")
    first_table = lines.index("  tables:") + 1
    for i, t in enumerate(k.tables):
        lines[first_table + i] += locs([t])
    owners = _line_owners(k.body)
    start = first_table + len(k.tables)
    for i, node in enumerate(owners):
        if node is not None:
            lines[start + i] += locs(loc_order(_head(node)))
    lines[-1] += locs([x for r in k.returns for x in loc_order(r)])
    return "\n".join(lines) + "\n"


def _head(s):
    """A statement without its nested statements (whose lines carry their own locs)."""
    if isinstance(s, If):
        return If(s.cond, (), (), s.loc)
    if isinstance(s, Loop):
        return replace(s, body=())
    return s


def _line_owners(body) -> list:
    """The statement each line of ``print_stmts(body)`` prints (None for ``else:``,
    ``private`` and ``pass`` lines), in the order ``print_stmts`` writes them."""
    out: list = []
    for s in body:
        out.append(s)
        if isinstance(s, If):
            out.extend(_line_owners(s.then) or [None])
            if s.orelse:
                out.append(None)
                out.extend(_line_owners(s.orelse))
        elif isinstance(s, Loop):
            if s.locals:
                out.append(None)
            out.extend(_line_owners(s.body) or [None])
    return out


def _mark_operands(e, mark):
    changes = {}
    for f in fields(e):
        v = getattr(e, f.name)
        if isinstance(v, Expr):
            changes[f.name] = mark(v)
        elif isinstance(v, tuple) and v and isinstance(v[0], Expr):
            changes[f.name] = tuple(mark(x) for x in v)
    return replace(e, **changes) if changes else e


def _mark_stmt(s, mark):
    changes = {}
    for f in fields(s):
        v = getattr(s, f.name)
        if isinstance(v, Expr):
            changes[f.name] = mark(v)
        elif isinstance(v, tuple) and v and not isinstance(v[0], tuple):
            changes[f.name] = tuple(_mark_stmt(x, mark) for x in v)
    return replace(s, **changes) if changes else s


def _forced_ascriptions(k: Kernel) -> set[int]:
    """Constants whose bare literal would merge into the operator above them: ``-1`` reads
    as one constant, ``i32(0)`` as a typed constant, not as a negation or a cast."""
    out = set()
    for s, _ in iter_stmts(k.body):
        for top in stmt_exprs(s):
            for e in iter_exprs(top):
                if isinstance(e, Un | Cast) and isinstance(e.a, Const):
                    out.add(id(e.a))
    return out


def _misread(k: Kernel, back: Kernel) -> set[int]:
    """``id``s of the expressions of ``k`` that ``back`` (``k`` read back) gets wrong in
    their own fields (type, weakness, value), not in their operands."""
    if len(k.body) != len(back.body):
        raise ValueError("the text does not read back to the same statements")
    out: set[int] = set()

    def same_node(a, b) -> bool:
        if type(a) is not type(b) or a.dtype != b.dtype or a.weak != b.weak:
            return False
        if isinstance(a, Const) and type(a.value) is not type(b.value):
            return False
        return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(a)
                   if f.name != "loc" and not isinstance(getattr(a, f.name), Expr | tuple))

    def walk(a, b):
        if not same_node(a, b):
            out.add(id(a))
        if type(a) is type(b):
            for f in fields(a):
                x, y = getattr(a, f.name), getattr(b, f.name)
                if isinstance(x, Expr) and isinstance(y, Expr):
                    walk(x, y)
                elif isinstance(x, tuple) and isinstance(y, tuple):
                    for p, q in zip(x, y):
                        if isinstance(p, Expr) and isinstance(q, Expr):
                            walk(p, q)

    pairs = list(zip([s for s, _ in iter_stmts(k.body)], [s for s, _ in iter_stmts(back.body)]))
    for s, t in pairs:
        for a, b in zip(stmt_exprs(s), stmt_exprs(t)):
            walk(a, b)
    for a, b in zip(k.returns, back.returns):
        walk(a, b)
    return out
