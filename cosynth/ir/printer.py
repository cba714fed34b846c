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

from .nodes import (
    Alloc,
    AllReduce,
    Assign,
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Exchange,
    Expr,
    GraphQuery,
    If,
    Kernel,
    Load,
    Loop,
    Refresh,
    Select,
    Store,
    TableRef,
    Un,
    Var,
)

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
    out: list[str] = []
    pad = "  " * depth
    for s in body:
        tail = f"  # line {s.loc.line}" if locs and s.loc is not None else ""
        if isinstance(s, Alloc):
            out.append(f"{pad}{s.table}[:] = {print_expr(s.fill)}{tail}")
        elif isinstance(s, Store):
            target = s.table if s.index is None else f"{s.table}[{print_expr(s.index)}]"
            op = "=" if s.op is None else f"{s.op}="
            flag = f" -> {s.flag}" if s.flag else ""
            out.append(f"{pad}{target} {op} {print_expr(s.value)}{flag}{tail}")
        elif isinstance(s, Assign):
            op = ":=" if s.op is None else f"{s.op}:="
            out.append(f"{pad}{s.name} {op} {print_expr(s.value)}{tail}")
        elif isinstance(s, If):
            out.append(f"{pad}if {print_expr(s.cond)}:{tail}")
            out.extend(print_stmts(s.then, depth + 1, locs) or [f"{pad}  pass"])
            if s.orelse:
                out.append(f"{pad}else:")
                out.extend(print_stmts(s.orelse, depth + 1, locs))
        elif isinstance(s, Loop):
            out.append(f"{pad}{_loop_header(s)} @{s.schedule}:{tail}")
            if s.locals:
                decl = ", ".join(f"{n}: {d}" for n, d in s.locals)
                out.append(f"{pad}  private {decl}")
            out.extend(print_stmts(s.body, depth + 1, locs) or [f"{pad}  pass"])
        elif isinstance(s, Exchange):
            flag = f" -> {s.flag}" if s.flag else ""
            out.append(f"{pad}exchange {s.table} {s.op}{flag}{tail}")
        elif isinstance(s, Refresh):
            out.append(f"{pad}refresh {s.table}{tail}")
        elif isinstance(s, AllReduce):
            out.append(f"{pad}allreduce {s.table} {s.op}{tail}")
        else:  # pragma: no cover - the verifier rejects unknown statements
            out.append(f"{pad}<{type(s).__name__}>")
    return out


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
    return _expr(e)[0]


def _expr(e: Expr) -> tuple[str, int]:
    if isinstance(e, Const):
        text = _literal(e.value)
        default = e.weak or e.dtype.is_bool or (e.dtype.name == "i64" and isinstance(
            e.value, int)) or (e.dtype.name == "f64" and isinstance(e.value, float))
        if not default:
            return f"{e.dtype}({text})", _ATOM
        if text.startswith("-"):
            return text, _PREC["neg"]
        return text, _ATOM
    if isinstance(e, Var):
        return e.name, _ATOM
    if isinstance(e, Load):
        if e.index is None:
            return e.table, _ATOM
        return f"{e.table}[{print_expr(e.index)}]", _ATOM
    if isinstance(e, TableRef):
        return e.table, _ATOM
    if isinstance(e, EdgeAttr):
        return f"{e.edge}.{e.attr}", _ATOM
    if isinstance(e, GraphQuery):
        return f"{e.fn}({', '.join(print_expr(a) for a in e.args)})", _ATOM
    if isinstance(e, Cast):
        return f"{e.dtype}({print_expr(e.a)})", _ATOM
    if isinstance(e, Select):
        p = _PREC["if"]
        return (f"{_wrap(e.a, p + 1)} if {_wrap(e.cond, p + 1)} else {_wrap(e.b, p)}", p)
    if isinstance(e, Un):
        if e.op == "abs":
            return f"abs({print_expr(e.a)})", _ATOM
        if e.op == "not":
            p = _PREC["not"]
            return f"not {_wrap(e.a, p)}", p
        p = _PREC["neg"] if e.op == "-" else _PREC["~"]
        return f"{e.op}{_wrap(e.a, p)}", p
    if isinstance(e, Bin):
        if e.op in ("min", "max"):
            return f"{e.op}({print_expr(e.a)}, {print_expr(e.b)})", _ATOM
        p = _PREC[e.op]
        if e.op == "**":  # right-associative
            return f"{_wrap(e.a, p + 1)} ** {_wrap(e.b, p)}", p
        if p == _PREC["<"]:  # comparisons do not chain in the IR: parenthesise nested ones
            return f"{_wrap(e.a, p + 1)} {e.op} {_wrap(e.b, p + 1)}", p
        return f"{_wrap(e.a, p)} {e.op} {_wrap(e.b, p + 1)}", p
    return f"<{type(e).__name__}>", _ATOM  # pragma: no cover


def _wrap(e: Expr, min_prec: int) -> str:
    text, p = _expr(e)
    return text if p >= min_prec else f"({text})"
