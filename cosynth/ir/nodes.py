"""The cosynth IR: a kernel is a tree of loops whose bodies are dataflow blocks.

The whole IR on one page::

    Kernel  = (name, params: Param*, tables: Table*, body: Stmt*, returns: Expr*)
    Param   = (name, kind: scalar | array, dtype, default, node: bool)
    Table   = (name, space: node | edge | scalar, dtype, role: local | input | weight)

    Stmt    = Alloc(table, fill)                          -- (re)fill a whole table
            | Store(table, index?, value, op?, flag?)     -- table[index] = value
                                                          -- or table[index] op= value
            | Assign(name, value, op?)                    -- iteration-private scalar
            | If(cond, then: Stmt*, orelse: Stmt*)
            | Loop(kind, var?, body: Stmt*, schedule, of?, start?, stop?, step?, cond?,
                   locals: (name, dtype)*)
            | Exchange(table, op, flag?)   -- deliver buffered remote reductions to owners
            | Refresh(table)               -- copy owners' entries into every mirror
            | AllReduce(table, op)         -- combine a scalar across blades

    Expr    = Const(value, dtype, weak) | Var(name) | Load(table, index?)
            | EdgeAttr(edge, src | dst | id) | Bin(op, a, b) | Un(op, a)
            | Select(cond, a, b) | Cast(a) | GraphQuery(fn, args) | TableRef(table)

Invariants (checked by ``cosynth.ir.verify``):

* Every expression carries its dtype; every node carries the user's source ``loc``
  (ignored by equality, so rewritten IR compares structurally).
* ``weak`` marks values that are plain Python numbers in the reference run (literals,
  parameters, vertex ids, degrees, scalars only ever assigned such values): as in NumPy
  (NEP 50) a weak operand takes the type of the typed operand it meets, so
  ``f32_table[v] * alpha`` computes in f32.  Values loaded from node/edge tables and
  ``cs.i32(...)``-style casts are typed ("strong").
* Data are named tables.  A node table has one entry per vertex, an edge table one per
  edge id, a scalar table is a single shared value (its index is ``None``).  The graph's
  edge weights are the input edge table ``weight``.
* A write is a plain store (``op is None``) or a reduction with a named operator from
  ``REDUCE_OPS``: ``t[i] op= v`` means ``t[i] = t[i] op v``.  A reduction may carry a
  ``flag``, a bool scalar table set to true when the write changed the entry: the raised
  form of ``if v < t[i]: t[i] = v; changed = True``.
* ``Assign`` writes a scalar private to one iteration of its innermost enclosing
  node/edge loop, listed in that loop's ``locals``; it is assigned before it is read.
* Loop kinds: ``nodes`` (over vertices, optionally ``start..stop``), ``out_edges`` /
  ``in_edges`` (of the vertex ``of``), ``edges`` (all edges by id, optionally only those
  whose source lies in ``start..stop``), ``range``
  (``start, stop, step``), ``while`` (``cond``).  ``var`` names the vertex, the edge, or
  the counter.  ``schedule`` is ``seq`` (Python's meaning: in order) unless a rewrite
  proves another legal: ``par`` (any order, reductions combine), ``bsp`` (reads see the
  values from before the loop: double-buffered), ``async`` (any order, reads may see
  writes of other iterations).
* A *blade program* (the output of data projection) runs once per blade with the scalar
  parameters ``shard_lo``/``shard_hi`` naming the vertices it owns.  A reduction store
  whose index the blade does not own is buffered (combined with its operator) until the
  next ``Exchange`` of that table; ``Refresh``, ``Exchange`` and ``AllReduce`` are
  collective: every blade reaches them in the same order.  Outside node/edge loops all
  blades hold identical copies of every table.
* Integer arithmetic wraps at the type's width; ``//`` and ``%`` floor as in Python;
  ``/`` is IEEE division in floating point; ``min(a, b)`` is ``b if b < a else a``.
  Every operator's meaning is defined once, in ``cosynth.ops`` (the operator names
  below come from there).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import cached_property

from ..dtypes import DType, boolean, i64
from ..errors import Loc
from ..ops import BIN_OPS, CMP_OPS, REDUCE_OPS, UN_OPS

__all__ = [
    "REDUCE_OPS", "LOOP_KINDS", "SCHEDULES", "EDGE", "BIN_OPS", "CMP_OPS", "UN_OPS",
    "GRAPH_FNS", "Expr", "Const", "Var", "Load", "EdgeAttr", "Bin", "Un", "Select", "Cast",
    "GraphQuery", "TableRef", "Stmt", "Alloc", "Store", "Assign", "If", "Loop", "Param",
    "Table", "Kernel", "replace", "children", "Exchange", "Refresh", "AllReduce",
    "COMM_STMTS",
]

LOOP_KINDS = ("nodes", "out_edges", "in_edges", "edges", "range", "while")
SCHEDULES = ("seq", "par", "bsp", "async")
GRAPH_FNS = {"num_nodes": 0, "num_edges": 0, "out_degree": 1, "in_degree": 1, "has_edge": 2}

EDGE = DType("edge", "edge", 64)
"""The pseudo-type of an edge loop variable: usable only through ``EdgeAttr``."""


def _loc():
    return field(default=None, compare=False, repr=False)


# ------------------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Expr:
    @property
    def weak(self) -> bool:
        return False


@dataclass(frozen=True)
class Const(Expr):
    value: object
    dtype: DType
    weak: bool = False  # a Python literal: adopts the type of the operand it meets
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Var(Expr):
    """A scalar parameter, a loop variable, or an iteration-private local."""

    name: str
    dtype: DType
    weak: bool = False
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Load(Expr):
    table: str
    index: Expr | None
    dtype: DType
    weak: bool = False  # only a scalar table holding Python numbers is weak
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class EdgeAttr(Expr):
    edge: str
    attr: str  # src | dst | id
    loc: Loc | None = _loc()

    @property
    def dtype(self) -> DType:
        return i64

    @property
    def weak(self) -> bool:
        return True


@dataclass(frozen=True)
class Bin(Expr):
    op: str
    a: Expr
    b: Expr
    dtype: DType
    loc: Loc | None = _loc()

    @cached_property  # not a property: a chain of n terms would take n^2
    def weak(self) -> bool:
        return self.a.weak and self.b.weak and not self.dtype.is_bool


@dataclass(frozen=True)
class Un(Expr):
    op: str
    a: Expr
    dtype: DType
    loc: Loc | None = _loc()

    @cached_property  # not a property: a chain of n terms would take n^2
    def weak(self) -> bool:
        return self.a.weak and not self.dtype.is_bool


@dataclass(frozen=True)
class Select(Expr):
    cond: Expr
    a: Expr
    b: Expr
    dtype: DType
    loc: Loc | None = _loc()

    @cached_property  # not a property: a chain of n terms would take n^2
    def weak(self) -> bool:
        return self.a.weak and self.b.weak


@dataclass(frozen=True)
class Cast(Expr):
    a: Expr
    dtype: DType
    weak: bool = False  # int(x) / float(x) give Python numbers; cs.i32(x) a typed one
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class GraphQuery(Expr):
    fn: str  # num_nodes | num_edges | out_degree | in_degree | has_edge
    args: tuple[Expr, ...]
    loc: Loc | None = _loc()

    @property
    def dtype(self) -> DType:
        return boolean if self.fn == "has_edge" else i64

    @property
    def weak(self) -> bool:
        return self.fn != "has_edge"


@dataclass(frozen=True)
class TableRef(Expr):
    """A whole node or edge table, as a kernel result."""

    table: str
    dtype: DType
    loc: Loc | None = _loc()


# -------------------------------------------------------------------------- statements
@dataclass(frozen=True)
class Stmt:
    pass


@dataclass(frozen=True)
class Alloc(Stmt):
    table: str
    fill: Expr
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Store(Stmt):
    table: str
    index: Expr | None
    value: Expr
    op: str | None = None
    flag: str | None = None
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Assign(Stmt):
    name: str
    value: Expr
    op: str | None = None
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...] = ()
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Loop(Stmt):
    kind: str
    var: str | None
    body: tuple[Stmt, ...]
    schedule: str = "seq"
    of: Expr | None = None
    start: Expr | None = None
    stop: Expr | None = None
    step: Expr | None = None
    cond: Expr | None = None
    locals: tuple[tuple[str, DType], ...] = ()
    loc: Loc | None = _loc()

    @property
    def is_edge_loop(self) -> bool:
        return self.kind in ("out_edges", "in_edges", "edges")

    @property
    def is_data_loop(self) -> bool:
        """A loop over graph data (vertices or edges), the kind rewrites parallelise."""
        return self.kind in ("nodes", "out_edges", "in_edges", "edges")


@dataclass(frozen=True)
class Exchange(Stmt):
    """Collective: send every buffered remote reduction of ``table`` to its owner, which
    applies it with ``op`` (setting ``flag`` on every blade if any entry changed)."""

    table: str
    op: str
    flag: str | None = None
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Refresh(Stmt):
    """Collective: every blade copies the owners' values of ``table`` into its mirror."""

    table: str
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class AllReduce(Stmt):
    """Collective: replace the scalar ``table`` on every blade by the ``op``-combination
    of all blades' values (a reduction tree)."""

    table: str
    op: str
    loc: Loc | None = _loc()


COMM_STMTS = (Exchange, Refresh, AllReduce)


# ---------------------------------------------------------------------------- kernel
@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # scalar | array | shard (shard_lo / shard_hi of a blade program)
    dtype: DType
    default: object = None
    has_default: bool = False
    node: bool = False  # used as a vertex id: checked to be in 0..n-1 when bound
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Table:
    name: str
    space: str  # node | edge | scalar
    dtype: DType
    role: str = "local"  # local | input | weight
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Kernel:
    name: str
    params: tuple[Param, ...]
    tables: tuple[Table, ...]
    body: tuple[Stmt, ...]
    returns: tuple[Expr, ...]
    weight_dtype: DType = field(default=None)
    loc: Loc | None = _loc()
    #: the user's fixed-point policy (``cosynth.fixed.FixedPoint``) for float loops that go
    #: to hardware; None: floats stay on the CPU.  Rewrites keep it (``replace``).
    fixed: object = None

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def table_map(self) -> dict[str, Table]:
        return {t.name: t for t in self.tables}


def children(node) -> list:
    """The IR nodes directly inside ``node`` (expressions and statements), in order."""
    out = []
    for f in fields(node):
        if f.name == "loc":
            continue
        v = getattr(node, f.name)
        if isinstance(v, Expr | Stmt):
            out.append(v)
        elif isinstance(v, tuple):
            out.extend(x for x in v if isinstance(x, Expr | Stmt))
    return out
