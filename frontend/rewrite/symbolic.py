"""Symbolic execution of one iteration of a node/edge loop, for the rules' proofs.

The model: every node/edge table is a Z3 function of its index (so two reads of the same
entry are the same value, whichever iteration makes them); a scalar table or parameter is
a constant; the graph is a set of functions (``src(id)``, ``dst(id)``, degrees,
``has_edge``).  An iteration is identified by a *tag*: its loop variable, the edges of
its nested loops and its privates are fresh per tag, everything else is shared.

``effects(loop, view)`` runs the loop body once and returns every write as an ``Effect``:
the statement, the path condition under which it happens, its index and value.  Privates
are tracked exactly (with if-merges); a nested node/edge loop is executed for one
arbitrary iteration of its own.

A write followed by a read of the same table in the same iteration is modelled exactly:
the table becomes ``If(index == written, new value, old value)`` for later reads.  The
state reads see is otherwise universally quantified, which is what makes one arbitrary
iteration (and one arbitrary iteration of a nested loop) stand for all of them.

Unmodelled cases raise ``Unsupported`` (and the rule refuses, saying why): a while or
range loop inside the iteration, an enclosing loop's private written inside a nested
loop, a read of a table after a nested loop that wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from cosynth.dtypes import i64
from cosynth.ir.nodes import (
    Alloc,
    Assign,
    EdgeAttr,
    Expr,
    GraphQuery,
    If,
    Kernel,
    Load,
    Loop,
    Store,
    Var,
)
from cosynth.ir.printer import print_expr
from cosynth.ir.visit import Visitor

from .bounds import HYPOTHESIS, value_hypothesis
from .deps import loop_vars_inside
from .smt import Encoder, Unsupported, apply_op, fresh, not_nan, sort_of

__all__ = ["Effect", "Universe", "View", "effects"]


@dataclass
class Effect:
    stmt: Store
    cond: object  # z3 Bool
    index: object | None
    value: object  # in the value's own dtype
    op: str | None
    table: str


@dataclass
class Universe:
    """Symbols shared by every execution in one proof."""

    k: Kernel
    consts: dict = field(default_factory=dict)
    funs: dict = field(default_factory=dict)
    hyps: list = field(default_factory=list)
    policies: list = field(default_factory=list)
    counters: dict = field(default_factory=dict)
    shown: dict = field(default_factory=dict)  # readable name -> term, for counterexamples
    value_bound: bool = False  # assume bounds.value_hypothesis of every table entry read

    def bounded(self, t, term) -> None:
        """Under the value-bound assumption, ``term`` (an entry of table ``t``) obeys it."""
        if not self.value_bound:
            return
        h = value_hypothesis(t, term)
        if h is not None:
            self.hyps.append(h)
            if HYPOTHESIS not in self.policies:
                self.policies.append(HYPOTHESIS)

    def const(self, key: str, d):
        if key not in self.consts:
            c = fresh(key, d)
            self.consts[key] = c
            if d.is_float:
                self.hyps.append(not_nan(c, d))
            if d.is_int and key in self.counters:
                lo = self.counters[key]
                self.hyps += [c >= lo, c < (1 << (d.bits - 2))]
                self.policies.append(f"counter-bound({key} < 2**{d.bits - 2})")
        return self.consts[key]

    def fun(self, key: str, arg_sorts: tuple, d):
        if key not in self.funs:
            self.funs[key] = z3.Function(f"{key}!{len(self.funs)}", *arg_sorts, sort_of(d))
        return self.funs[key]

    def table(self, name: str):
        t = self.k.table_map[name]
        return self.fun("table:" + name, (z3.BitVecSort(64),), t.dtype)


class View(Visitor):
    """How one execution sees the universe: its iteration tag, and table overrides
    (``overrides[name](index_term, base_value) -> value``)."""

    def __init__(self, uni: Universe, loop: Loop, tag: str, overrides=None):
        self.uni = uni
        self.loop = loop
        self.tag = tag
        self.inner = loop_vars_inside(loop)
        self.bind: dict[str, tuple[str, object]] = {}
        self.overrides = dict(overrides or {})
        self.reads: list = []  # (table, index term, value term) in evaluation order

    enc: Encoder | None = None  # the encoder of the expression being converted

    def __call__(self, e: Expr, enc: Encoder):
        """The term of the leaf ``e`` (its operators are ``enc``'s business)."""
        outer, self.enc = self.enc, enc
        try:
            return self.visit(e)
        finally:
            self.enc = outer

    def visit_Var(self, e: Var):
        u = self.uni
        key = f"{e.name}@{self.tag}" if e.name in self.inner else e.name
        c = u.const(key, e.dtype if e.dtype.kind != "edge" else i64)
        if e.name in self.inner and e.dtype.is_int and e.weak and \
                e.name not in dict(self.loop.locals):
            u.hyps.append(c >= 0)  # a vertex or counter of a loop inside
        return c

    def visit_Load(self, e: Load):
        u, enc = self.uni, self.enc
        t = u.k.table_map[e.table]
        if e.index is None:
            base = u.const(e.table, t.dtype)
            idx = None
        else:
            idx = enc.convert(enc.expr(e.index), e.index.dtype, i64)
            base = u.table(e.table)(idx)
            if t.dtype.is_float:
                u.hyps.append(not_nan(base, t.dtype))
            u.bounded(t, base)
        v = self.overrides[e.table](idx, base) if e.table in self.overrides else base
        self.reads.append((e.table, idx, v))
        name = print_expr(e) + ("'" if self.tag == "other" else "")
        u.shown.setdefault(name, base)
        return v

    def visit_EdgeAttr(self, e: EdgeAttr):
        u = self.uni
        eid = u.const(f"{e.edge}.id@{self.tag}" if e.edge in self.inner else
                      f"{e.edge}.id", i64)
        u.hyps.append(eid >= 0)
        if e.attr == "id":
            return eid
        kind, of = self.bind.get(e.edge, (None, None))
        if (kind, e.attr) in (("out_edges", "src"), ("in_edges", "dst")):
            return of
        end = u.fun("graph:" + e.attr, (z3.BitVecSort(64),), i64)(eid)
        u.hyps.append(end >= 0)
        return end

    def visit_GraphQuery(self, e: GraphQuery):
        u, enc = self.uni, self.enc
        if not e.args:
            c = u.const("graph:" + e.fn, i64)
            u.hyps.append(c >= 0)
            return c
        args = [enc.convert(enc.expr(a), a.dtype, i64) for a in e.args]
        f = u.fun("graph:" + e.fn, tuple(z3.BitVecSort(64) for _ in args), e.dtype)
        r = f(*args)
        if e.fn != "has_edge":
            u.hyps.append(r >= 0)
        return r

    def generic_visit(self, e):
        raise Unsupported(f"leaf {type(e).__name__}")


def effects(loop: Loop, view: View, locals_: dict, rounding_lemma: bool = False,
            enc: Encoder | None = None, after_nested: str = "refuse") -> list[Effect]:
    """Effects of one iteration of ``loop`` as ``view`` sees it.

    ``after_nested`` says what a read of a table after a nested loop wrote it sees:
    ``refuse`` (raise Unsupported) or ``fresh`` (a new unconstrained state, distinct per
    view: sound for monotonicity, where the two states are then related by hypothesis).
    """
    saved = dict(view.overrides)
    ex = _Exec(view, locals_, rounding_lemma, enc)
    ex.after_nested = after_nested
    if loop.is_edge_loop and loop.of is not None:
        view.bind[loop.var] = (loop.kind, ex.enc.convert(ex.enc.expr(loop.of), loop.of.dtype,
                                                         i64))
    try:
        ex.block(loop.body, {}, z3.BoolVal(True), owned={n for n, _ in loop.locals})
    finally:
        view.overrides = saved
    return ex.out


class _Exec(Visitor):
    """Runs statements symbolically: each method executes one statement."""

    benv: dict | None = None  # the privates of the block being executed
    cond = None  # its path condition
    owned: frozenset | set = frozenset()  # the privates it may write

    def __init__(self, view: View, locals_: dict, rounding_lemma: bool, enc):
        self.view = view
        self.locals = dict(locals_)
        self.out: list[Effect] = []
        self.env: dict = {}
        self.enc = enc or Encoder(None, rounding_lemma=rounding_lemma)
        self.written_nested: set[str] = set()
        self.depth = 0
        self.enc.leaf = self.visit  # the encoder asks for the terms of leaves

    # ---------------------------------------------------------------- leaves
    def visit_Var(self, e: Var):
        if e.name in self.env:
            return self.env[e.name]  # a private assigned in this iteration
        return self.view(e, self.enc)

    def visit_Load(self, e: Load):
        if e.table in self.written_nested:
            raise Unsupported(f"'{e.table}' is read after a nested loop wrote it")
        return self.view(e, self.enc)

    def visit_Expr(self, e: Expr):
        return self.view(e, self.enc)

    def expr(self, e: Expr):
        return self.enc.expr(e)

    # ------------------------------------------------------------ statements
    def block(self, body, env: dict, cond, owned: set):
        """Execute ``body`` with privates ``env`` (updated in place), under the path
        condition ``cond``, where ``owned`` are the privates this iteration may write."""
        saved = (self.benv, self.cond, self.owned)
        self.benv, self.cond, self.owned = env, cond, owned
        try:
            for s in body:
                self.env = env
                self.visit(s)
        finally:
            self.benv, self.cond, self.owned = saved

    def visit_Assign(self, s: Assign):
        env = self.benv
        if s.name not in self.owned:
            raise Unsupported(f"'{s.name}' belongs to an enclosing loop and is "
                              "written inside a nested loop")
        d = self.locals[s.name]
        v = self.enc.convert(self.expr(s.value), s.value.dtype, d)
        if s.op is not None:
            if s.name not in env:
                raise Unsupported(f"'{s.name}' is reduced before it is assigned")
            v = apply_op(s.op, env[s.name], v, d)
        env[s.name] = v

    def visit_Store(self, s: Store):
        idx = None if s.index is None else self.enc.convert(
            self.expr(s.index), s.index.dtype, i64)
        val = self.expr(s.value)
        self.out.append(Effect(s, self.cond, idx, val, s.op, s.table))
        self._land(s, self.cond, idx, val)

    def visit_If(self, s: If):
        env, cond = self.benv, self.cond
        c = self.expr(s.cond)
        e1, e2 = dict(env), dict(env)
        self.block(s.then, e1, z3.And(cond, c), self.owned)
        self.block(s.orelse, e2, z3.And(cond, z3.Not(c)), self.owned)
        for name in set(e1) & set(e2):
            env[name] = e1[name] if e1[name].eq(e2[name]) else \
                z3.If(c, e1[name], e2[name])
        self.env = env

    def visit_Loop(self, s: Loop):
        env = self.benv
        if not s.is_data_loop:
            raise Unsupported(f"a {s.kind} loop inside the iteration")
        if s.of is not None:
            self.view.bind[s.var] = (s.kind, self.enc.convert(
                self.expr(s.of), s.of.dtype, i64))
        inner = dict(env)
        for name, d in s.locals:
            self.locals[name] = d
        before = dict(self.view.overrides)
        self.depth += 1
        self.block(s.body, inner, self.cond, self.owned | {n for n, _ in s.locals})
        self.depth -= 1
        # after the loop the tables it wrote hold all its iterations' writes
        changed = [name for name, f in self.view.overrides.items()
                   if before.get(name) is not f]
        self.view.overrides = before
        for name in changed:
            if self.after_nested == "fresh":
                self.view.overrides[name] = self._epoch(name)
            else:
                self.written_nested.add(name)
        self.env = env

    def visit_Alloc(self, s: Alloc):
        raise Unsupported(f"'{s.table}' is re-initialised inside the loop")

    def generic_visit(self, s):
        raise Unsupported(f"{type(s).__name__} inside the iteration")

    def _epoch(self, name: str):
        u = self.view.uni
        t = u.k.table_map[name]
        self.epochs = getattr(self, "epochs", 0) + 1
        key = f"after-loop{self.epochs}:{name}:{id(self.view)}"
        if t.space == "scalar":
            c = u.const(key, t.dtype)
            return lambda i, cur: c
        f = u.fun(key, (z3.BitVecSort(64),), t.dtype)
        return lambda i, cur: f(i)

    def _land(self, s: Store, cond, idx, val):
        """Later reads in this iteration see the write (and a change flag it sets)."""
        t = self.view.uni.k.table_map[s.table]
        v = self.enc.convert(val, s.value.dtype, t.dtype)
        prev = self.view.overrides.get(s.table)

        def read(i, cur, prev=prev):
            old = prev(i, cur) if prev is not None else cur
            new = v if s.op is None else apply_op(s.op, old, v, t.dtype)
            hit = cond if idx is None else z3.And(cond, i == idx)
            return z3.If(hit, new, old)
        self.view.overrides[s.table] = read
        if s.flag is not None:
            fprev = self.view.overrides.get(s.flag)

            def fread(i, cur, fprev=fprev, prev=prev):
                old = fprev(i, cur) if fprev is not None else cur
                entry = self.view.uni.table(s.table)(idx) if idx is not None else \
                    self.view.uni.const(s.table, t.dtype)
                before = prev(idx, entry) if prev is not None else entry
                changed = z3.Not(apply_op(s.op, before, v, t.dtype) == before) \
                    if not t.dtype.is_float else z3.Not(z3.fpEQ(
                        apply_op(s.op, before, v, t.dtype), before))
                return z3.Or(old, z3.And(cond, changed))
            self.view.overrides[s.flag] = fread
