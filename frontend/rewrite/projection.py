"""Rule ``project``: owner-computes projection of a kernel onto one blade's shard.

The result is one *blade program*, the same on every blade (code is replicated, data is
sharded): two extra parameters ``shard_lo``/``shard_hi`` name the vertices this blade owns
(the planner's shard map assigns the ranges; the runtime passes them in).

rewrite (one sweep of SSSP)::

    while changed @seq:                       while changed @seq:
      changed = False                           changed = False
      for v in nodes() @async:                  changed__part = False
        for e in out_edges(v) @async:    ->     for v in nodes(shard_lo, shard_hi) @async:
          nd := dist[v] + weight[e.id]            for e in out_edges(v) @async:
          dist[e.dst] min= nd -> changed            nd := dist[v] + weight[e.id]
                                                    dist[e.dst] min= nd -> changed__part
                                                exchange dist min -> changed__part
                                                refresh dist
                                                allreduce changed__part or
                                                changed or= changed__part

* A parallel (``par``/``bsp``/``async``) node or edge loop runs over the owned vertices
  (edges: those whose source is owned).  Its reductions into entries another blade owns
  are combined locally with the reduction operator and sent to the owner at the
  ``exchange`` after the loop (the owner applies them, setting the change flag if they
  change anything).  Every node/edge table the loop wrote is then ``refresh``ed: each
  blade's mirror of the entries it does not own is brought up to date once per superstep.
* A global scalar reduction (a flag, a sum) accumulates into a per-blade partial that
  starts at the operator's identity; ``allreduce`` combines the partials (a reduction
  tree) and the result is folded into the scalar on every blade.
* Everything else, sequential loops included, is replicated: every blade computes the
  same values on its own full copy, so control flow stays identical on all blades.

* A node table's ``refresh`` is left out when the blade program never reads the table at
  a vertex the blade may not own (``ghost_reads``): every load of it is at the running
  vertex of a distributed node loop (or the near end of that vertex's edges, the source
  of a distributed edge loop's edge), which the blade owns.  Legal: a refresh writes only
  the blade's mirror entries of vertices other blades own; no statement reads them, and
  the results are gathered from each blade's owned range, so nothing observes them.  The
  exchange does not need them either: remote reductions are buffered in the outbox from
  the operator's identity, never from the mirror.  (PageRank's ``contrib`` and ``rank``
  are read at owned vertices only: its refreshes went, with their traffic and copies.)

Needs: every reduction that is split across blades has a commutative, associative
operator (proved by Z3, with the float-sum policy where it applies); a loop that writes
an edge table from its in-edges (the edge's owner is another blade) is refused.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.dtypes import i64
from cosynth.ir.nodes import (
    AllReduce,
    Assign,
    Bin,
    Const,
    EdgeAttr,
    Exchange,
    Kernel,
    Load,
    Loop,
    Param,
    Refresh,
    Store,
    Table,
    TableRef,
    Var,
)
from cosynth.ir.visit import Transformer
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .core import applied, loop_label, refused
from .laws import DEFAULT_POLICY, Policy, identity_value, reorderable
from .nests import fresh_name

NAME = "project"
LO, HI = "shard_lo", "shard_hi"


def is_projected(loop: Loop) -> bool:
    """A loop this rule distributed (its range starts at the blade's ``shard_lo``)."""
    if loop.start is None:
        return False
    return any(isinstance(x, Var) and x.name == LO for x in iter_exprs(loop.start))


def apply(k: Kernel, path=(), policy: Policy = DEFAULT_POLICY, *, fpga: bool = False):
    """The blade program of ``k``; ``fpga``: some blade runs its loops on an FPGA unit,
    whose tables are full size and whose sweeps read every entry, so every written table
    keeps its refresh (a refresh is a collective: all blades of a plan run the same ones)."""
    if any(p.kind == "shard" for p in k.params):
        return refused(NAME, path, "already a blade program")
    p = _Projector(k, policy)
    try:
        body = p.visit_body(k.body)
    except _Refuse as exc:
        return refused(NAME, path, str(exc), p.laws)
    if not p.projected:
        return refused(NAME, path, "no parallel node/edge loop to distribute: every loop is "
                       "sequential (parallelize or relax them first); the kernel would only "
                       "be replicated", p.laws)
    params = tuple(k.params) + (Param(LO, "shard", i64), Param(HI, "shard", i64))
    tables = tuple(k.tables) + tuple(p.new_tables)
    new = replace(k, params=params, tables=tables, body=tuple(body))
    read = ghost_reads(new)
    unread = [] if fpga else sorted(
        {s.table for s, _ in iter_stmts(new.body) if isinstance(s, Refresh)
         and new.table_map[s.table].space == "node" and s.table not in read})
    if unread:
        new = replace(new, body=_Unrefresh(set(unread)).visit_body(new.body))
    seq = f"; replicated (sequential): {', '.join(p.replicated)}" if p.replicated else ""
    dropped = f"; no refresh of {', '.join(unread)} (read at owned vertices only)" \
        if unread else ""
    return applied(NAME, path, new, f"distributed {len(p.projected)} loop(s) over the owned "
                   f"shard: {', '.join(p.projected)}{seq}{dropped}", p.laws)


class _Refuse(Exception):
    pass


class _Projector(Transformer):
    """Replaces every parallel node/edge loop by its projection (a list of statements);
    sequential ones are replicated as they are."""

    def __init__(self, k: Kernel, policy: Policy):
        self.k = k
        self.policy = policy
        self.laws = []
        self.new_tables: list[Table] = []
        self.projected: list[str] = []
        self.replicated: list[str] = []

    def visit_Loop(self, s: Loop):
        if not s.is_data_loop:
            return self.generic_visit(s)
        if s.schedule == "seq":
            self.replicated.append(loop_label(s))
            return s
        self.projected.append(loop_label(s))
        return self.project(s)

    def visit_Expr(self, e):
        return e

    def part(self, name: str, dtype) -> str:
        part = f"{name}__part"
        if part not in self.k.table_map and all(t.name != part for t in self.new_tables):
            self.new_tables.append(Table(part, "scalar", dtype))
        return part

    def project(self, loop: Loop) -> list:
        tables = self.k.table_map
        reduced: dict[str, tuple[str, str | None]] = {}  # node table -> (op, flag)
        written: set[str] = set()
        scalars: dict[str, str] = {}  # scalar -> op
        flags: set[str] = set()
        for s, path in iter_stmts(loop.body):
            if not isinstance(s, Store):
                continue
            t = tables[s.table]
            if t.space == "scalar":
                if s.op is None:
                    raise _Refuse(f"'{s.table}' is stored (not reduced) inside a parallel loop")
                self._laws(s.op, t.dtype, s.table)
                if scalars.setdefault(s.table, s.op) != s.op:
                    raise _Refuse(f"'{s.table}' is reduced with two operators")
            else:
                written.add(s.table)
                if t.space == "edge" and any(lp.kind == "in_edges" for lp in path):
                    raise _Refuse(f"'{s.table}' (an edge table) is written from in-edges, "
                                  "whose owner is another blade")
                if s.op is not None and t.space == "node":
                    self._laws(s.op, t.dtype, s.table)
                    old = reduced.get(s.table)
                    if old is not None and old[0] != s.op:
                        raise _Refuse(f"'{s.table}' is reduced with two operators")
                    reduced[s.table] = (s.op, s.flag or (old[1] if old else None))
            if s.flag:
                flags.add(s.flag)
        for f in flags:
            self._laws("or", tables[f].dtype, f)
            if scalars.setdefault(f, "or") != "or":
                raise _Refuse(f"flag '{f}' is also reduced with {scalars[f]}")
        rename = {name: self.part(name, tables[name].dtype) for name in scalars}

        body = _Retarget(rename).visit_body(loop.body)
        new = self._range(replace(loop, body=body))
        before = [Store(rename[n], None, Const(identity_value(op, tables[n].dtype),
                                               tables[n].dtype), loc=loop.loc)
                  for n, op in sorted(scalars.items())]
        after: list = []
        for name, (op, flag) in sorted(reduced.items()):
            after.append(Exchange(name, op, rename.get(flag) if flag else None, loc=loop.loc))
        for name in sorted(written):
            after.append(Refresh(name, loc=loop.loc))
        for name, op in sorted(scalars.items()):
            t = tables[name]
            after.append(AllReduce(rename[name], op, loc=loop.loc))
            after.append(Store(name, None, Load(rename[name], None, t.dtype), op,
                               loc=loop.loc))
        return before + new + after

    def _range(self, loop: Loop) -> list:
        lo, hi = Var(LO, i64, True), Var(HI, i64, True)
        if loop.kind in ("nodes", "edges"):
            if loop.start is not None:
                raise _Refuse("the loop already has a vertex range")
            return [replace(loop, start=lo, stop=hi)]
        # a top-level loop over one vertex's edges: run by that vertex's owner
        v = _fresh(self.k, "owner")
        x = loop.of
        start = Bin("max", x, lo, i64)
        stop = Bin("min", Bin("+", x, Const(1, i64, True), i64), hi, i64)
        inner = replace(loop, of=Var(v, i64, True))
        return [Loop("nodes", v, (inner,), loop.schedule, start=start, stop=stop,
                     loc=loop.loc)]

    def _laws(self, op, dtype, name):
        for law in reorderable(op, dtype, self.policy):
            if law not in self.laws:
                self.laws.append(law)
            if not law.ok:
                raise _Refuse(f"the blades' contributions to '{name}' cannot be combined: "
                              f"{law.describe()}")


class _Retarget(Transformer):
    """Stores into (and flags naming) the scalars of ``rename`` go to their partials."""

    def __init__(self, rename: dict[str, str]):
        self.rename = rename

    def visit_Store(self, s: Store):
        changes = {}
        if s.table in self.rename:
            changes["table"] = self.rename[s.table]
        if s.flag in self.rename:
            changes["flag"] = self.rename[s.flag]
        return replace(s, **changes) if changes else s

    def visit_Expr(self, e):
        return e


def _fresh(k: Kernel, base: str) -> str:
    return fresh_name(k, base)


def ghost_reads(k: Kernel, distributed=is_projected) -> set[str]:
    """The node tables the blade program ``k`` may read at a vertex the blade does not
    own: every load except one at the running vertex of a distributed node loop, at the
    near end (``src`` of an out-edge, ``dst`` of an in-edge) of that vertex's edges, or at
    the source of a distributed edge loop's edge; a table named whole (``TableRef``) in a
    statement counts as read everywhere.  Returned node tables are gathered from each
    blade's owned range (``cosynth.ir.blades``, the C++ ``write_result``), so returning
    one reads no mirror; any other returned expression counts as it reads.
    ``distributed(loop)``: is the loop run over the blade's own range (in a kernel not yet
    projected, the planner passes ``will_distribute``: the loops this rule distributes)."""
    tables = k.table_map
    assigned = {s.name for s, _ in iter_stmts(k.body) if isinstance(s, Assign)}
    out: set[str] = set()
    for s, path in iter_stmts(k.body):
        for top in stmt_exprs(s):
            for e in iter_exprs(top):
                if isinstance(e, TableRef) and tables[e.table].space == "node":
                    out.add(e.table)
                elif isinstance(e, Load) and tables[e.table].space == "node" and \
                        not _owned(e.index, path, assigned, distributed):
                    out.add(e.table)
    for r in k.returns:
        if isinstance(r, TableRef):
            continue
        for e in iter_exprs(r):
            if isinstance(e, (Load, TableRef)) and tables[e.table].space == "node":
                out.add(e.table)
    return out


def will_distribute(loop: Loop) -> bool:
    """A loop of a kernel not yet projected that this rule runs over the blade's own range
    (a parallel node or edge loop; a top-level loop over one vertex's edges is wrapped in
    an owner loop instead, which this does not name)."""
    return loop.kind in ("nodes", "edges") and loop.schedule != "seq" and (
        loop.start is None or is_projected(loop))


def _owned(i, path, assigned: set[str], distributed=is_projected) -> bool:
    """Is the index ``i``, under the loops ``path``, a vertex the blade owns?"""
    mine = {lp.var for lp in path if lp.kind == "nodes" and distributed(lp)} - assigned
    if isinstance(i, Var):
        return i.name in mine
    if isinstance(i, EdgeAttr):
        lp = next((q for q in reversed(path) if q.var == i.edge), None)
        if lp is None:
            return False
        if lp.kind == "edges":
            return i.attr == "src" and distributed(lp)
        near = {"out_edges": "src", "in_edges": "dst"}.get(lp.kind)
        return i.attr == near and isinstance(lp.of, Var) and lp.of.name in mine
    return False


class _Unrefresh(Transformer):
    """Drops the ``refresh`` of the tables ``names``."""

    def __init__(self, names: set[str]):
        self.names = names

    def visit_Refresh(self, s: Refresh):
        return None if s.table in self.names else s

    def visit_Expr(self, e):
        return e
