"""IR expressions as pipelined Amaranth logic, with exactly the interpreter's meaning.

``compile_rule(rule, env, stager)`` turns the per-edge statements of a rule into, per
reduction it makes, two staged values: the predicate under which the edge makes that
reduction, and the value it reduces (already converted to the target table's type).
Privates become wires (an assignment under an if becomes a multiplexer), ifs become
predicates.

Pipelining (``Stager``): every value carries the pipeline stage where it is valid and the
logic depth already spent in that stage, in rough units of one carry chain (``+ - < min``
cost 1, ``== !=`` 0.5, a multiplexer 0.25, and/or/not 0.1).  An operation that would push
a stage past ``LIMIT`` registers its operands into the next stage first; operands from
earlier stages are delayed to the later one.  Values that cannot change during a run
(scalar registers, constants) are *static*: an operation on statics only is computed once
and registered (a loop invariant hoisted out of the edge loop), so ``level + 1`` costs the
edges nothing.  The unit then sizes its forwarding to the stages the rules need.

Types: an integer of ``b`` bits is ``signed(b)``, a bool ``unsigned(1)``.  As in the
interpreter, integer ``+ - * << ~`` and negation wrap at the result's width (operands are
widened first, so Python's exact-then-wrap is reproduced), comparisons compare the exact
values (operands sign-extended to a common width), ``min(a, b)`` is ``b if b < a else a``,
and a value stored into a narrower table wraps.
"""

from __future__ import annotations

from amaranth import hdl
from amaranth.hdl import Cat, Mux, Signal, Value, signed, unsigned
from amaranth.hdl import Const as HConst

from cosynth import ops
from cosynth.dtypes import DType, f64, i64
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
    Loop,
    Select,
    Store,
    Un,
    Var,
)
from cosynth.ir.visit import Visitor
from cosynth.ir.walk import iter_stmts

from .kernel import NotEligible, Rule

__all__ = ["shape_of", "hw_dtype", "compile_rule", "compile_expr", "Env", "to_type", "SV",
           "Stager", "STATIC", "LIMIT"]


def shape_of(d: DType):
    """A value's hardware shape: floats (under a fixed-point policy) are 64-bit words."""
    return unsigned(1) if d.is_bool else signed(hw_dtype(d).bits)


def hw_dtype(d: DType) -> DType:
    """The integer type a unit computes ``d`` in: floats are fixed-point ``i64`` words
    (``cosynth.fixed``), everything else itself."""
    return i64 if d.is_float else d


def to_type(v: Value, src: DType, dst: DType, frac: int = 0) -> Value:
    """``v`` (of type ``src``) as a value of type ``dst``: wrap or extend; an integer or
    bool becoming a fixed-point float is scaled by ``2**frac`` (a shift, wrapping)."""
    if dst.is_bool:
        return v if src.is_bool else (v != 0)
    if dst.is_float and not src.is_float:
        w = hw_dtype(dst).bits
        x = _resize_unsigned(v, w) if src.is_bool else _wrap(v, w)
        return _wrap(x.shift_left(frac), w) if frac else x
    if src.is_float and not dst.is_float:  # pragma: no cover - kernel.py refuses it
        raise NotEligible("a conversion from fixed point to an integer")
    if src.is_bool:
        return _resize_unsigned(v, hw_dtype(dst).bits)
    return _wrap(v, hw_dtype(dst).bits)


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
    weight (all valid in the first evaluation stage), and scalar registers (static)."""

    def __init__(self, *, ids: dict, loads: dict, weight: Value | None, scalars: dict,
                 kernel):
        self.ids = ids  # 'src' / 'dst' -> unsigned address value
        self.loads = loads  # (table, endpoint) -> value of the table's shape
        self.weight = weight
        self.scalars = scalars  # name -> value (registers), including '__num_nodes'
        self.k = kernel
        #: fraction bits of the kernel's fixed-point policy (floats are words scaled by
        #: 2**frac); 0 without one
        self.frac = kernel.fixed.frac_bits if getattr(kernel, "fixed", None) else 0


_INT = i64  # comparisons of numbers: operands already extended to a common width
STATIC = -1
LIMIT = 1.25
_COST = {"carry": 1.0, "eq": 0.5, "mux": 0.25, "logic": 0.1, "wire": 0.0, "mul": 2.5}


class SV:
    """A staged value: ``value`` is valid in pipeline stage ``stage`` (``STATIC``: at all
    times during a run) after ``cost`` units of that stage's logic."""

    __slots__ = ("value", "stage", "cost")

    def __init__(self, value: Value, stage: int = 0, cost: float = 0.0):
        self.value, self.stage, self.cost = value, stage, cost


class Stager:
    """Creates the registers that align and split the evaluation (in ``module``'s sync
    domain: the pipeline advances every cycle)."""

    def __init__(self, module, prefix: str = "p"):
        self.m = module
        self.prefix = prefix
        self.count = 0
        self._cache: dict = {}
        self._keep: list = []  # the values keyed by id() in the cache stay alive
        self.inv_depth = 0  # registers in the longest chain of hoisted invariants
        self._inv: dict[int, int] = {}

    def reg(self, v: Value, name: str = "s") -> Value:
        self.count += 1
        r = Signal(v.shape(), name=f"{self.prefix}_{name}{self.count}")
        self.m.d.sync += r.eq(v)
        return r

    def at(self, sv: SV, stage: int) -> SV:
        """``sv`` delayed to ``stage`` (registers; shared between uses)."""
        if sv.stage == STATIC or sv.stage == stage:
            return sv
        assert sv.stage < stage, (sv.stage, stage)
        key = (id(sv.value), stage)
        if key not in self._cache:
            prev = self.at(sv, stage - 1) if stage - 1 > sv.stage else sv
            self._cache[key] = SV(self.reg(prev.value, "d"), stage, 0.0)
            self._keep.append(sv.value)
        return self._cache[key]

    def op(self, kind: str, fn, *args: SV) -> SV:
        """``fn(*values)`` costing ``_COST[kind]``, placed in the earliest stage where it
        fits after its operands."""
        cost = _COST[kind]
        dyn = [a.stage for a in args if a.stage != STATIC]
        if not dyn:  # loop invariant: computed once, registered, static again
            v = fn(*[a.value for a in args])
            depth = max((self._inv.get(id(a.value), 0) for a in args), default=0)
            if kind != "wire":
                v = self.reg(v, "inv")
                depth += 1
                self.inv_depth = max(self.inv_depth, depth)
            self._inv[id(v)] = depth
            self._keep.append(v)
            return SV(v, STATIC, 0.0)
        s = max(dyn)
        args = [self.at(a, s) for a in args]
        spent = max((a.cost for a in args if a.stage != STATIC), default=0.0)
        if spent > 0 and spent + cost > LIMIT:
            s += 1
            args = [self.at(a, s) for a in args]
            spent = 0.0
        return SV(fn(*[a.value for a in args]), s, spent + cost)


class _Rule(Visitor):
    """One rule's body as staged values: statement methods return the (predicate, value)
    of the store they reach (None when they reach none), expression methods the staged
    value and its type.  ``cond`` is the path condition of the statement being built."""

    def __init__(self, rule: Rule, env: Env, stager: Stager):
        self.r = rule
        self.stores: dict[str, tuple[SV, SV]] = {}  # table -> (predicate, value)
        self.env = env
        self.st = stager
        self.tables = env.k.table_map
        self.locals: dict[str, tuple[SV, DType]] = {}
        self.vend = {"out_edges": "src", "in_edges": "dst"}.get(rule.kind)
        self.cond = SV(HConst(1, 1), STATIC)

    # ------------------------------------------------------------ statements
    def run(self) -> list[tuple[str, SV, SV]]:
        self.block(self.r.body, self.cond)
        out = []
        for u in self.r.ups:
            if u.target not in self.stores:  # pragma: no cover - kernel.py found it
                raise NotEligible(f"the reduction into '{u.target}' is never reached")
            out.append((u.target, *self.stores[u.target]))
        return out

    def block(self, body, cond: SV):
        """Statements under the path condition ``cond``: a private assigned here becomes
        ``Mux(cond, new, old)`` (branches have exclusive conditions, so the nesting of
        those multiplexers is the if/else); returns (predicate, value) of the store."""
        found = (None, None)
        outer, self.cond = self.cond, cond
        try:
            for s in body:
                r = self.visit(s)
                if r is not None:
                    found = r
        finally:
            self.cond = outer
        return found

    def visit_Assign(self, s: Assign):
        op = self.st.op
        v, d = self.expr(s.value)
        want = self._local_dtype(s.name, d)
        f = self.env.frac
        v = op("wire", lambda x, d=d, want=want: to_type(x, d, want, f), v)
        if s.name in self.locals:
            v = op("mux", lambda c, a, b: Mux(c, a, b), self.cond, v, self.locals[s.name][0])
        self.locals[s.name] = (v, want)

    def visit_If(self, s: If):
        op, cond = self.st.op, self.cond
        c, d = self.expr(s.cond)
        if not d.is_bool:
            c = op("eq", lambda x: x != 0, c)
        p1 = self.block(s.then, op("logic", lambda a, b: a & b, cond, c))
        p2 = self.block(s.orelse, op("logic", lambda a, b: a & ~b, cond, c))
        found = None
        for p in (p1, p2):
            if p[0] is not None:
                found = p
        return found

    def visit_Store(self, s: Store):
        v, d = self.expr(s.value)
        dt = self.tables[s.table].dtype
        f = self.env.frac
        found = self.cond, self.st.op("wire", lambda x, d=d, dt=dt: to_type(x, d, dt, f), v)
        self.stores[s.table] = found
        return found

    def visit_Stmt(self, s):  # pragma: no cover - refused by kernel.py
        raise NotEligible(f"a {type(s).__name__} statement per edge")

    def _local_dtype(self, name: str, d: DType) -> DType:
        for s, _ in _iter_loops_locals(self.env.k):
            if s == name:
                return _
        return d

    # ----------------------------------------------------------- expressions
    def expr(self, e: Expr) -> tuple[SV, DType]:
        return self.visit(e)

    def visit_Const(self, e: Const):
        d = e.dtype
        if d.is_bool:
            return SV(HConst(1 if e.value else 0, 1), STATIC), d
        if d.is_float:  # a fixed-point word (kernel.py admits floats only under a policy)
            return SV(HConst(self.env.k.fixed.const(e.value), signed(64)), STATIC), d
        return SV(HConst(int(e.value), signed(d.bits)), STATIC), d

    def visit_Var(self, e: Var):
        if e.name in self.locals:
            return self.locals[e.name]
        if e.name == self.r.vertex and self.vend:
            return SV(_resize_unsigned(self.env.ids[self.vend], 64)), e.dtype
        return SV(self.env.scalars[e.name], STATIC), e.dtype

    def visit_EdgeAttr(self, e: EdgeAttr):
        return SV(_resize_unsigned(self.env.ids[e.attr], 64)), e.dtype

    def visit_Load(self, e: Load):
        t = self.tables[e.table]
        if t.role == "weight":
            return SV(self.env.weight), t.dtype
        if t.space == "scalar":
            return SV(self.env.scalars[e.table], STATIC), t.dtype
        ep = _endpoint(e.index, self.r, self.vend)
        return SV(self.env.loads[(e.table, ep)]), t.dtype

    def visit_GraphQuery(self, e: GraphQuery):
        return SV(self.env.scalars[f"__{e.fn}"], STATIC), e.dtype

    def visit_Bin(self, e: Bin):
        return self.bin(e), e.dtype

    def visit_Un(self, e: Un):
        op = self.st.op
        a, d = self.expr(e.a)
        spec = ops.unary(e.op)
        if e.op == "not" and not d.is_bool:
            return op("eq", lambda x: x == 0, a), e.dtype
        hd = hw_dtype(e.dtype)
        built = spec.rtl_builder(hd)
        if built is None:
            raise NotEligible(f"'{e.op}' on {e.dtype} has no hardware unit")
        cost, fn = built
        if e.dtype.is_bool:
            return op(cost, lambda x: fn(hdl, x), a), e.dtype
        if d != e.dtype:
            f = self.env.frac
            a = op("wire", lambda x, d=d: to_type(x, d, e.dtype, f), a)
        w = hd.bits
        x_w = w + 1 if cost == "carry" else w  # an extra bit holds - and abs exactly
        return op(cost, lambda x: _wrap(fn(hdl, _wrap(x, x_w)), w), a), e.dtype

    def visit_Select(self, e: Select):
        c, _ = self.expr(e.cond)
        a, da = self.expr(e.a)
        b, db = self.expr(e.b)
        f = self.env.frac
        return self.st.op("mux", lambda cc, x, y: Mux(cc, to_type(x, da, e.dtype, f),
                                                      to_type(y, db, e.dtype, f)), c, a, b), e.dtype

    def visit_Cast(self, e: Cast):
        a, d = self.expr(e.a)
        f = self.env.frac
        return self.st.op("wire", lambda x: to_type(x, d, e.dtype, f), a), e.dtype

    def visit_Expr(self, e: Expr):
        raise NotEligible(f"cannot build hardware for {type(e).__name__}")

    def bin(self, e: Bin) -> SV:
        op = self.st.op
        spec = ops.binary(e.op)
        a, da = self.expr(e.a)
        b, db = self.expr(e.b)
        if (da.is_float or db.is_float) and spec.group != "logic":
            # fixed point: integer operands are scaled into words first; then the
            # operator is the integer one on the words (kernel.py admits only those
            # for which that is exact: sums, differences, comparisons, min/max)
            f = self.env.frac
            if not da.is_float:
                a = op("wire", lambda x, d=da: to_type(x, d, f64, f), a)
            if not db.is_float:
                b = op("wire", lambda x, d=db: to_type(x, d, f64, f), b)
            da = db = i64
        if spec.group == "logic":
            _, fn = spec.rtl_builder(e.dtype)

            def logic(x, y):
                x = x if da.is_bool else (x != 0)
                y = y if db.is_bool else (y != 0)
                return fn(hdl, x, y)
            return op("logic", logic, a, b)
        if spec.group == "cmp":
            cost, fn = spec.rtl_builder(da if da.is_bool and db.is_bool else _INT)

            def cmp(x, y):
                if da.is_bool and db.is_bool:
                    x, y = x.as_unsigned(), y.as_unsigned()
                else:
                    w = max(_bits(da), _bits(db)) + 1
                    x, y = _ext(x, da, w), _ext(y, db, w)
                return fn(hdl, x, y)
            return op(cost, cmp, a, b)
        d = hw_dtype(e.dtype)
        built = spec.rtl_builder(d)
        if built is None:
            raise NotEligible(f"'{e.op}' has no hardware unit")
        cost, fn = built
        if d.is_bool:
            return op(cost, lambda x, y: fn(hdl, x, y), a, b)
        w = d.bits
        wide = max(w, _bits(da), _bits(db))

        def ext2(x, y):
            return _ext(x, da, wide), _ext(y, db, wide)
        if cost == "select":
            return self._select(fn, a, b, ext2, w)
        if spec.group == "shift":
            amount = int(e.b.value)
            if not 0 <= amount < w:
                raise NotEligible(f"a shift by {amount} outside 0..{w - 1}")
            return op(cost, lambda x, y: _wrap(fn(hdl, ext2(x, y)[0], amount), w), a, b)
        return op(cost, lambda x, y: _wrap(fn(hdl, *ext2(x, y)), w), a, b)

    def _select(self, pick, a: SV, b: SV, ext2, w) -> SV:
        """``min(a, b)`` is ``b if b < a else a`` (the table's ``pick``: take ``b``): a
        comparison (carry) then a multiplexer; the two may land in different stages."""
        op = self.st.op
        lt = op("carry", lambda x, y: pick(hdl, *ext2(x, y)), a, b)
        return op("mux", lambda c, x, y: _wrap(Mux(c, ext2(x, y)[1], ext2(x, y)[0]), w),
                  lt, a, b)


def _bits(d: DType) -> int:
    return 1 if d.is_bool else hw_dtype(d).bits


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
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop):
            yield from s.locals


def compile_expr(e: Expr, env: Env, stager: Stager) -> tuple[SV, DType]:
    """One expression outside any rule (its variables are ``env.scalars``), as a staged
    value and its type: how tests drive the datapath's operators directly."""
    rule = Rule("expr", "edges", "", None, (), "", "dst", "add", None)
    return _Rule(rule, env, stager).expr(e)


def compile_rule(rule: Rule, env: Env, stager: Stager) -> list[tuple[str, SV, SV]]:
    """(table, predicate, value) per reduction of one rule (``rule.ups`` order), as staged
    values: the edge reduces ``value`` into its entry of ``table`` when ``predicate``
    holds."""
    return _Rule(rule, env, stager).run()
