"""Frontier schedules of relaxed (``async``) node loops: which loops may run only the
vertices whose state changed (``frontier_plan``), and which may do so lowest value first
in buckets of width delta (``bucketed``: delta-stepping).  The C++ backend
(``backends/cpp/frontier.py``) emits the schedule; the planner (``planner.workload``)
counts its work and chooses delta.

schedule::

    while changed @seq:                       while changed:
      changed = False                           changed = False
      for v in nodes() @async:         ->       F.begin(lo, hi, delta)      (1st time: all v)
        for e in out_edges(v):                  while F.round():            (lowest bin)
          nd := dist[v] + w[e.id]                 for v in F:               (queue or bitmap)
          dist[e.dst] min= nd -> changed            ... if dist[d] min= nd: changed; F.push(d)
      exchange dist min -> changed             exchange dist (a change: F.push(owner entry))
                                              F.reset() after the while loop

Legality of the frontier (``frontier_plan``).  ``cosynth.ir.vec``'s worklist plan (the
relaxation proof's conditions, checked on the loop) says that a vertex's contributions
read only its own entries of the state tables (reduced with an idempotent
``min``/``max``/``or``/``and``), edge data, constants and parameters; so running again a
vertex whose state entries did not change since it last ran re-applies the same
contributions, which changes nothing (idempotence): it may be skipped.  A vertex is
queued whenever one of its entries changes: by a reduction of this loop (every store of
the loop is such a reduction), or by the exchange that applies other blades'
contributions to the blade's own entries; the fixed point's other statements (between
two executions of the loop) must write the state tables only through that exchange (a
refresh writes ghosts, not the loop's range, when the loop runs over the blade's own
range) -- this is what the dependence check below reads off the IR.  Entering the while
loop anew runs every vertex of the range once: whatever happened before is covered.  One
execution drains the queue (later rounds see earlier rounds' writes: one of the orders
``relax`` allows), so it sets the change flag exactly when some entry changed.

Legality of the buckets (``bucketed``).  The relaxation proof (any order of the
monotone, idempotent updates reaches the same fixed point) makes every bin order legal,
lowest key first included, for any delta (delta = infinity: one bin, today's async).
Buckets are *useful* when there is one ``min`` state table and every contribution is
never below the running vertex's own value (``relax_order``, proved with Z3: a min-plus
step over non-negative weights), so a drained bucket is rarely entered again; the
planner then picks a finite delta (and checks the graph's weights are non-negative).
"""

from __future__ import annotations

import z3

from cosynth.dtypes import i64
from cosynth.ir.nodes import Exchange, Kernel, Loop, Refresh, Store, Var
from cosynth.ir.vec import _worklist_plan
from cosynth.ir.walk import iter_exprs, iter_stmts

from .proofs import _locals, counter_bounds
from .smt import Encoder, Law, Unsupported, leq, not_nan, prove
from .symbolic import Universe, View, effects

__all__ = ["frontier_plan", "bucketed", "relax_order", "frontier_loops", "NONNEG_WEIGHTS"]

#: the assumption under which a min-plus contribution is never below its source's value
NONNEG_WEIGHTS = "nonnegative-weights"


def frontier_plan(k: Kernel, loop: Loop, parent: Loop | None) -> dict[str, str] | None:
    """{state table: reduction} when ``loop`` (a direct child of the while loop
    ``parent``) may run from a frontier, else None (see the module docstring)."""
    if parent is None or parent.kind != "while" or not any(s is loop for s in parent.body):
        return None
    if loop.kind != "nodes" or loop.schedule != "async":
        return None

    class _View:
        pass
    _View.k, _View.tables = k, k.table_map
    plan = _worklist_plan(_View, loop)
    if not plan:
        return None
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, (Exchange, Refresh)) or (isinstance(s, Store) and s.op is None):
            return None
    shard = loop.start is not None and any(isinstance(x, Var) and x.name == "shard_lo"
                                           for x in iter_exprs(loop.start))
    for s in parent.body:
        if s is loop:
            continue
        for x, _ in iter_stmts([s]):
            if isinstance(x, Exchange) or getattr(x, "table", None) not in plan:
                continue
            if isinstance(x, Refresh) and shard:
                continue
            return None  # another statement writes the state: its changes are not queued
    return plan


def frontier_loops(k: Kernel) -> list[tuple[Loop, Loop, dict]]:
    """Every (while loop, node loop, plan) of ``k`` that runs from a frontier."""
    out = []
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop) and s.kind == "while":
            for c in s.body:
                if isinstance(c, Loop):
                    plan = frontier_plan(k, c, s)
                    if plan:
                        out.append((s, c, plan))
    return out


def bucketed(k: Kernel, plan: dict[str, str]) -> bool:
    """May the frontier's bins be keyed by value?  One numeric state table reduced with
    ``min`` (the key is its value over delta)."""
    if len(plan) != 1:
        return False
    (t, op), = plan.items()
    return op == "min" and not k.table_map[t].dtype.is_bool


def iteration_model(k: Kernel, loop: Loop):
    """One iteration of ``loop`` in Z3, for a law about its contributions: the universe
    (its ``hyps``), the encoder, the view whose ``reads`` it records, the iteration's
    effects and the running vertex's id.  Raises ``Unsupported`` for what is not
    modelled."""
    uni = Universe(k, counters=counter_bounds(k))
    enc = Encoder(None)
    vx = View(uni, loop, "this")
    ex = effects(loop, vx, _locals(k), enc=enc, after_nested="fresh")
    me = View(uni, loop, "this")(Var(loop.var, i64, True), enc)
    return uni, enc, vx, ex, me


def relax_order(k: Kernel, loop: Loop, table: str) -> Law:
    """Every contribution ``table[i] min= value`` of ``loop`` (guarded) is at least the
    running vertex's own entry ``table[v]`` as the iteration read it, for non-negative
    edge weights: proved with Z3 in exact IEEE (or bit-vector) semantics."""
    subject = f"{table} min= ... >= {table}[{loop.var}]"
    try:
        uni, enc, vx, ex, me = iteration_model(k, loop)
    except Unsupported as exc:
        return Law("relax order", subject, "unknown", f"not modelled: {exc}")
    d = k.table_map[table].dtype
    hyps = list(uni.hyps)
    own = []
    for name, idx, term in vx.reads:
        t = k.table_map[name]
        if t.role == "weight":
            hyps.append(leq(enc.const(0, t.dtype), term, t.dtype))
        if name == table and idx is not None and z3.eq(z3.simplify(idx), z3.simplify(me)):
            own.append(term)
    claims = []
    for a in ex:
        if a.table != table or a.op != "min":
            continue
        va = enc.convert(a.value, a.stmt.value.dtype, d)
        h = [not_nan(va, d)] if d.is_float else []
        claims.append(z3.Implies(z3.And(a.cond, *h), z3.Or(*[leq(r, va, d) for r in own])))
    if not claims or not own:
        return Law("relax order", subject, "unknown",
                   "no min reduction into the table, or it does not read its own entry")
    return prove("relax order", subject, z3.And(*claims), hyps, dict(uni.shown),
                 "Z3, exact semantics", [NONNEG_WEIGHTS])
