"""Vertex relabelling: may a program run on the graph with its vertices renamed by a
permutation ``p`` (degree order, for locality and short ordered rows), its node results
mapped back (``result[x] = relabelled_result[p[x]]``) and its values unchanged?

``relabelling(k)`` answers with a ``Relabel`` (the kind of argument, whether the result
is exact) or the reason it is not legal.  The C++ backend (``backends/cpp/relabel``)
relabels at run time when the plan asks for it; the planner asks only when the cost model
predicts a gain (``planner.stats.GraphStats.merge_work``).

Legality.  Call an expression *vertex-valued* when it is a node loop's variable, an
edge's endpoint, or a private assigned only vertex-valued expressions.

* ``equivariant``: every vertex value is only used as a node-table index, an argument of
  a graph query (degrees, ``has_edge``, the vertex whose edges a loop walks) or in an
  (in)equality with another vertex value.  Renaming the vertices of the graph and of every
  node table by ``p`` then renames every execution by ``p``: the same iterations run, in
  another order, reading and writing the renamed entries.  Node tables come out renamed
  (mapped back), scalars unchanged -- exactly when every reduction whose order changes is
  exact (integers, min/max/or/and), within the float-sum tolerance otherwise.
* ``clique count``: the program also compares vertex values by order (``u < v < w``),
  but only as conjuncts of guards (``if`` without ``else``) enclosing every effect of
  the loops, and those comparisons order all the vertices of the nest in one strict
  chain; every pair of those vertices is joined by an edge test (an edge loop from one to
  the other, or a ``has_edge`` conjunct); every effect is a commutative, associative
  reduction of a constant, and each node table is reduced at each of the chained vertices
  equally often.  On a symmetric graph (checked on the graph by the planner) the edge
  tests are symmetric in the chained vertices, so the set of vertex tuples they accept is
  closed under permuting its positions and each set of distinct vertices is accepted in
  exactly one order -- the one the chain selects, under any naming.  Renaming therefore
  selects the same vertex sets (one order each) and each effect, symmetric in the chained
  vertices, does the same to the renamed entries: node results map back, scalars are
  unchanged (triangle counting: ``u < v < w`` with all three edges tested).

Not legal (the reason is given): vertex parameters and node array arguments (they would
need renaming too), edge tables and edge ids (edge ids change with the rows), weights,
in-edge loops when only the out-rows are renamed (the run-time renaming), any other use of
a vertex value (arithmetic, stored as a value, returned, compared with something that is
not a vertex).

``relabelling(k, whole_graph=True)`` asks the same of a renaming of the *whole* graph --
out-rows, in-rows and degrees alike, as the bundle writes a degree-ordered layout
(``backends/cpp/bundle``): the renamed graph is the user's graph with its vertices
renamed by ``p``, so the argument above holds for in-edge loops too (an in-edge loop of
``p(v)`` walks the renamed in-edges of ``v``); only the refusal of in-edge loops goes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from cosynth.ir.nodes import (
    Assign,
    Bin,
    Const,
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
from cosynth.ir.visit import Visitor
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .intersect import conjuncts

__all__ = ["Relabel", "relabelling", "why_not"]

_ORDER = ("<", "<=", ">", ">=")
_EXACT_OPS = ("min", "max", "or", "and")
_REDUCTIONS = ("add", *_EXACT_OPS)  # commutative and associative (add: on integers)


@dataclass(frozen=True)
class Relabel:
    kind: str  # "equivariant" | "clique count"
    exact: bool  # results equal bit for bit (else within the float-sum tolerance)
    needs_symmetric: bool  # legal only on a symmetric graph
    reason: str


def relabelling(k: Kernel, whole_graph: bool = False) -> Relabel | None:
    """The renaming ``k`` admits (``whole_graph``: in-rows renamed too), or None."""
    r = _analyse(k, whole_graph)
    return r if isinstance(r, Relabel) else None


def why_not(k: Kernel, whole_graph: bool = False) -> str:
    r = _analyse(k, whole_graph)
    return "" if isinstance(r, Relabel) else r


def _analyse(k: Kernel, whole_graph: bool = False) -> Relabel | str:
    tables = k.table_map
    for p in k.params:
        if p.node:
            return f"parameter {p.name} is a vertex id (it would need renaming)"
        if p.kind == "array":
            return f"argument {p.name} is a node array (it would need renaming)"
    for t in k.tables:
        if t.space == "edge":
            return f"{t.name} is an edge table (edge ids change with the rows)"
    stmts = list(iter_stmts(k.body))
    for s, _ in stmts:
        if isinstance(s, Loop) and s.kind == "in_edges" and not whole_graph:
            return "an in-edge loop (the relabelled graph keeps out-rows only)"
    vertex = _vertex_privates(stmts)
    if isinstance(vertex, str):
        return vertex
    uses = _Uses(vertex)
    for s, _ in stmts:
        uses.stmt(s, tables)
        if uses.bad:
            return uses.bad
    for r in k.returns:
        if _is_vertex(r, vertex) or any(isinstance(x, EdgeAttr) for x in iter_exprs(r)):
            return "a vertex id is returned"
    exact = True
    for s, _ in stmts:
        if isinstance(s, Store) and s.op is not None and tables[s.table].dtype.is_float \
                and s.op not in _EXACT_OPS:
            exact = False
    if not uses.ordered:
        return Relabel("equivariant", exact, False, "vertex ids are only indices, graph "
                       "queries and equality tests: every iteration is renamed")
    why = _clique(k, stmts, vertex, uses.ordered)
    if why:
        return why
    return Relabel("clique count", exact, True, "the order tests select one order of each "
                   "clique of the vertices they chain, whatever the naming; every effect "
                   "is symmetric in them")


def _vertex_privates(stmts) -> dict[str, object] | str:
    """Privates assigned only vertex values: name -> the role of their vertex (a role is
    a node loop's variable, ``(edge, attr)`` for an endpoint; an out-edge loop's source
    is the role of the vertex whose edges it walks)."""
    loops = {s.var: s for s, _ in stmts if isinstance(s, Loop) and s.var}
    assigns: dict[str, list[Expr]] = {}
    for s, _ in stmts:
        if isinstance(s, Assign):
            assigns.setdefault(s.name, []).append(s.value if s.op is None else None)
    roles: dict[str, object] = {}

    def role(e: Expr):
        if isinstance(e, Var):
            if e.name in roles:
                return roles[e.name]
            lp = loops.get(e.name)
            return e.name if lp is not None and lp.kind == "nodes" else None
        if isinstance(e, EdgeAttr) and e.attr in ("src", "dst"):
            lp = loops.get(e.edge)
            if lp is not None and lp.kind == "out_edges" and e.attr == "src":
                return role(lp.of)
            return (e.edge, e.attr)
        return None

    changed = True
    while changed:
        changed = False
        for name, values in assigns.items():
            if name in roles or None in values:
                continue
            rs = {role(v) for v in values}
            if len(rs) == 1 and None not in rs:
                roles[name] = rs.pop()
                changed = True
    roles["__role__"] = role
    return roles


def _is_vertex(e: Expr, vertex: dict) -> bool:
    return vertex["__role__"](e) is not None


class _Uses:
    """Checks every use of a vertex value; collects the order comparisons."""

    def __init__(self, vertex: dict):
        self.vertex = vertex
        self.bad = ""
        self.ordered: list[Bin] = []

    def stmt(self, s, tables):
        vx = self.vertex
        if isinstance(s, Store):
            t = tables[s.table]
            if t.space == "node" and not (s.index is not None and _is_vertex(s.index, vx)):
                self.bad = f"{s.table} is indexed by a computed value (line {_line(s)})"
                return
            self.expr(s.value, s)
        elif isinstance(s, Assign):
            if s.name in vx and s.op is None:
                return  # a vertex private: its value is a vertex (checked by role)
            self.expr(s.value, s)
        elif isinstance(s, Loop):
            if s.kind in ("nodes", "edges") and (s.start is not None or s.stop is not None) \
                    and not _shard_bounds(s):
                self.bad = f"a node loop over a sub-range of ids (line {_line(s)})"
                return
            if s.kind == "range":
                for e in stmt_exprs(s):
                    self.expr(e, s)
            elif s.cond is not None:
                self.expr(s.cond, s)
            elif s.of is not None and not _is_vertex(s.of, vx):
                self.bad = f"an edge loop of a computed vertex (line {_line(s)})"
        elif isinstance(s, If):
            self.expr(s.cond, s)
        else:
            for e in stmt_exprs(s):
                self.expr(e, s)

    def expr(self, e: Expr, s):
        """Check ``e`` used as a value (not as a vertex)."""
        if self.bad:
            return
        vx = self.vertex
        if _is_vertex(e, vx):
            self.bad = f"a vertex id is used as a value (line {_line(s)})"
            return
        if isinstance(e, EdgeAttr):
            self.bad = f"an edge id is used (line {_line(s)})"
            return
        if isinstance(e, Load):
            if e.index is not None and not _is_vertex(e.index, vx):
                self.bad = f"{e.table} is read at a computed index (line {_line(s)})"
            return
        if isinstance(e, GraphQuery):
            if e.fn in ("out_degree", "in_degree", "has_edge"):
                if not all(_is_vertex(a, vx) for a in e.args):
                    self.bad = f"{e.fn} of a computed vertex (line {_line(s)})"
            return
        if isinstance(e, Bin) and e.op in ("==", "!=", *_ORDER) and \
                (_is_vertex(e.a, vx) or _is_vertex(e.b, vx)):
            if not (_is_vertex(e.a, vx) and _is_vertex(e.b, vx)):
                self.bad = f"a vertex id is compared with a value (line {_line(s)})"
            elif e.op in _ORDER:
                self.ordered.append(e)
            return
        for x in _children(e):
            self.expr(x, s)


def _children(e: Expr) -> list[Expr]:
    """The direct sub-expressions of ``e``."""
    out = []
    for f in fields(e):
        v = getattr(e, f.name)
        if isinstance(v, Expr):
            out.append(v)
        elif isinstance(v, tuple):
            out += [x for x in v if isinstance(x, Expr)]
    return out


def _shard_bounds(s: Loop) -> bool:
    return all(isinstance(x, Var) and x.name in ("shard_lo", "shard_hi")
               for x in (s.start, s.stop) if x is not None)


def _clique(k: Kernel, stmts, vertex: dict, ordered: list[Bin]) -> str:
    """"" when the order tests form the clique pattern of the module docstring."""
    role = vertex["__role__"]
    tables = k.table_map
    effects = [(s, p) for s, p in stmts if isinstance(s, Store) and p]
    guards = _Guards()
    guards.visit_body(k.body)
    # every order test is a conjunct of a guard around every effect
    for c in ordered:
        for s, _ in effects:
            if not any(c is g for g in guards.around.get(id(s), ())):
                return f"an order test of vertex ids does not guard every effect " \
                       f"(line {_line(s)})"
    chain = set()
    for c in ordered:
        a, b = role(c.a), role(c.b)
        if c.op not in ("<", ">"):
            return "an order test of vertex ids is not strict"
        chain.add((a, b) if c.op == "<" else (b, a))
    nodes = {x for pair in chain for x in pair}
    less = set(chain)
    changed = True
    while changed:
        changed = False
        for a, b in list(less):
            for c2, d in list(less):
                if b == c2 and (a, d) not in less:
                    less.add((a, d))
                    changed = True
    if any((a, a) in less for a in nodes):
        return "the order tests of vertex ids are contradictory"
    for a in nodes:
        for b in nodes:
            if a != b and (a, b) not in less and (b, a) not in less:
                return "the order tests do not chain all the compared vertices"
    # every vertex the loops around an effect bind is in the chain (else its orders of
    # one vertex set are counted separately: a wedge u < v with w free counts twice)
    for _s, path in effects:
        for lp in path:
            bound = {"nodes": [lp.var], "out_edges": [(lp.var, "dst")],
                     "edges": [(lp.var, "src"), (lp.var, "dst")]}.get(lp.kind, [])
            for b in bound:
                if b not in nodes:
                    return "the order tests do not chain every vertex the loops bind " \
                           f"(line {_line(lp)})"
    # edge tests: loops and has_edge conjuncts around the effects
    joined = set()
    for s, _ in stmts:
        if isinstance(s, Loop) and s.kind == "out_edges":
            joined.add(frozenset((role(s.of), (s.var, "dst"))))
        elif isinstance(s, Loop) and s.kind == "edges":
            joined.add(frozenset(((s.var, "src"), (s.var, "dst"))))
    for s, _ in effects:
        for g in guards.around.get(id(s), ()):
            if isinstance(g, GraphQuery) and g.fn == "has_edge":
                joined.add(frozenset((role(g.args[0]), role(g.args[1]))))
    for a in nodes:
        for b in nodes:
            if a != b and frozenset((a, b)) not in joined:
                return "not every pair of the ordered vertices is joined by an edge test"
    # effects: commutative, associative reductions of constants, symmetric in the chain
    counts: dict[str, dict] = {}
    for s, _ in effects:
        if s.op not in _REDUCTIONS or not isinstance(s.value, Const):
            return f"an effect is not a reduction of a constant (line {_line(s)})"
        if tables[s.table].space == "node":
            r = role(s.index)
            if r not in nodes:
                return f"{s.table} is reduced at a vertex outside the chain (line {_line(s)})"
            per = counts.setdefault(s.table, {})
            per[r] = per.get(r, 0) + 1
    for name, per in counts.items():
        if set(per) != nodes or len(set(per.values())) != 1:
            return f"{name} is not reduced at each ordered vertex equally often"
    return ""


class _Guards(Visitor):
    """For each store, the conjuncts of the ifs (without else) around it."""

    def __init__(self):
        self.stack: list[Expr] = []
        self.around: dict[int, tuple] = {}

    def visit_If(self, s: If):
        self.visit(s.cond)
        if s.orelse:
            self.visit_body(s.then)
            self.visit_body(s.orelse)
            return
        cs = conjuncts(s.cond)
        self.stack += cs
        try:
            self.visit_body(s.then)
        finally:
            del self.stack[len(self.stack) - len(cs):]

    def visit_Store(self, s: Store):
        self.around[id(s)] = tuple(self.stack)

    def visit_Expr(self, e):
        return None


def _line(s) -> int:
    return s.loc.line if getattr(s, "loc", None) is not None else 0
