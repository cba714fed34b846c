"""C++ spellings of IR expressions, derived from the operator table (``cosynth.ops``).

``ExprSpeller`` is an IR ``Visitor`` whose ``visit_<Expr>`` methods return the C++ text
of an expression of the (mangled, see ``mangle``) blade program.  The text depends on
where the expression stands, which the loop emitter (``loops.LoopNests``) records on the
same object while it emits a nest:

* ``par``: the parallel loop being emitted (None outside one);
* ``atomic_tables``: tables some iteration of that loop reduces into at entries other
  iterations also reach: their entries are read with relaxed atomic ``load``s;
* ``snap``: tables a ``bsp`` loop reads from the copy taken before it (name -> copy);
* ``edge_kind``: for each edge variable in scope, its loop kind and the C++ variable
  holding the vertex whose edges it walks;
* ``hoisted``: entries of the running vertex read once before the edge loop being
  emitted, (table, vertex variable) -> the local holding it (``hoist.own_entries``).

Invariants: operands are converted to the operator's type before the table's spelling
is applied (``spell``); a table index that is not known to be in range is wrapped in the
runtime's ``check`` (failing with the kernel's line); float literals are exact hex.
"""

from __future__ import annotations

import math

from cosynth import ops
from cosynth.dtypes import DType, promote
from cosynth.errors import CosynthError
from cosynth.ir.nodes import (
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Expr,
    GraphQuery,
    Kernel,
    Load,
    Loop,
    Select,
    Un,
    Var,
)
from cosynth.ir.visit import Visitor
from cosynth.ir.walk import iter_stmts

__all__ = ["CodegenError", "ExprSpeller", "ctype", "literal", "identity", "reducer", "spell",
           "c_string"]


class CodegenError(CosynthError):
    """An IR construct the C++ backend does not support."""


def ctype(d: DType) -> str:
    """The C++ type of a cosynth dtype (bools are bytes)."""
    return {"i32": "int32_t", "i64": "int64_t", "f32": "float", "f64": "double",
            "bool": "uint8_t"}[d.name]


def identity(op: str, d: DType) -> str:
    """The reduction's identity (``cosynth.ops``) as a C++ literal."""
    return literal(ops.identity(op, d), d)


def reducer(op: str, shared: bool = False) -> str:
    """The runtime helper applying reduction ``op`` (``atomic_*`` when entries are
    shared between threads)."""
    r = ops.reduction(op)
    return r.cpp_atomic if shared else r.cpp_reduce


def spell(spec: ops.Op, d: DType, *operands: str, line: int = 0) -> str:
    """The table's C++ spelling of operator ``spec`` on operands of type ``d`` (operand
    texts already converted to ``d``)."""
    a = operands[0]
    b = operands[1] if len(operands) > 1 else ""
    return spec.cpp_spelling(d).format(a=a, b=b, c=ctype(d), line=line)


def literal(v, d: DType) -> str:
    """``v`` as a C++ literal of type ``d`` (the most negative integers spelled so that
    no literal overflows; floats as exact hex literals)."""
    if d.is_bool:
        return "1" if v else "0"
    if d.is_int:
        v = int(v)
        if d.bits == 64 and v == -(1 << 63):
            return "(-INT64_MAX - 1)"
        if d.bits == 32 and v == -(1 << 31):
            return "(-INT32_MAX - 1)"
        return f"INT64_C({v})" if d.bits == 64 else f"((int32_t){v})"
    v = float(v)
    if math.isnan(v):
        text = "NAN"
    elif math.isinf(v):
        text = "INFINITY" if v > 0 else "(-INFINITY)"
    else:
        text = v.hex()
    return f"((float){text})" if d.bits == 32 else text


def c_string(s: str) -> str:
    """``s`` for a C++ string literal (or a ``//`` comment): backslash, quote and control
    characters escaped (octal, which never swallows a following digit), so no path can end
    the literal or the comment line early."""
    return "".join("\\\\" if c == "\\" else '\\"' if c == '"' else
                   f"\\{ord(c):03o}" if ord(c) < 32 or ord(c) == 127 else c for c in s)


def _line(node) -> int:
    return node.loc.line if node.loc else 0


class ExprSpeller(Visitor):
    """The C++ text of expressions of the blade program ``k`` (see the module docstring
    for the state the loop emitter keeps here)."""

    def __init__(self, k: Kernel):
        self.k = k
        self.tables = k.table_map
        self.node_vars = {s.var for s in _node_loops(k)}  # always a vertex (clamped)
        self.par: Loop | None = None
        self.atomic_tables: set[str] = set()
        self.snap: dict[str, str] = {}
        self.edge_kind: dict[str, tuple[str, str]] = {}  # edge var -> (loop kind, of-var)
        self.hoisted: dict[tuple[str, str], str] = {}  # (table, vertex var) -> its local

    def expr(self, e: Expr) -> str:
        return self.visit(e)

    # ------------------------------------------------------------------ leaves
    def visit_Const(self, e: Const) -> str:
        return literal(e.value, e.dtype)

    def visit_Var(self, e: Var) -> str:
        return e.name

    def visit_Load(self, e: Load) -> str:
        t = self.tables[e.table]
        if t.space == "scalar":
            return e.table
        if t.role == "weight":
            return self.weight(e)  # the graph's weights, not a table of the program
        if isinstance(e.index, Var) and (e.table, e.index.name) in self.hoisted:
            return self.hoisted[(e.table, e.index.name)]  # read once for the row (hoist.py)
        idx = self.index(e.index, t, _line(e))
        src = self.snap.get(e.table, e.table)
        if self.par is not None and e.table in self.atomic_tables and e.table not in self.snap:
            return f"load(&{src}[{idx}])"
        return f"{src}[{idx}]"

    def visit_EdgeAttr(self, e: EdgeAttr) -> str:
        kind, of = self.edge_kind.get(e.edge, (None, None))
        if e.attr == "id":
            return e.edge
        if (kind, e.attr) in (("out_edges", "src"), ("in_edges", "dst")):
            return of
        if kind == "in_edges" and e.attr == "src":
            return f"G.global(G.in_src[{e.edge}__p - G.clo])"
        return f"G.edge_{e.attr}({e.edge})"

    def visit_GraphQuery(self, e: GraphQuery) -> str:
        args = [self.expr(a) for a in e.args]
        if e.fn == "num_nodes":
            return "n"
        if e.fn == "num_edges":
            return "m"
        if e.fn == "out_degree":
            return f"G.out_deg[{self.local_index(e.args[0], _line(e))}]"
        if e.fn == "in_degree":
            return f"G.in_deg[{self.local_index(e.args[0], _line(e))}]"
        return f"G.has_edge({self.vertex(e.args[0], args[0], e)}, " \
               f"{self.vertex(e.args[1], args[1], e)})"

    # ------------------------------------------------------------------ operators
    def visit_Bin(self, e: Bin) -> str:
        spec = ops.binary(e.op)
        if spec.group == "logic":
            return spell(spec, e.dtype, self.expr(e.a), self.expr(e.b))
        if spec.group == "cmp":
            common = e.a.dtype if e.a.dtype.is_bool else promote(e.a.dtype, e.b.dtype,
                                                                 e.a.weak, e.b.weak)
        else:
            common = e.dtype
        if not spec.admits(common):
            raise CodegenError(f"operator {e.op} on {common}")  # pragma: no cover
        c = ctype(common)
        return spell(spec, common, f"({c})({self.expr(e.a)})", f"({c})({self.expr(e.b)})",
                     line=_line(e))

    def visit_Un(self, e: Un) -> str:
        return spell(ops.unary(e.op), e.dtype, self.expr(e.a))

    def visit_Select(self, e: Select) -> str:
        c = ctype(e.dtype)
        return f"(({self.expr(e.cond)}) ? ({c})({self.expr(e.a)}) : ({c})({self.expr(e.b)}))"

    def visit_Cast(self, e: Cast) -> str:
        return ops.cpp_cast(e.a.dtype, e.dtype).format(
            a=self.expr(e.a), c=ctype(e.dtype), line=_line(e))

    def visit_Expr(self, e: Expr) -> str:
        raise CodegenError(f"expression {type(e).__name__} has no C++ form")

    # ------------------------------------------------------------------ indices
    def index(self, e: Expr, t, line: int) -> str:
        """An index into table ``t``: a node table's local id (``local_index``), an edge
        table's edge id checked against its size unless known in range."""
        if t.space == "node":
            return self.local_index(e, line)
        text = self.expr(e)
        if self.safe(e, t.space):
            return f"({text})"
        return f'check({text}, m, {line}, "edge id")'

    def local_index(self, e: Expr, line: int) -> str:
        """The local id (``cosynth_rt.hpp``'s ``Graph``) of the vertex ``e`` names: the
        one translation from global vertex ids to positions in node tables.  An endpoint
        of an edge reads the local id the shard stores; a node loop's vertex is in the
        blade's structure range; anything else is looked up (and checked)."""
        if isinstance(e, EdgeAttr) and e.attr in ("src", "dst"):
            kind, of = self.edge_kind.get(e.edge, (None, None))
            if (kind, e.attr) in (("out_edges", "src"), ("in_edges", "dst")):
                return f"({of} - G.glo)"
            if kind == "in_edges":
                return f"(int64_t)G.in_src[{e.edge}__p - G.clo]"
            return f"G.edge_{e.attr}_l({e.edge})"
        if isinstance(e, Var) and e.name in self.node_vars:
            return f"({e.name} - G.glo)"
        return f"G.local_at({self.expr(e)}, {line})"

    def safe(self, e: Expr, space: str) -> bool:
        """Is ``e`` always a valid index of the ``space`` (a vertex, or an edge id)?"""
        if space != "node":
            return isinstance(e, EdgeAttr) and e.attr == "id"
        if isinstance(e, EdgeAttr):
            return e.attr in ("src", "dst")
        if isinstance(e, Var):
            p = next((p for p in self.k.params if p.name == e.name), None)
            if p is not None and p.node:
                return True
            return e.name in self.node_vars
        return False

    def vertex(self, e: Expr, text: str, node) -> str:
        if self.safe(e, "node"):
            return text
        return f'check({text}, n, {_line(node)}, "vertex")'

    def weight(self, e: Load) -> str:
        d = self.tables["u_weight"].dtype
        idx = e.index
        if not (isinstance(idx, EdgeAttr) and idx.attr == "id"):
            raise CodegenError("the C++ backend reads edge weights only as e.weight",
                               loc=e.loc)
        kind, _ = self.edge_kind.get(idx.edge, (None, None))
        raw = f"G.in_w[{idx.edge}__p - G.clo]" if kind == "in_edges" else \
            f"G.weight({idx.edge})"
        # widened (or converted) to the kernel's weight type where it is loaded: the shard
        # may store the weights narrower (COSYNTH_WEIGHT, planner/narrow.py), exact then
        return f"(({ctype(d)}){raw})"


def _node_loops(k: Kernel) -> list[Loop]:
    return [s for s, _ in iter_stmts(k.body) if isinstance(s, Loop) and s.kind == "nodes"]
