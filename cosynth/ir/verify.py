"""The IR verifier: run between passes, it checks every invariant listed in ``nodes``.

A failure is a bug in a pass (or in hand-written IR), not a user mistake, so it raises
``VerifyError`` with the offending statement printed and its source location.
"""

from __future__ import annotations

from .. import dtypes as dt
from .. import ops
from ..dtypes import DType, boolean, f64, i64
from .nodes import (
    BIN_OPS,
    CMP_OPS,
    EDGE,
    GRAPH_FNS,
    LOOP_KINDS,
    REDUCE_OPS,
    SCHEDULES,
    UN_OPS,
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
from .visit import Visitor
from .walk import iter_stmts

__all__ = ["VerifyError", "verify", "reduce_op_allowed"]


class VerifyError(Exception):
    """The IR breaks an invariant: a bug in the pass that produced it."""


def reduce_op_allowed(op: str, dtype: DType) -> bool:
    """Whether ``t op= v`` is a reduction on ``dtype`` (the operator table admits it)."""
    r = ops.REDUCTIONS.get(op)
    return r is not None and r.admits(dtype)


def verify(k: Kernel) -> Kernel:
    """Check ``k``; return it unchanged so passes can chain ``verify(pass_(k))``."""
    _Verifier(k).run()
    return k


class _Verifier(Visitor):
    """Statement methods check a statement in the current context (``scope``: names ->
    dtypes; ``edges``: edge variables in scope; ``locals_``: privates of the enclosing
    loops; ``defined``: privates assigned on every path so far); expression methods
    return the dtype the expression computes."""

    def __init__(self, k: Kernel):
        self.k = k
        self._in_data_loop = False
        self.tables = {}
        for t in k.tables:
            if t.name in self.tables:
                self.fail(f"table '{t.name}' declared twice", t)
            if t.space not in ("node", "edge", "scalar") or t.role not in (
                    "local", "input", "weight"):
                self.fail(f"table '{t.name}' has space {t.space!r} role {t.role!r}", t)
            if t.role == "weight" and (t.name != "weight" or t.space != "edge"):
                self.fail("the weight table must be the edge table 'weight'", t)
            if t.role == "input" and t.space != "node":
                self.fail(f"input table '{t.name}' must be a node table", t)
            self.tables[t.name] = t
        self.params = {}
        for p in k.params:
            if p.name in self.params or p.name in self.tables and p.kind == "scalar":
                self.fail(f"parameter '{p.name}' clashes with another name", p)
            self.params[p.name] = p
            if p.kind == "array" and (p.name in self.tables) and \
                    self.tables[p.name].role != "input":
                self.fail(f"array parameter '{p.name}' must be an input table", p)
        self.scope = {p.name: p.dtype for p in k.params if p.kind in ("scalar", "shard")}
        self.edges: set = set()
        self.locals_: dict = {}
        self.defined: set = set()

    def fail(self, msg: str, node=None):
        loc = getattr(node, "loc", None)
        where = f" (at {loc})" if loc else ""
        raise VerifyError(f"kernel {self.k.name}: {msg}{where}\n  in: {node!r}"[:2000])

    def run(self):
        self.visit_body(self.k.body)
        if not self.k.returns:
            self.fail("a kernel returns at least one value")
        self.edges, self.defined = set(), set()
        for r in self.k.returns:
            if isinstance(r, TableRef):
                t = self.tables.get(r.table)
                if t is None or t.space == "scalar" or t.dtype != r.dtype:
                    self.fail(f"return of unknown or scalar table '{r.table}'", r)
            else:
                self.expr(r)

    # ------------------------------------------------------------------ statements
    def visit_Alloc(self, s: Alloc):
        t = self.table(s.table, s)
        if t.space == "scalar" or t.role != "local":
            self.fail(f"cannot allocate '{s.table}'", s)
        fd = self.expr(s.fill)
        if not dt.can_store(fd, t.dtype):
            self.fail(f"fill of type {fd} into {t.dtype} table", s)

    def visit_Assign(self, s: Assign):
        locals_ = self.locals_
        if s.name not in locals_:
            self.fail(f"assignment to '{s.name}', which is not a loop-private local", s)
        vd = self.expr(s.value)
        if not dt.can_store(vd, locals_[s.name]):
            self.fail(f"value of type {vd} assigned to {locals_[s.name]} local", s)
        if s.op is not None:
            if s.name not in self.defined:
                self.fail(f"reduction into '{s.name}' before it is assigned", s)
            if not reduce_op_allowed(s.op, locals_[s.name]):
                self.fail(f"reduction '{s.op}' on a {locals_[s.name]} local", s)
        self.defined.add(s.name)

    def visit_If(self, s: If):
        if self.expr(s.cond) != boolean:
            self.fail("if-condition is not bool", s)
        before = self.defined
        try:
            self.defined = set(before)
            self.visit_body(s.then, "then")
            a = self.defined
            self.defined = set(before)
            self.visit_body(s.orelse, "orelse")
            b = self.defined
        finally:
            self.defined = before
        self.defined = a & b

    def visit_Loop(self, s: Loop):
        if s.kind not in LOOP_KINDS:
            self.fail(f"unknown loop kind {s.kind!r}", s)
        if s.schedule not in SCHEDULES:
            self.fail(f"unknown schedule {s.schedule!r}", s)
        if (s.kind == "while") != (s.var is None):
            self.fail("a while loop has no variable; every other loop has one", s)
        if (s.kind in ("out_edges", "in_edges")) != (s.of is not None):
            self.fail("out_edges/in_edges loops (only) name the vertex 'of'", s)
        if (s.kind == "while") != (s.cond is not None):
            self.fail("while loops (only) have a condition", s)
        if s.kind == "range" and None in (s.start, s.stop, s.step):
            self.fail("a range loop needs start, stop and step", s)
        if s.kind not in ("range", "nodes", "edges") and (s.start or s.stop or s.step):
            self.fail(f"a {s.kind} loop has no bounds", s)
        if s.kind in ("nodes", "edges") and ((s.start is None) != (s.stop is None) or s.step):
            self.fail(f"a {s.kind} loop's bounds come as a pair (start, stop)", s)
        if s.locals and not s.is_data_loop:
            self.fail("only node/edge loops have private locals", s)
        for e in (s.of, s.start, s.stop, s.step):
            if e is not None and not self.expr(e).is_int:
                self.fail("loop bounds and vertices are ints", s)
        if s.cond is not None and self.expr(s.cond) != boolean:
            self.fail("while-condition is not bool", s)
        scope, edges, locals_ = self.scope, self.edges, self.locals_
        inner_scope = dict(scope)
        inner_edges = set(edges)
        if s.var is not None:
            if s.var in scope or s.var in self.tables or s.var in locals_:
                self.fail(f"loop variable '{s.var}' shadows another name", s)
            if s.is_edge_loop:
                inner_edges.add(s.var)
                inner_scope[s.var] = EDGE
            else:
                inner_scope[s.var] = i64
        inner_locals = dict(locals_)
        for name, d in s.locals:
            if name in inner_scope or name in self.tables or name in inner_locals:
                self.fail(f"private local '{name}' shadows another name", s)
            inner_locals[name] = d
        for name, d in s.locals:
            inner_scope[name] = d
        saved = (scope, edges, locals_, self.defined, self._in_data_loop)
        self.scope, self.edges, self.locals_ = inner_scope, inner_edges, inner_locals
        self.defined = set(self.defined) - {name for name, _ in s.locals}
        self._in_data_loop = self._in_data_loop or s.is_data_loop
        try:
            self.visit_body(s.body, "body", s)
        finally:
            self.scope, self.edges, self.locals_, self.defined, self._in_data_loop = saved

    def visit_Exchange(self, s: Exchange):
        t = self.comm(s)
        if not reduce_op_allowed(s.op, t.dtype):
            self.fail(f"exchange of '{s.table}' with '{s.op}'", s)
        if s.flag is not None:
            f = self.tables.get(s.flag)
            if f is None or f.space != "scalar" or not f.dtype.is_bool:
                self.fail(f"flag '{s.flag}' must be a bool scalar table", s)

    def visit_Refresh(self, s: Refresh):
        self.comm(s)

    def visit_AllReduce(self, s: AllReduce):
        t = self.comm(s, scalar=True)
        if t.space != "scalar" or not reduce_op_allowed(s.op, t.dtype):
            self.fail(f"allreduce of '{s.table}' with '{s.op}'", s)

    def comm(self, s, scalar: bool = False):
        """The table of a communication statement, checked where and what it sends."""
        if self.edges or self._in_data_loop:
            self.fail("communication statements run outside node/edge loops", s)
        if not any(p.kind == "shard" for p in self.k.params):
            self.fail("communication statements belong to blade programs (shard params)", s)
        t = self.table(s.table, s)
        if not scalar and (t.space == "scalar" or t.role != "local"):
            self.fail(f"'{s.table}' is not a node/edge table this blade writes", s)
        return t

    def visit_Store(self, s: Store):
        t = self.table(s.table, s)
        if t.role != "local":
            self.fail(f"store into read-only table '{s.table}'", s)
        if (s.index is None) != (t.space == "scalar"):
            self.fail(f"scalar tables (only) are stored without an index: '{s.table}'", s)
        if s.index is not None and not self.expr(s.index).is_int:
            self.fail("index is not an int", s)
        vd = self.expr(s.value)
        if not dt.can_store(vd, t.dtype):
            self.fail(f"value of type {vd} stored into {t.dtype} table '{s.table}'", s)
        if s.op is not None and (s.op not in REDUCE_OPS or not reduce_op_allowed(s.op, t.dtype)):
            self.fail(f"reduction '{s.op}' on a {t.dtype} table", s)
        if s.flag is not None:
            f = self.tables.get(s.flag)
            if s.op is None or f is None or f.space != "scalar" or not f.dtype.is_bool \
                    or s.flag == s.table:
                self.fail(f"flag '{s.flag}' must be another bool scalar table, on a reduction",
                          s)

    def visit_Stmt(self, s):
        self.fail(f"unknown statement {type(s).__name__}", s)

    def table(self, name: str, node):
        t = self.tables.get(name)
        if t is None:
            self.fail(f"unknown table '{name}'", node)
        return t

    # ------------------------------------------------------------------ expressions
    def expr(self, e: Expr) -> DType:
        """The dtype ``e`` computes in the current context, which must be the one it
        carries."""
        d = self.visit(e)
        if getattr(e, "dtype", d) != d:
            self.fail(f"expression typed {e.dtype} but computes {d}", e)
        return d

    def visit_Const(self, e: Const) -> DType:
        if e.dtype.is_bool != isinstance(e.value, bool):
            self.fail("constant value and dtype disagree", e)
        return e.dtype

    def visit_Var(self, e: Var) -> DType:
        scope = self.scope
        if e.name not in scope:
            self.fail(f"'{e.name}' is not in scope", e)
        if scope[e.name] != e.dtype:
            self.fail(f"'{e.name}' is {scope[e.name]}, read as {e.dtype}", e)
        is_local = e.name not in self.params and e.dtype != EDGE
        if is_local and e.name not in self.defined and not self._is_loop_var(e.name, scope):
            self.fail(f"private '{e.name}' read before it is assigned", e)
        return e.dtype

    def visit_Load(self, e: Load) -> DType:
        t = self.table(e.table, e)
        if (e.index is None) != (t.space == "scalar"):
            self.fail(f"scalar tables (only) are read without an index: '{e.table}'", e)
        if e.index is not None and not self.expr(e.index).is_int:
            self.fail("index is not an int", e)
        if t.dtype != e.dtype:
            self.fail(f"load of '{e.table}' typed {e.dtype}, table is {t.dtype}", e)
        return t.dtype

    def visit_EdgeAttr(self, e: EdgeAttr) -> DType:
        if e.edge not in self.edges or e.attr not in ("src", "dst", "id"):
            self.fail(f"'{e.edge}.{e.attr}' is not an edge field in scope", e)
        return i64

    def visit_Un(self, e: Un) -> DType:
        a = self.expr(e.a)
        if e.op not in UN_OPS:
            self.fail(f"unknown unary operator {e.op!r}", e)
        if e.op == "not":
            if a != boolean:
                self.fail("'not' of a non-bool", e)
            return boolean
        if a.is_bool or a == EDGE or (e.op == "~" and not a.is_int):
            self.fail(f"'{e.op}' of a {a}", e)
        return a

    def visit_Select(self, e: Select) -> DType:
        if self.expr(e.cond) != boolean:
            self.fail("select condition is not bool", e)
        a = self.expr(e.a)
        b = self.expr(e.b)
        if a.is_bool != b.is_bool:
            self.fail("select branches of different kinds", e)
        return e.dtype if (dt.can_store(a, e.dtype) and dt.can_store(b, e.dtype)) else \
            self.fail("select branches do not fit its type", e)

    def visit_Cast(self, e: Cast) -> DType:
        a = self.expr(e.a)
        if a == EDGE or a.is_bool or e.dtype.is_bool:
            self.fail(f"cast from {a} to {e.dtype}", e)
        return e.dtype

    def visit_GraphQuery(self, e: GraphQuery) -> DType:
        if GRAPH_FNS.get(e.fn) != len(e.args):
            self.fail(f"graph query {e.fn} with {len(e.args)} arguments", e)
        for a in e.args:
            if not self.expr(a).is_int:
                self.fail("graph query arguments are vertices (ints)", e)
        return e.dtype

    def visit_TableRef(self, e: TableRef):
        self.fail("a whole table can only be returned", e)

    def visit_Expr(self, e):
        self.fail(f"unknown expression {type(e).__name__}", e)

    def generic_visit(self, node):
        self.fail(f"unknown IR node {type(node).__name__}", node)

    def _is_loop_var(self, name, scope) -> bool:
        return name in scope and name not in self._all_locals()

    def _all_locals(self):
        if not hasattr(self, "_locals_cache"):
            names = set()
            for s, _ in iter_stmts(self.k.body):
                if isinstance(s, Loop):
                    names.update(n for n, _ in s.locals)
            self._locals_cache = names
        return self._locals_cache

    def visit_Bin(self, e: Bin) -> DType:
        if e.op not in BIN_OPS:
            self.fail(f"unknown operator {e.op!r}", e)
        a = self.expr(e.a)
        b = self.expr(e.b)
        if EDGE in (a, b):
            self.fail("edge in arithmetic", e)
        if e.op in ("and", "or"):
            if a != boolean or b != boolean:
                self.fail(f"'{e.op}' of non-bools", e)
            return boolean
        if e.op in CMP_OPS:
            if a.is_bool != b.is_bool or (a.is_bool and e.op not in ("==", "!=")):
                self.fail(f"comparison '{e.op}' of {a} and {b}", e)
            return boolean
        if e.op in ("&", "|", "^"):
            if a.is_bool and b.is_bool:
                return boolean
            if not (a.is_int and b.is_int):
                self.fail(f"'{e.op}' of {a} and {b}", e)
            return e.dtype
        if e.op in ("<<", ">>"):
            if not (a.is_int and b.is_int):
                self.fail(f"'{e.op}' of {a} and {b}", e)
            return e.dtype
        if a.is_bool or b.is_bool:
            self.fail(f"arithmetic '{e.op}' on bool", e)
        want = dt.promote(a, b, e.a.weak, e.b.weak)
        if e.op == "/" and want.is_int:
            want = f64
        return want
