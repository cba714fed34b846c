"""The IR interpreter: the oracle every rewrite and backend is checked against.

``interpret(kernel, graph, args)`` executes the IR with exactly the semantics documented
in ``cosynth.ir.nodes``: integers wrap at their width, ``/`` is IEEE, ``//`` and ``%``
floor, ``min(a, b)`` is ``b if b < a else a``, a reduction ``t[i] op= v`` is
``t[i] = t[i] op v`` and sets its flag when the entry changed.

Each statement and expression is compiled once into a Python closure over the graph's
arrays (held as Python lists, the fastest element access Python has); the closures then
run the loops in order.  Indices that are not safe by construction (a loop's own vertex,
an edge's endpoints, a checked vertex parameter) are bounds-checked, and a failure names
the kernel's source line.

The compiler is a ``cosynth.ir.visit.Visitor`` whose ``visit_<Node>`` returns the node's
closure ``fn(F)`` over the frame ``F`` (a list: one slot per scalar, parameter and loop
variable).  Loop nests proved parallel may run as NumPy lanes instead
(``cosynth.ir.vec``); the collective statements of a blade program and its reductions
into other blades' entries are ``cosynth.ir.collectives``'; loops a device runs in the
interpreter's place are ``cosynth.ir.offload``'s.

Reordering mode (``order=seed``, ``cosynth.ir.reorder``): ``par``/``bsp``/``async`` node
and edge loops run in seeded random orders and reads inside an ``async`` loop may see any
prefix of the other iterations' writes; nothing is vectorised then.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

import numpy as np

from .. import dtypes as dt
from .. import ops
from ..dtypes import DType
from ..errors import KernelRuntimeError
from .changed import changed
from .collectives import BladeSide, projected
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
from .offload import holds_offloaded, offloaded
from .reorder import AsyncWindow, Reorder
from .vec import vector_loop
from .visit import Visitor
from .walk import iter_stmts, read_and_written

__all__ = ["interpret", "BudgetExhausted"]


class BudgetExhausted(Exception):
    """``interpret(..., budget=N)`` stopped: its node and edge loops had taken more than
    N iterations (not a user error: the caller chooses another way to get the result)."""


def interpret(k: Kernel, graph, args: dict, *, while_limit: int | None = None,
              blade=None, vectorize: bool = True, offload: dict | None = None,
              order: int | None = None, budget: int | None = None) -> tuple:
    """Run ``k`` on ``graph`` with bound ``args``; returns a tuple of results.

    Node and edge tables come back as NumPy arrays, scalars as Python values.
    ``while_limit`` bounds the iterations of any one while loop (None: unbounded).
    ``blade`` (a ``cosynth.ir.blades.Blade``) runs a blade program as one blade of several;
    see ``cosynth.ir.blades.run_blades``.  ``vectorize`` runs loop nests proved parallel
    with NumPy (``cosynth.ir.vec``); off, every loop runs one iteration at a time.
    ``offload`` maps loops of ``k`` (by ``id``) to handlers that run them in the
    interpreter's place: each time the loop is reached, ``handler(view)`` is called with a
    ``cosynth.ir.offload.HostView`` of the tables and scalars (how a device, e.g. a
    simulated FPGA unit, takes over a loop while the interpreter stays the host).
    ``order`` (a seed) runs the loops the IR lets run in any order in a seeded random
    order, with the stale reads ``async`` allows (``cosynth.ir.reorder``); it implies
    ``vectorize=False`` and is for one process, not for blade programs.
    ``budget`` bounds the iterations all node and edge loops take together (counted as
    each loop starts); past it ``BudgetExhausted`` is raised.
    """
    if order is not None and blade is not None:
        raise ValueError("the reordering oracle runs whole kernels, not blade programs")
    comp = _Compiler(k, graph, args, while_limit, blade, vectorize and order is None,
                     offload, None if order is None else Reorder(order))
    comp.budget = None if budget is None else [budget]
    return comp.run()


Fn = Callable[[list], object]


_f32 = ops.round_f32


def _converter(src: DType, dst: DType):
    """Convert a value computed as ``src`` to its representation as ``dst`` (or None)."""
    if dst.is_float and src.is_float and src.bits <= dst.bits:
        return None
    if dst.is_int and src.is_int and src.bits <= dst.bits:
        return None
    if dst.is_bool:
        return None
    return ops.convert(src, dst)


class _Compiler(Visitor):
    """Compiles a kernel into closures: ``visit_<Stmt>`` and ``visit_<Expr>`` (``expr``)
    return ``fn(F)``.  ``side`` is this blade's end of the collectives (None outside a
    blade run); ``in_projected`` is true while compiling inside a distributed loop;
    ``bsp`` maps the tables a bsp sweep being compiled reads from its snapshot to the
    snapshot's holder."""

    def __init__(self, k: Kernel, g, args: dict, while_limit, blade=None, vectorize=True,
                 offload: dict | None = None, reorder: Reorder | None = None):
        self.k = k
        self.reorder = reorder
        self.budget: list[int] | None = None  # iterations left to node/edge loops
        self.window: AsyncWindow | None = None  # the async loop being compiled (reorder)
        self.opening: AsyncWindow | None = None  # its window, until its body is compiled
        self.blade = blade
        self.offload = offload or {}
        # tables live in NumPy arrays when some loop will run vectorised, else in lists
        self.numpy_mode = vectorize and any(
            isinstance(s, Loop) and s.is_data_loop and s.schedule != "seq"
            for s, _ in iter_stmts(k.body))
        self.in_projected = False
        self.bsp: dict[str, list] = {}  # table -> holder of its snapshot (inside bsp loops)
        self.g = g
        self.n, self.m = g.n, g.m
        self.while_limit = while_limit
        self.tables = {t.name: t for t in k.tables}
        self.data: dict[str, list] = {}
        for t in k.tables:
            if t.role == "weight":
                w = g.integer_weights() if k.weight_dtype.is_int else g.weights_or_ones()
                arr = w.astype(k.weight_dtype.np)
            elif t.role == "input":
                arr = np.asarray(args[t.name]).astype(t.dtype.np)
            elif t.space in ("node", "edge"):
                arr = np.zeros(self.n if t.space == "node" else self.m, dtype=t.dtype.np)
            else:
                continue
            self.data[t.name] = arr.copy() if self.numpy_mode else arr.tolist()
        self.slots: dict[str, int] = {}
        for p in k.params:
            if p.kind in ("scalar", "shard"):
                self.slot(p.name)
        for t in k.tables:
            if t.space == "scalar":
                self.slot(t.name)
        self.local_dtype: dict[str, DType] = {}  # a loop private -> its dtype
        for s, _ in iter_stmts(k.body):
            if isinstance(s, Loop):
                if s.var is not None:
                    self.slot(s.var)
                for name, d in s.locals:
                    self.slot(name)
                    self.local_dtype.setdefault(name, d)
        self.frame = [None] * len(self.slots)
        for p in k.params:
            if p.kind in ("scalar", "shard"):
                self.frame[self.slots[p.name]] = args[p.name]
        self.side = None if blade is None else \
            BladeSide(blade, args["shard_lo"], args["shard_hi"])
        for t in k.tables:
            if t.space == "scalar":
                self.frame[self.slots[t.name]] = t.dtype.np.type(0).item()
        self.node_params = {p.name for p in k.params if p.node}
        self.safe_nodes: set[str] = set()  # node-loop variables in scope
        self.var_kind: dict[str, str] = {}

    # the graph as Python lists, for loops run one iteration at a time (built on demand:
    # vectorised loops use the NumPy arrays)
    @property
    def indptr(self):
        return self.g._lists().indptr

    @property
    def dst(self):
        return self.g._lists().dst

    @property
    def src(self):
        return self.g._lists().src

    @property
    def in_indptr(self):
        return self.g._lists().in_indptr

    @property
    def in_eid(self):
        return self.g._lists().in_eid

    @staticmethod
    def getter(T):
        """Element read returning a Python value (lists and NumPy arrays alike)."""
        return T.item if isinstance(T, np.ndarray) else T.__getitem__

    def slot(self, name: str) -> int:
        if name not in self.slots:
            self.slots[name] = len(self.slots)
        return self.slots[name]

    def error(self, node, msg: str, hint: str | None = None):
        raise KernelRuntimeError(f"in kernel '{self.k.name}': {msg}", loc=node.loc, hint=hint)

    # ------------------------------------------------------------------ driver
    def run(self) -> tuple:
        body = self.block(self.k.body)
        F = self.frame
        body(F)
        out = []
        for r in self.k.returns:
            if isinstance(r, TableRef):
                out.append(np.array(self.data[r.table], dtype=r.dtype.np))
            else:
                v = self.expr(r)(F)
                out.append(r.dtype.np.type(v).item())
        return tuple(out)

    # ------------------------------------------------------------------ statements
    def block(self, body) -> Fn:
        fns = [self.visit(s) for s in body]
        if len(fns) == 1:
            return fns[0]
        if len(fns) == 2:
            a, b = fns

            def two(F):
                a(F)
                b(F)
            return two

        def run(F):
            for f in fns:
                f(F)
        return run

    def generic_visit(self, node):  # pragma: no cover - every IR node has its method
        raise TypeError(f"cannot interpret {node!r}")

    def visit_If(self, s: If) -> Fn:
        c = self.expr(s.cond)
        then = self.block(s.then) if s.then else None
        orelse = self.block(s.orelse) if s.orelse else None
        if orelse is None:
            def if_(F):
                if c(F):
                    then(F)
        elif then is None:
            def if_(F):
                if not c(F):
                    orelse(F)
        else:
            def if_(F):
                if c(F):
                    then(F)
                else:
                    orelse(F)
        return if_

    def visit_Alloc(self, s: Alloc) -> Fn:
        T = self.data[s.table]
        t = self.tables[s.table]
        fill = self.expr(s.fill)
        conv = _converter(s.fill.dtype, t.dtype)
        size = len(T)

        if isinstance(T, np.ndarray):
            def alloc_array(F):
                v = fill(F)
                T[:] = conv(v) if conv is not None else v
            return alloc_array

        def alloc(F):
            v = fill(F)
            if conv is not None:
                v = conv(v)
            T[:] = [v] * size
        return alloc

    def visit_Store(self, s: Store) -> Fn:
        t = self.tables[s.table]
        value = self.expr(s.value)
        conv = _converter(s.value.dtype, t.dtype)
        if conv is not None:
            inner = value

            def value(F):
                return conv(inner(F))
        if t.space == "scalar":
            k = self.slots[s.table]
            red = self.reducer(s.op, t.dtype)
            fk = self.slots[s.flag] if s.flag else None
            if red is None:
                def set_scalar(F):
                    F[k] = value(F)
                return set_scalar

            def reduce_scalar(F):
                old = F[k]
                new = red(old, value(F))
                if changed(new, old):
                    F[k] = new
                    if fk is not None:
                        F[fk] = True
            return reduce_scalar
        T = self.data[s.table]
        index = self.index(s.index, t, s)
        if self.window is not None and s.table in self.window.tables:
            return self._logged_store(s, T, index, value)
        if s.op is None:
            def store(F):
                T[index(F)] = value(F)
            return store
        red = self.reducer(s.op, t.dtype)
        get = self.getter(T)
        if self.side is not None and self.in_projected and t.space == "node":
            fk = self.slots[s.flag] if s.flag else None
            return self.side.remote_reduce(s.table, T, get, index, value, red, fk)
        if s.flag is None:
            def reduce(F):
                i = index(F)
                T[i] = red(get(i), value(F))
            return reduce
        fk = self.slots[s.flag]

        def reduce_flag(F):
            i = index(F)
            old = get(i)
            new = red(old, value(F))
            if changed(new, old):
                T[i] = new
                F[fk] = True
        return reduce_flag

    def _logged_store(self, s: Store, T, index: Fn, value: Fn) -> Fn:
        """A store inside an ``async`` loop in reordering mode: the write is logged in
        the loop's window, so that other iterations' reads may miss it."""
        W, name, get = self.window, s.table, self.getter(T)
        if s.op is None:
            def store_logged(F):
                i = index(F)
                old, v = get(i), value(F)
                T[i] = v
                W.record(name, i, old, v)
            return store_logged
        red = self.reducer(s.op, self.tables[s.table].dtype)
        fk = self.slots[s.flag] if s.flag else None

        def reduce_logged(F):
            i = index(F)
            old = get(i)
            new = red(old, value(F))
            if changed(new, old):
                T[i] = new
                W.record(name, i, old, new)
                if fk is not None:
                    F[fk] = True
        return reduce_logged

    # ------------------------------------------------------------------ collectives
    def visit_AllReduce(self, s: AllReduce) -> Fn:
        red = self.reducer(s.op, self.tables[s.table].dtype)
        return self._side(s).allreduce(s, self.slots[s.table], red)

    def visit_Exchange(self, s: Exchange) -> Fn:
        side = self._side(s)
        T = self.data[s.table]
        red = self.reducer(s.op, self.tables[s.table].dtype)
        fk = self.slots[s.flag] if s.flag else None
        return side.exchange(s, T, self.getter(T), red, fk)

    def visit_Refresh(self, s: Refresh) -> Fn:
        side = self._side(s)
        return side.refresh(s, self.data[s.table], self.tables[s.table].space, self.indptr)

    def _side(self, s) -> BladeSide:
        if self.side is None:
            raise KernelRuntimeError(f"in kernel '{self.k.name}': a blade program needs "
                                     "cosynth.ir.blades.run_blades to run", loc=s.loc)
        return self.side

    def visit_Assign(self, s: Assign) -> Fn:
        k = self.slots[s.name]
        dtype = self.local_dtype[s.name]  # the verifier guarantees a declaration
        value = self.expr(s.value)
        conv = _converter(s.value.dtype, dtype)
        if conv is not None:
            inner = value

            def value(F):
                return conv(inner(F))
        if s.op is None:
            def assign(F):
                F[k] = value(F)
            return assign
        red = self.reducer(s.op, dtype)

        def reduce_local(F):
            F[k] = red(F[k], value(F))
        return reduce_local

    def reducer(self, op: str | None, dtype: DType):
        if op is None:
            return None
        return ops.reduction(op).scalar_fn(dtype)

    def index(self, e: Expr, t, node) -> Fn:
        f = self.expr(e)
        if self._safe_index(e, t.space):
            return f
        size = self.n if t.space == "node" else self.m
        what = "vertex" if t.space == "node" else "edge id"
        name = t.name

        def checked(F):
            i = f(F)
            if 0 <= i < size:
                return i
            self.error(node, f"{what} {i} is out of range for table '{name}' "
                       f"({size} entries)", hint="check the index expression")
        return checked

    def _safe_index(self, e: Expr, space: str) -> bool:
        if space == "node":
            if isinstance(e, Var) and (e.name in self.safe_nodes or e.name in self.node_params):
                return True
            return isinstance(e, EdgeAttr) and e.attr in ("src", "dst")
        return isinstance(e, EdgeAttr) and e.attr == "id"

    def vertex(self, e: Expr, node) -> Fn:
        """An expression used as a vertex (edge-loop source, degree argument)."""
        f = self.expr(e)
        if self._safe_index(e, "node"):
            return f
        n = self.n

        def checked(F):
            v = f(F)
            if 0 <= v < n:
                return v
            self.error(node, f"vertex {v} is out of range ({n} vertices)",
                       hint="check the vertex expression")
        return checked

    def visit_Loop(self, s: Loop) -> Fn:
        """Compile a loop; a ``bsp`` sweep reads the tables it writes from a snapshot."""
        device = offloaded(self, s, self.offload)
        if device is not None:
            return device
        outer_projected, outer_bsp = self.in_projected, dict(self.bsp)
        if self.side is not None and s.is_data_loop and projected(s):
            self.in_projected = True
        if self.numpy_mode and s.is_data_loop and s.schedule != "seq" and \
                not holds_offloaded(s, self.offload):
            runner = vector_loop(self, s)
            if runner is not None:
                self.in_projected = outer_projected
                return runner
        outer_window = self.window
        if self.reorder is not None and s.schedule == "async" and s.is_data_loop and \
                self.window is None:
            written = {x.table for x, _ in iter_stmts(s.body) if isinstance(x, Store)
                       and self.tables[x.table].space != "scalar"}
            self.window = self.opening = self.reorder.window(written)
        holders = []
        if s.schedule == "bsp" and not outer_bsp:
            for name in sorted(read_and_written(s)):
                if self.tables[name].space != "scalar":
                    self.bsp[name] = [self.data[name]]
                    holders.append((self.data[name], self.bsp[name]))
        try:
            inner = self._loop_body(s)
        finally:
            self.in_projected, self.bsp = outer_projected, outer_bsp
        if self.window is not outer_window:
            W, body = self.window, inner
            self.window = outer_window

            def inner(F):
                W.reset()
                body(F)
        if not holders:
            return inner

        def bsp_loop(F):
            for data, holder in holders:
                holder[0] = data.copy()  # every read in the sweep sees the state before it
            inner(F)
        return bsp_loop

    def _iterations(self, s: Loop):
        """How the loop walks its index range: in order, or (reordering mode, a loop
        that may run in any order) a fresh permutation each time."""
        if self.reorder is None or not s.is_data_loop or s.schedule == "seq":
            base = None
        else:
            base = self.reorder.perm
        left = self.budget
        if left is None or not s.is_data_loop:
            return base or (lambda r: r)

        def counted(r):
            left[0] -= len(r)
            if left[0] < 0:
                raise BudgetExhausted(self.k.name)
            return base(r) if base is not None else r
        return counted

    def _compiled_body(self, s: Loop) -> Fn:
        opening, self.opening = self.opening, None
        if s.kind == "nodes":
            self.safe_nodes.add(s.var)
        try:
            body = self.block(s.body)
        finally:
            if s.kind == "nodes":
                self.safe_nodes.discard(s.var)
        if opening is None:
            return body
        inner = body

        def body(F):  # an iteration of the async loop starts: it has seen nothing new
            opening.begin()
            inner(F)
        return body

    def _loop_body(self, s: Loop) -> Fn:
        body = self._compiled_body(s)
        walk = self._iterations(s)
        if s.kind == "nodes":
            kv = self.slots[s.var]
            n = self.n
            if s.start is None:
                def nodes(F):
                    for v in walk(range(n)):
                        F[kv] = v
                        body(F)
                return nodes
            lo_f, hi_f = self.expr(s.start), self.expr(s.stop)

            def node_range(F):
                lo, hi = max(lo_f(F), 0), min(hi_f(F), n)
                for v in walk(range(lo, hi)):
                    F[kv] = v
                    body(F)
            return node_range
        if s.kind == "out_edges":
            ke = self.slots[s.var]
            of = self.vertex(s.of, s)
            indptr = self.indptr

            def out_edges(F):
                x = of(F)
                for i in walk(range(indptr[x], indptr[x + 1])):
                    F[ke] = i
                    body(F)
            return out_edges
        if s.kind == "in_edges":
            ke = self.slots[s.var]
            of = self.vertex(s.of, s)
            in_indptr, in_eid = self.in_indptr, self.in_eid

            def in_edges(F):
                x = of(F)
                for p in walk(range(in_indptr[x], in_indptr[x + 1])):
                    F[ke] = in_eid[p]
                    body(F)
            return in_edges
        if s.kind == "edges":
            ke = self.slots[s.var]
            m = self.m
            if s.start is not None:
                lo_f, hi_f, indptr, n = self.expr(s.start), self.expr(s.stop), self.indptr, self.n

                def edge_range(F):
                    lo, hi = max(lo_f(F), 0), min(hi_f(F), n)
                    for i in walk(range(indptr[lo], indptr[max(hi, lo)])):
                        F[ke] = i
                        body(F)
                return edge_range

            def edges(F):
                for i in walk(range(m)):
                    F[ke] = i
                    body(F)
            return edges
        if s.kind == "range":
            kv = self.slots[s.var]
            a, b, c = self.expr(s.start), self.expr(s.stop), self.expr(s.step)

            def range_(F):
                step = c(F)
                if step == 0:
                    self.error(s, "range() step is zero")
                for i in range(a(F), b(F), step):
                    F[kv] = i
                    body(F)
            return range_
        cond = self.expr(s.cond)
        limit = self.while_limit
        if limit is None:
            def while_(F):
                while cond(F):
                    body(F)
            return while_

        def while_limited(F):
            count = 0
            while cond(F):
                count += 1
                if count > limit:
                    self.error(s, f"while loop still running after {limit} iterations",
                               hint="check that the loop condition eventually becomes False")
                body(F)
        return while_limited

    # ------------------------------------------------------------------ expressions
    def expr(self, e: Expr) -> Fn:
        """The closure computing ``e``'s value in a frame."""
        return self.visit(e)

    def visit_Const(self, e: Const) -> Fn:
        v = e.value
        if e.dtype.is_float:
            v = float(v) if e.dtype.bits == 64 else _f32(v)
        return lambda F: v

    def visit_Var(self, e: Var) -> Fn:
        k = self.slots[e.name]
        return lambda F: F[k]

    def visit_Load(self, e: Load) -> Fn:
        t = self.tables[e.table]
        if t.space == "scalar":
            k = self.slots[e.table]
            return lambda F: F[k]
        idx = self.index(e.index, t, e)
        if e.table in self.bsp:
            holder = self.bsp[e.table]
            if self.numpy_mode:
                return lambda F: holder[0].item(idx(F))
            return lambda F: holder[0][idx(F)]
        get = self.getter(self.data[e.table])
        if self.window is not None and e.table in self.window.tables:
            W, name = self.window, e.table

            def stale(F):  # an async loop's read: any prefix of the others' writes
                i = idx(F)
                return W.read(name, i, get(i))
            return stale
        return lambda F: get(idx(F))

    def visit_EdgeAttr(self, e: EdgeAttr) -> Fn:
        k = self.slots[e.edge]
        if e.attr == "id":
            return lambda F: F[k]
        arr = self.src if e.attr == "src" else self.dst
        return lambda F: arr[F[k]]

    def visit_Select(self, e: Select) -> Fn:
        c, a, b = self.expr(e.cond), self.promoted(e.a, e.dtype), self.promoted(e.b, e.dtype)
        return lambda F: a(F) if c(F) else b(F)

    def promoted(self, e: Expr, want: DType) -> Fn:
        """Evaluate ``e`` and convert it to ``want`` (the implicit promotion of operands)."""
        f = self.expr(e)
        if want.is_float and (not e.dtype.is_float or e.dtype.bits > want.bits):
            conv = _f32 if want.bits == 32 else float
            return lambda F: conv(f(F))
        return f

    def visit_Bin(self, e: Bin) -> Fn:
        spec = ops.binary(e.op)
        if spec.short_circuit is not None:  # and / or: the right side only if needed
            a, b = self.expr(e.a), self.expr(e.b)
            decides = spec.short_circuit

            def logic(F):
                x = a(F)
                return b(F) if bool(x) is decides else x
            return logic
        if spec.group == "cmp":
            if e.a.dtype.is_bool:
                common = e.a.dtype
                a, b = self.expr(e.a), self.expr(e.b)
            else:
                common = dt.promote(e.a.dtype, e.b.dtype, e.a.weak, e.b.weak)
                a, b = self.promoted(e.a, common), self.promoted(e.b, common)
        else:
            common = e.dtype
            if common.is_bool:  # & | ^ on bools
                a, b = self.expr(e.a), self.expr(e.b)
            else:
                a, b = self.promoted(e.a, common), self.promoted(e.b, common)
        return self._checked(spec.scalar_fn(common), e, a, b)

    def _checked(self, f, node, *args: Fn) -> Fn:
        """``f`` applied to the operands; a ``DomainError`` names the kernel's line."""
        def fail(err: ops.DomainError):
            self.error(node, err.message, hint=err.hint)
        if len(args) == 1:
            (a,) = args

            def un(F):
                try:
                    return f(a(F))
                except ops.DomainError as err:
                    fail(err)
            return un
        a, b = args

        def bin_(F):
            try:
                return f(a(F), b(F))
            except ops.DomainError as err:
                fail(err)
        return bin_

    def visit_Un(self, e: Un) -> Fn:
        return self._checked(ops.unary(e.op).scalar_fn(e.dtype), e, self.expr(e.a))

    def visit_Cast(self, e: Cast) -> Fn:
        return self._checked(ops.convert(e.a.dtype, e.dtype), e, self.expr(e.a))

    def visit_GraphQuery(self, e: GraphQuery) -> Fn:
        if e.fn == "num_nodes":
            n = self.n
            return lambda F: n
        if e.fn == "num_edges":
            m = self.m
            return lambda F: m
        if e.fn == "out_degree":
            v, p = self.vertex(e.args[0], e), self.indptr

            def outdeg(F):
                x = v(F)
                return p[x + 1] - p[x]
            return outdeg
        if e.fn == "in_degree":
            v, p = self.vertex(e.args[0], e), self.in_indptr

            def indeg(F):
                x = v(F)
                return p[x + 1] - p[x]
            return indeg
        u, v = self.vertex(e.args[0], e), self.vertex(e.args[1], e)
        indptr, dst = self.indptr, self.dst

        def has_edge(F):
            x, y = u(F), v(F)
            lo, hi = indptr[x], indptr[x + 1]
            i = bisect.bisect_left(dst, y, lo, hi)
            return i < hi and dst[i] == y
        return has_edge
