"""Vectorised execution of parallel loop nests (``par``, ``bsp``, ``async``) with NumPy.

A loop nest whose loops were all proved order-independent runs statement by statement
over *lanes*: one lane per iteration of the outer loop, and for a nested edge loop one
lane per (outer lane, edge) pair, laid out by CSR/CSC expansion.  ``if`` narrows the set
of active lanes; a reduction is a scatter with the operator's ``ufunc.at`` (or one
reduction per lane group when it lands on the enclosing loop's own vertex); a change flag
is set when any touched entry changed.

Why this equals the sequential meaning: every statement runs for all lanes before the
next, which is one particular order of the iterations' steps.  For ``par`` loops the
rewrite proved every order gives the same result; ``bsp`` loops read the tables they
write from a snapshot taken before the sweep; ``async`` loops may see any mix of old
and new values, and this order is one of them.  Integer arithmetic wraps as NumPy arrays
do; a float sum reduced in another order is what the ``reassociate-float-sums`` policy
allows.  Runtime errors (integer division by zero, an index out of range) are reported
with the kernel's line, as the scalar interpreter does.

Worklist: an ``async`` node loop whose writes are all min/max/or/and reductions (the
relaxation the ``relax`` rule proved monotone over a semilattice), which reads those
tables only at its own vertex, and otherwise reads only data no statement of the kernel
writes, re-runs only the vertices whose own entries changed since its previous sweep.
A skipped vertex would recompute contributions it already applied, and re-applying a
contribution to an entry that since only improved is a no-op (idempotence).  If any
entry moved the other way between sweeps (the state was reset), every vertex runs.

``vector_loop(compiler, loop)`` returns a runner, or ``None`` when the nest has something
lanes cannot express (a while/range loop, a nested loop over all nodes or edges, a store
to a shared scalar, a seq loop inside), in which case the scalar interpreter runs it.

The runner is a ``cosynth.ir.visit.Visitor``: ``visit_<Stmt>`` executes a statement and
``visit_<Expr>`` returns an expression's values, both on the lanes ``self.at`` names (a
level and its active lanes), which ``block`` and ``ev`` set for the nodes they visit and
restore afterwards.  In a blade run, reductions into entries another blade owns go to
the blade's outbox (``cosynth.ir.collectives.BladeSide.buffer``).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..dtypes import DType, promote
from .changed import changed
from .nodes import (
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
from .visit import Visitor
from .walk import iter_exprs, iter_stmts, read_and_written, stmt_exprs

__all__ = ["vector_loop", "vectorizable"]

_UFUNC = {name: r.ufunc for name, r in ops.REDUCTIONS.items()}
# does contribution v change entry t under the operator (the IR's min: v if v < t else t)
_IMPROVES = {name: r.improves for name, r in ops.REDUCTIONS.items() if r.improves}


def vectorizable(loop: Loop) -> str:
    """Why the nest cannot run as lanes ("" if it can)."""
    if not loop.is_data_loop or loop.schedule == "seq":
        return "not a parallel node/edge loop"
    if loop.kind in ("out_edges", "in_edges") and loop.of is None:
        return "edge loop without a vertex"
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Loop):
            if not s.is_data_loop:
                return f"a {s.kind} loop inside"
            if s.kind in ("nodes", "edges"):
                return f"a loop over all {s.kind} inside"
            if s.schedule == "seq":
                return "a sequential loop inside"
        elif not isinstance(s, Store | Assign | If):
            return f"{type(s).__name__} inside"
    return ""


class _Level:
    """One loop level of lanes: its loop variable(s), privates, and the map to parents."""

    def __init__(self, size: int, parent: _Level | None, parent_idx):
        self.size = size
        self.parent = parent
        self.parent_idx = parent_idx  # lane -> parent lane
        self.vals: dict[str, np.ndarray] = {}
        self.edge: str | None = None  # the edge variable bound at this level
        self.loop_name: str | None = None  # the loop variable of this level

    def lookup(self, name: str):
        """(level, array) holding ``name``, or (None, None)."""
        lv = self
        while lv is not None:
            if name in lv.vals:
                return lv, lv.vals[name]
            lv = lv.parent
        return None, None

    def lanes_of(self, ancestor: _Level, A: np.ndarray) -> np.ndarray:
        """For active lanes ``A`` of this level, the corresponding lanes of ``ancestor``."""
        lv, idx = self, A
        while lv is not ancestor:
            idx = take(lv.parent_idx, idx)
            lv = lv.parent
        return idx


class _VecLoop(Visitor):
    def __init__(self, comp, loop: Loop):
        self.c = comp
        self.loop = loop
        self.graph = comp.g
        self.n, self.m = comp.n, comp.m
        self.indptr = comp.g.out_indptr
        self.in_indptr = comp.g.in_indptr
        self.in_eid = comp.g.in_eid
        self.src = comp.g.edge_src
        self.dst = comp.g.out_dst
        self.deg = np.diff(self.indptr)
        self.indeg = np.diff(self.in_indptr)
        self.local_dtype = {n: d for s, _ in iter_stmts([loop]) if isinstance(s, Loop)
                            for n, d in s.locals}
        self.snapshot: dict[str, np.ndarray] = {}
        self.side = comp.side if comp.in_projected else None  # this blade's outbox
        self.worklist = _worklist_plan(comp, loop)
        self.memory = None
        self.at: tuple = (None, None)  # (level, active lanes) of the node being visited
        self._declaring_loops: dict[str, set] = {}  # private -> vars of loops declaring it
        for s, _ in iter_stmts([loop]):
            if isinstance(s, Loop):
                for n, _d in s.locals:
                    self._declaring_loops.setdefault(n, set()).add(s.var)

    # ------------------------------------------------------------------ driver
    def run(self, F):
        c, loop = self.c, self.loop
        self.F = F
        if loop.schedule == "bsp":
            self.snapshot = {t: c.data[t].copy() for t in read_and_written(loop)
                             if c.tables[t].space != "scalar"}
        with np.errstate(all="ignore"):
            if loop.kind in ("nodes", "edges"):
                lo, hi = 0, self.n
                if loop.start is not None:
                    lo = max(int(c.expr(loop.start)(F)), 0)
                    hi = min(int(c.expr(loop.stop)(F)), self.n)
                    hi = max(hi, lo)
                first = lo if loop.kind == "nodes" else int(self.indptr[lo])
                last = hi if loop.kind == "nodes" else int(self.indptr[hi])
                lanes = iota(last) if first == 0 else np.arange(first, last, dtype=np.int64)
                top = _Level(len(lanes), None, None)
                top.loop_name = loop.var
                top.vals[loop.var] = lanes
                if loop.kind == "edges":
                    top.edge = loop.var
                active = iota(len(lanes))
                if self.worklist is not None:
                    active = self._worklist_lanes(lo, hi, active)
                self.block(loop.body, top, active)
                if self.worklist is not None:
                    self.memory = (lo, hi, self._start, {t: c.data[t].copy()
                                                         for t in self.worklist})
            else:
                x = int(c.expr(loop.of)(F))
                if not 0 <= x < self.n:
                    c.error(loop, f"vertex {x} is out of range ({self.n} vertices)")
                top = _Level(1, None, None)
                top.loop_name = None
                self.expand(loop, top, np.arange(1), np.array([x], dtype=np.int64))
        self.F = None

    def _worklist_lanes(self, lo: int, hi: int, all_lanes: np.ndarray) -> np.ndarray:
        data = self.c.data
        self._start = {t: data[t][lo:hi].copy() for t in self.worklist}
        mem = self.memory
        if mem is None or mem[0] != lo or mem[1] != hi:
            return all_lanes
        _, _, start, end = mem
        for t, op in self.worklist.items():
            if _IMPROVES[op](end[t], data[t]).any():  # moved against the operator: reset
                return all_lanes
        changed = np.zeros(hi - lo, dtype=bool)
        for t in self.worklist:
            changed |= self._start[t] != start[t]
        return np.flatnonzero(changed)

    # ------------------------------------------------------------------ statements
    def block(self, body, lv: _Level, A: np.ndarray):
        """Run the statements of ``body`` on the active lanes ``A`` of level ``lv``."""
        saved, self.at = self.at, (lv, A)
        try:
            for s in body:
                if A.size == 0:
                    return
                self.visit(s)
        finally:
            self.at = saved

    def generic_visit(self, node):  # pragma: no cover - vectorizable() admits no other
        raise TypeError(f"cannot vectorise {node!r}")

    def visit_If(self, s: If):
        lv, A = self.at
        cond = self.ev(s.cond, lv, A).astype(bool, copy=False)
        if s.then:
            self.block(s.then, lv, A[cond])
        if s.orelse:
            self.block(s.orelse, lv, A[~cond])

    def visit_Loop(self, s: Loop):
        """A nested edge loop: one lane per (enclosing lane, edge)."""
        lv, A = self.at
        x = self.ev(s.of, lv, A).astype(np.int64, copy=False)
        if x.size and (x.min() < 0 or x.max() >= self.n):
            bad = int(x[(x < 0) | (x >= self.n)][0])
            self.c.error(s, f"vertex {bad} is out of range ({self.n} vertices)")
        self.expand(s, lv, A, x)

    def expand(self, s: Loop, lv: _Level, A: np.ndarray, x: np.ndarray):
        full = _full_expansion(self.graph, s.kind, x, A, lv.size)
        if full is not None:
            parent, eid = full
        else:
            if s.kind == "out_edges":
                starts, counts = self.indptr[x], self.deg[x]
            else:
                starts, counts = self.in_indptr[x], self.indeg[x]
            total = int(counts.sum())
            parent = np.repeat(A, counts)
            first = np.repeat(np.cumsum(counts) - counts, counts)
            pos = np.repeat(starts, counts) + (np.arange(total, dtype=np.int64) - first)
            eid = pos if s.kind == "out_edges" else self.in_eid[pos]
        total = len(eid)
        child = _Level(total, lv, parent)
        child.loop_name = s.var
        child.vals[s.var] = eid
        child.edge = s.var
        self.block(s.body, child, iota(total))

    def visit_Assign(self, s: Assign):
        lv, A = self.at
        d = self.local_dtype[s.name]
        vals = self.ev(s.value, lv, A).astype(d.np, copy=False)
        owner, arr = lv.lookup(s.name)
        if owner is None:
            owner = self._owner_level(s.name, lv)
            arr = np.zeros(owner.size, dtype=d.np)
            owner.vals[s.name] = arr
        if np.may_share_memory(vals, arr):
            vals = vals.copy()
        lanes = lv.lanes_of(owner, A)
        if s.op is None:
            arr[lanes] = vals
        elif owner is lv:
            arr[lanes] = _combine(s.op, arr[lanes], vals, d)
        else:  # reduction into an enclosing iteration's private
            _UFUNC[s.op].at(arr, lanes, vals)

    def _owner_level(self, name: str, lv: _Level) -> _Level:
        """The level whose loop declares the private ``name``."""
        declared = self._declaring_loops.get(name, set())
        level = lv
        while level is not None:
            if getattr(level, "loop_name", None) in declared:
                return level
            level = level.parent
        return lv

    def visit_Store(self, s: Store):
        lv, A = self.at
        c = self.c
        t = c.tables[s.table]
        vals = self.ev(s.value, lv, A).astype(t.dtype.np, copy=False)
        if t.space == "scalar":
            k = c.slots[s.table]
            if s.op is None:
                c.error(s, "a shared scalar stored inside a parallel loop")  # pragma: no cover
            old = self.F[k]
            new = _fold(s.op, old, vals, t.dtype)
            if changed(new, old):
                self.F[k] = new
                if s.flag:
                    self.F[c.slots[s.flag]] = True
            return
        T = c.data[s.table]
        idx = self.index(s.index, t, lv, A, s)
        if np.may_share_memory(vals, T):
            vals = vals.copy()  # a view of the table itself (take() slices)
        if s.op is None:
            T[idx] = vals
            return
        if self.side is not None and t.space == "node":
            mine = (idx >= self.side.lo) & (idx < self.side.hi)
            if not mine.all():
                self.side.buffer(s.table, idx[~mine], vals[~mine], s.op, t.dtype)
                idx, vals = idx[mine], vals[mine]
        if s.flag and s.op in _IMPROVES:
            # min/max/or/and change an entry exactly when some contribution improves on it
            better = _IMPROVES[s.op](vals, take(T, idx))
            if better.any():
                idx, vals = idx[better], vals[better]
                _UFUNC[s.op].at(T, idx, vals)
                self.F[c.slots[s.flag]] = True
        elif s.flag:
            touched = np.unique(idx)
            before = T[touched].copy()
            _UFUNC[s.op].at(T, idx, vals)
            after = T[touched]
            if t.dtype.is_float:
                moved = np.any((after != before) & ~(np.isnan(after) & np.isnan(before)))
            else:
                moved = np.any(after != before)
            if moved:
                self.F[c.slots[s.flag]] = True
        else:
            _UFUNC[s.op].at(T, idx, vals)

    def index(self, e: Expr, t, lv: _Level, A: np.ndarray, node) -> np.ndarray:
        idx = self.ev(e, lv, A).astype(np.int64, copy=False)
        if not self.c._safe_index(e, t.space) and idx.size:
            size = self.n if t.space == "node" else self.m
            bad = (idx < 0) | (idx >= size)
            if bad.any():
                what = "vertex" if t.space == "node" else "edge id"
                self.c.error(node, f"{what} {int(idx[bad][0])} is out of range for table "
                             f"'{t.name}' ({size} entries)", hint="check the index expression")
        return idx

    # ------------------------------------------------------------------ expressions
    def ev(self, e: Expr, lv: _Level, A: np.ndarray) -> np.ndarray:
        """The value of ``e`` on the active lanes ``A`` of level ``lv``."""
        saved, self.at = self.at, (lv, A)
        try:
            return self.visit(e)
        finally:
            self.at = saved

    def visit_Const(self, e: Const) -> np.ndarray:
        return np.full(self.at[1].size, e.value, dtype=e.dtype.np)

    def visit_Var(self, e: Var) -> np.ndarray:
        lv, A = self.at
        owner, arr = lv.lookup(e.name)
        if owner is not None:
            return take(arr, lv.lanes_of(owner, A))
        v = self.F[self.c.slots[e.name]]  # a parameter, or an enclosing scalar loop's
        return np.full(A.size, v, dtype=e.dtype.np)

    def visit_Load(self, e: Load) -> np.ndarray:
        lv, A = self.at
        t = self.c.tables[e.table]
        if t.space == "scalar":
            return np.full(A.size, self.F[self.c.slots[e.table]], dtype=t.dtype.np)
        idx = self.index(e.index, t, lv, A, e)
        src = self.snapshot.get(e.table)
        if src is None:
            src = self.c.data[e.table]
        return take(src, idx)

    def visit_EdgeAttr(self, e: EdgeAttr) -> np.ndarray:
        lv, A = self.at
        owner, eid = lv.lookup(e.edge)
        eid = take(eid, lv.lanes_of(owner, A))
        if e.attr == "id":
            return eid
        return take(self.src if e.attr == "src" else self.dst, eid)

    def visit_Un(self, e: Un) -> np.ndarray:
        lv, A = self.at
        a = self.ev(e.a, lv, A).astype(e.dtype.np, copy=False)
        return self._apply(ops.unary(e.op).array_fn(e.dtype), e, a)

    def visit_Select(self, e: Select) -> np.ndarray:
        lv, A = self.at
        cond = self.ev(e.cond, lv, A).astype(bool)
        out = np.empty(A.size, dtype=e.dtype.np)
        if cond.any():
            out[cond] = self._as(self.ev(e.a, lv, A[cond]), e.a.dtype, e.dtype)
        if (~cond).any():
            out[~cond] = self._as(self.ev(e.b, lv, A[~cond]), e.b.dtype, e.dtype)
        return out

    def visit_Cast(self, e: Cast) -> np.ndarray:
        lv, A = self.at
        a = self.ev(e.a, lv, A)
        try:
            return ops.convert_array(a, e.a.dtype, e.dtype)
        except ops.DomainError as err:
            self.c.error(e, err.message, hint=err.hint)

    @staticmethod
    def _as(a: np.ndarray, src: DType, dst: DType) -> np.ndarray:
        return a.astype(dst.np, copy=False)

    def visit_Bin(self, e: Bin) -> np.ndarray:
        lv, A = self.at
        spec = ops.binary(e.op)
        if spec.short_circuit is not None:  # and / or: the right side only where needed
            a = self.ev(e.a, lv, A).astype(bool)
            out = a.copy()
            rest = a if spec.short_circuit else ~a  # lanes where the right side decides
            if rest.any():
                b = self.ev(e.b, lv, A[rest]).astype(bool)
                out[rest] = b
            return out
        if spec.group == "cmp" and not e.a.dtype.is_bool:
            common = promote(e.a.dtype, e.b.dtype, e.a.weak, e.b.weak)
        elif spec.group == "cmp":
            common = e.a.dtype
        else:
            common = e.dtype
        a = self.ev(e.a, lv, A).astype(common.np, copy=False)
        b = self.ev(e.b, lv, A).astype(common.np, copy=False)
        return self._apply(spec.array_fn(common), e, a, b)

    def _apply(self, f, node, *args: np.ndarray) -> np.ndarray:
        """``f`` on the operand arrays; a ``DomainError`` names the kernel's line."""
        try:
            return f(*args)
        except ops.DomainError as err:
            self.c.error(node, err.message, hint=err.hint)

    def visit_GraphQuery(self, e: GraphQuery) -> np.ndarray:
        lv, A = self.at
        if e.fn == "num_nodes":
            return np.full(A.size, self.n, dtype=np.int64)
        if e.fn == "num_edges":
            return np.full(A.size, self.m, dtype=np.int64)
        args = [self._vertex(a, lv, A, e) for a in e.args]
        if e.fn == "out_degree":
            return self.deg[args[0]]
        if e.fn == "in_degree":
            return self.indeg[args[0]]
        keys = _edge_keys(self.graph)
        want = args[0] * max(self.n, 1) + args[1]
        pos = np.searchsorted(keys, want)
        pos = np.minimum(pos, max(len(keys) - 1, 0))
        return (keys[pos] == want) if len(keys) else np.zeros(A.size, dtype=bool)

    def _vertex(self, a: Expr, lv: _Level, A: np.ndarray, node) -> np.ndarray:
        x = self.ev(a, lv, A).astype(np.int64, copy=False)
        if x.size and not self.c._safe_index(a, "node") and (x.min() < 0 or x.max() >= self.n):
            bad = int(x[(x < 0) | (x >= self.n)][0])
            self.c.error(node, f"vertex {bad} is out of range ({self.n} vertices)")
        return x


_IOTA: dict[int, np.ndarray] = {}


def iota(n: int) -> np.ndarray:
    """The shared array 0..n-1; index arrays that *are* it are sliced, not gathered."""
    a = _IOTA.get(n)
    if a is None:
        if len(_IOTA) > 64:
            _IOTA.clear()
        a = _IOTA[n] = np.arange(n, dtype=np.int64)
        a.flags.writeable = False
    return a


def take(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``x[idx]``, without the gather when ``idx`` is ``0..len(idx)-1``."""
    if _IOTA.get(len(idx)) is idx:
        return x[:len(idx)]
    return x[idx]


def _full_expansion(g, kind: str, x: np.ndarray, A: np.ndarray, size: int):
    """When every vertex 0..n-1 is active in order, the lanes of its edge loop are the
    whole CSR (or CSC): cached per graph instead of rebuilt every sweep."""
    n = g.n
    if len(x) != n or len(A) != size or size != n:
        return None
    if not (x[0] == 0 and x[-1] == n - 1 and (n < 3 or np.array_equal(x, _arange(g, n)))):
        return None
    cache = g.__dict__.setdefault("_lane_cache", {})
    if kind not in cache:
        if kind == "out_edges":
            cache[kind] = (g.edge_src, None)
        else:
            cache[kind] = (np.repeat(np.arange(n, dtype=np.int64), np.diff(g.in_indptr)),
                           g.in_eid)
    parent, eid = cache[kind]
    if eid is None:
        eid = iota(g.m)
    return (parent if A is iota(n) or np.array_equal(A, _arange(g, n)) else A[parent]), eid


def _arange(g, n: int) -> np.ndarray:
    cache = g.__dict__.setdefault("_lane_cache", {})
    if "arange" not in cache:
        cache["arange"] = np.arange(n, dtype=np.int64)
    return cache["arange"]


def _edge_keys(g) -> np.ndarray:
    keys = getattr(g, "_edge_keys", None)
    if keys is None:
        keys = g.edge_src * max(g.n, 1) + g.out_dst  # sorted: CSR order is (src, dst)
        g._edge_keys = keys
    return keys


def _combine(op: str, a: np.ndarray, b: np.ndarray, d: DType) -> np.ndarray:
    return ops.reduction(op).array_fn(d)(a, b).astype(d.np, copy=False)


def _fold(op: str, old, vals: np.ndarray, d: DType):
    """``old op v1 op v2 ...`` for a shared scalar (any order: the loop is parallel)."""
    if vals.size == 0:
        return old
    r = ops.reduction(op)
    return r.scalar_fn(d)(old, r.ufunc.reduce(vals, dtype=d.np).item())


def _worklist_plan(comp, loop: Loop) -> dict | None:
    """{state table: operator} when the loop may skip vertices whose own state did not
    change (see the module docstring), else None."""
    if loop.schedule != "async" or loop.kind != "nodes":
        return None
    k = comp.k
    tables = comp.tables
    state: dict[str, str] = {}
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Store):
            t = tables[s.table]
            if t.space != "node" or s.op not in _IMPROVES:
                return None
            if state.setdefault(s.table, s.op) != s.op:
                return None
    if not state:
        return None
    stored = {getattr(s, "table", None) for s, _ in iter_stmts(k.body)} - {None}
    params = {p.name for p in k.params}
    inner_names = {loop.var} | {n for n, _ in loop.locals}
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Loop):
            inner_names.add(s.var)
            inner_names.update(n for n, _ in s.locals)
    own_edges: dict[str, str | None] = {}  # edge var -> its endpoint that is the loop's vertex
    for s, _ in iter_stmts(loop.body):  # pre-order: a loop rebinds its variable first
        if isinstance(s, Loop) and s.is_edge_loop:
            own = isinstance(s.of, Var) and s.of.name == loop.var
            own_edges[s.var] = ("src" if s.kind == "out_edges" else "dst") if own else None
        for e in stmt_exprs(s):
            for x in iter_exprs(e):
                if isinstance(x, Var) and x.name not in inner_names and x.name not in params:
                    return None  # a value from an enclosing loop: not tracked
                if not isinstance(x, Load):
                    continue
                t = tables[x.table]
                if x.table in state:
                    own = (isinstance(x.index, Var) and x.index.name == loop.var) or (
                        isinstance(x.index, EdgeAttr) and
                        own_edges.get(x.index.edge) == x.index.attr)
                    if not own:
                        return None
                elif t.space == "scalar" or (x.table in stored and t.role == "local"):
                    return None  # data that other statements change between sweeps
    return state


def vector_loop(comp, loop: Loop):
    """A runner ``fn(F)`` executing ``loop`` as lanes, or None if it cannot."""
    if vectorizable(loop):
        return None
    return _VecLoop(comp, loop).run

