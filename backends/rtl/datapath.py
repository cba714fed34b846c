"""IR expressions as Amaranth combinational logic, with exactly the interpreter's meaning.

``compile_rule(rule, env)`` turns the per-edge statements of a rule into three values:
the predicate under which the edge makes its reduction, and the value it reduces (already
converted to the target table's type).  Privates become wires (an assignment under an if
becomes a multiplexer), ifs become predicates; nothing is sequential.

Types: an integer of ``b`` bits is ``signed(b)``, a bool ``unsigned(1)``.  As in the
interpreter, integer ``+ - * << ~`` and negation wrap at the result's width (operands are
widened first, so Python's exact-then-wrap is reproduced), comparisons compare the exact
values (operands sign-extended to a common width), ``min(a, b)`` is ``b if b < a else a``,
and a value stored into a narrower table wraps.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Mux, Value, signed, unsigned
from amaranth.hdl import Const as HConst

from cosynth.dtypes import DType
from cosynth.ir.nodes import (
    Assign,
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Expr,
    GraphQuery,
    If,
    Load,
    Select,
    Store,
    Un,
    Var,
)

from .kernel import NotEligible, Rule

__all__ = ["shape_of", "compile_rule", "Env", "to_type"]


def shape_of(d: DType):
    return unsigned(1) if d.is_bool else signed(d.bits)


def to_type(v: Value, src: DType, dst: DType) -> Value:
    """``v`` (of type ``src``) as a value of type ``dst``: wrap or extend."""
    if dst.is_bool:
        return v if src.is_bool else (v != 0)
    if src.is_bool:
        return _resize_unsigned(v, dst.bits)
    return _wrap(v, dst.bits)


def _resize_unsigned(v: Value, bits: int) -> Value:
    """Zero-extend (or truncate) ``v`` to a signed value of ``bits`` bits."""
    if len(v) < bits:
        return Cat(v.as_unsigned(), HConst(0, bits - len(v))).as_signed()
    return v.as_unsigned()[:bits].as_signed()


def _wrap(v: Value, bits: int) -> Value:
    """Sign-extend or truncate a signed value to ``bits`` (two's complement wrap)."""
    if len(v) == bits:
        return v.as_signed()
    if len(v) < bits:
        s = v.as_signed()
        return Cat(s, s[-1].replicate(bits - len(s))).as_signed()
    return v[:bits].as_signed()


class Env:
    """What a rule's expressions read: endpoint ids, table entries at endpoints, the
    weight, and scalar registers."""

    def __init__(self, *, ids: dict, loads: dict, weight: Value | None, scalars: dict,
                 kernel):
        self.ids = ids  # 'src' / 'dst' -> unsigned address value
        self.loads = loads  # (table, endpoint) -> value of the table's shape
        self.weight = weight
        self.scalars = scalars  # name -> value (registers), including '__num_nodes'
        self.k = kernel


class _Rule:
    def __init__(self, rule: Rule, env: Env):
        self.r = rule
        self.env = env
        self.tables = env.k.table_map
        self.locals: dict[str, tuple[Value, DType]] = {}
        self.vend = {"out_edges": "src", "in_edges": "dst"}.get(rule.kind)

    # ------------------------------------------------------------ statements
    def run(self):
        pred, value = self.block(self.r.body, HConst(1, 1))
        if pred is None:
            raise NotEligible("the reduction is never reached")
        return pred, value

    def block(self, body, cond):
        """Statements under the path condition ``cond``: a private assigned here becomes
        ``Mux(cond, new, old)`` (branches have exclusive conditions, so the nesting of
        those multiplexers is the if/else); returns (predicate, value) of the store."""
        found = (None, None)
        for s in body:
            if isinstance(s, Assign):
                v, d = self.expr(s.value)
                want = self._local_dtype(s.name, d)
                v = to_type(v, d, want)
                if s.name in self.locals:
                    v = Mux(cond, v, self.locals[s.name][0])
                self.locals[s.name] = (v, want)
            elif isinstance(s, If):
                c, d = self.expr(s.cond)
                c = c if d.is_bool else (c != 0)
                for p in (self.block(s.then, cond & c), self.block(s.orelse, cond & ~c)):
                    if p[0] is not None:
                        found = p
            elif isinstance(s, Store):
                v, d = self.expr(s.value)
                found = (cond, to_type(v, d, self.tables[s.table].dtype))
            else:  # pragma: no cover - refused by kernel.py
                raise NotEligible(f"a {type(s).__name__} statement per edge")
        return found

    def _local_dtype(self, name: str, d: DType) -> DType:
        for s, _ in _iter_loops_locals(self.env.k):
            if s == name:
                return _
        return d

    # ----------------------------------------------------------- expressions
    def expr(self, e: Expr) -> tuple[Value, DType]:
        if isinstance(e, Const):
            d = e.dtype
            if d.is_bool:
                return HConst(1 if e.value else 0, 1), d
            return HConst(int(e.value), signed(d.bits)), d
        if isinstance(e, Var):
            if e.name in self.locals:
                return self.locals[e.name]
            if e.name == self.r.vertex and self.vend:
                return _resize_unsigned(self.env.ids[self.vend], 64), e.dtype
            return self.env.scalars[e.name], e.dtype
        if isinstance(e, EdgeAttr):
            return _resize_unsigned(self.env.ids[e.attr], 64), e.dtype
        if isinstance(e, Load):
            t = self.tables[e.table]
            if t.role == "weight":
                return self.env.weight, t.dtype
            if t.space == "scalar":
                return self.env.scalars[e.table], t.dtype
            ep = _endpoint(e.index, self.r, self.vend)
            return self.env.loads[(e.table, ep)], t.dtype
        if isinstance(e, GraphQuery):
            return self.env.scalars[f"__{e.fn}"], e.dtype
        if isinstance(e, Bin):
            return self.bin(e), e.dtype
        if isinstance(e, Un):
            a, d = self.expr(e.a)
            if e.op == "not":
                return (~a if d.is_bool else (a == 0)), e.dtype
            w = e.dtype.bits
            if e.op == "~":
                return _wrap(~_wrap(a, w), w), e.dtype
            x = _wrap(a, w + 1)
            if e.op == "-":
                return _wrap(-x, w), e.dtype
            return _wrap(Mux(x < 0, -x, x), w), e.dtype  # abs
        if isinstance(e, Select):
            c, _ = self.expr(e.cond)
            a, da = self.expr(e.a)
            b, db = self.expr(e.b)
            return Mux(c, to_type(a, da, e.dtype), to_type(b, db, e.dtype)), e.dtype
        if isinstance(e, Cast):
            a, d = self.expr(e.a)
            return to_type(a, d, e.dtype), e.dtype
        raise NotEligible(f"cannot build hardware for {type(e).__name__}")

    def bin(self, e: Bin) -> Value:
        op = e.op
        a, da = self.expr(e.a)
        b, db = self.expr(e.b)
        if op in ("and", "or"):
            a = a if da.is_bool else (a != 0)
            b = b if db.is_bool else (b != 0)
            return (a & b) if op == "and" else (a | b)
        if op in ("<", "<=", ">", ">=", "==", "!="):
            if da.is_bool and db.is_bool:
                x, y = a.as_unsigned(), b.as_unsigned()
            else:
                w = max(_bits(da), _bits(db)) + 1
                x, y = _ext(a, da, w), _ext(b, db, w)
            return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y,
                    "==": x == y, "!=": x != y}[op]
        d = e.dtype
        if d.is_bool:
            return {"&": a & b, "|": a | b, "^": a ^ b}[op]
        w = d.bits
        wide = max(w, _bits(da), _bits(db))
        x, y = _ext(a, da, wide), _ext(b, db, wide)
        if op == "+":
            return _wrap(x + y, w)
        if op == "-":
            return _wrap(x - y, w)
        if op == "*":
            return _wrap(x * y, w)
        if op in ("min", "max"):
            if op == "min":
                return _wrap(Mux(y < x, y, x), w)
            return _wrap(Mux(y > x, y, x), w)
        if op in ("&", "|", "^"):
            return _wrap({"&": x & y, "|": x | y, "^": x ^ y}[op], w)
        if op in ("<<", ">>"):
            amount = int(e.b.value)
            if not 0 <= amount < w:
                raise NotEligible(f"a shift by {amount} outside 0..{w - 1}")
            return _wrap(x << amount, w) if op == "<<" else _wrap(x >> amount, w)
        raise NotEligible(f"'{op}' has no hardware unit")


def _bits(d: DType) -> int:
    return 1 if d.is_bool else d.bits


def _ext(v: Value, d: DType, w: int) -> Value:
    """``v`` as a signed value of ``w`` bits (bools zero-extended)."""
    if d.is_bool:
        return _resize_unsigned(v, w)
    return _wrap(v, w)


def _endpoint(idx, r: Rule, vend):
    if isinstance(idx, EdgeAttr) and idx.edge == r.edge:
        return idx.attr
    if isinstance(idx, Var) and idx.name == r.vertex:
        return vend
    raise NotEligible("a vertex table read away from the edge's endpoints")


def _iter_loops_locals(k):
    from cosynth.ir.nodes import Loop
    from cosynth.ir.walk import iter_stmts
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop):
            yield from s.locals


def compile_rule(rule: Rule, env: Env) -> tuple[Value, Value]:
    """(predicate, value) of one rule: the edge reduces ``value`` into its target entry
    when ``predicate`` holds."""
    return _Rule(rule, env).run()
