"""Rule ``relax``: chaotic relaxation of a fixed-point loop.

rewrite::

    while changed @seq:                         while changed @seq:
      changed = False                             changed = False
      for v in nodes() @seq:            ->        for v in nodes() @async:      (or @bsp)
        for e in out_edges(v) @seq:                 for e in out_edges(v) @async:
          nd := dist[v] + weight[e.id]                nd := dist[v] + weight[e.id]
          dist[e.dst] min= nd -> changed              dist[e.dst] min= nd -> changed

The sequential loop is Gauss-Seidel: each update sees the ones before it.  ``async``
lets iterations run in any order and see any subset of the others' updates; ``bsp``
(Jacobi, double-buffered) lets every read see the state from before the sweep.  All three
reach the same fixed point when:

* the while loop is a pure fixed point: its condition is a change flag, its body clears
  the flag and then only runs node/edge loops;
* every write in those loops is a reduction into the relaxed *state* tables whose
  operator is a semilattice (commutative, associative, idempotent: ``min``, ``max``,
  ``or``, ``and``) and whose change flag is the loop's flag, so that the loop stops
  exactly when a sweep changes nothing;
* every contribution ``if guard: t[i] op= f(state)`` is monotone in the state (proved
  with Z3; floats with IEEE rounding monotonicity), so updates only ever move towards the
  same extreme fixed point whatever their order.

Asynchronous order then only changes how many sweeps it takes.  ``bsp`` needs the same
conditions here (it is the schedule where every read sees the previous sweep).  A
reduction that is not idempotent is refused with Z3's counterexample: PageRank's sums must
stay bulk-synchronous per sweep, which ``parallelize`` handles.  ``relax`` to ``seq`` is
always legal (in order is one of the orders).
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.ir.nodes import Const, Kernel, Load, Loop, Store
from cosynth.ir.printer import print_stmts
from cosynth.ir.visit import Transformer
from cosynth.ir.walk import iter_stmts

from .core import Path, applied, get, refused, replace_at
from .deps import accesses
from .laws import DEFAULT_POLICY, Policy, semilattice
from .proofs import monotone

NAME = "relax"


def applies_to(loop) -> bool:
    return isinstance(loop, Loop) and loop.kind == "while"


def apply(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY, to: str = "async"):
    loop = get(k, path)
    if not applies_to(loop):
        return refused(NAME, path, "not a while (fixed-point) loop")
    data = [s for s in loop.body if isinstance(s, Loop) and s.is_data_loop]
    if to == "seq":
        if not data or all(d.schedule == "seq" for d in data):
            return refused(NAME, path, "its loops are already sequential")
        return applied(NAME, path, replace_at(k, path, [_schedule(loop, "seq")]),
                       "running each sweep in order is one of the orders allowed")
    if data and all(d.schedule == to for d in data):
        return refused(NAME, path, f"already {to}")
    # 1. the reductions' operators must form a semilattice
    laws = []
    reductions = [(s, k.table_map[s.table]) for d in data for s, _ in iter_stmts(d.body)
                  if isinstance(s, Store)]
    for s, t in reductions:
        if s.op is None:
            continue
        for law in semilattice(s.op, t.dtype, policy):
            if law not in laws:
                laws.append(law)
            if not law.ok:
                return refused(NAME, path, f"'{s.table}' is reduced with {s.op}, which "
                               f"asynchronous updates cannot reorder or repeat: "
                               f"{law.describe()}", laws)
    # 2. the shape of a pure fixed point
    cond = loop.cond
    if not (isinstance(cond, Load) and cond.index is None and cond.dtype.is_bool):
        return refused(NAME, path, "the loop condition is not a change flag (a bool scalar "
                       "that the sweep sets when something changed)", laws)
    flag = cond.table
    body = list(loop.body)
    if not body or not (isinstance(body[0], Store) and body[0].table == flag and
                        body[0].op is None and isinstance(body[0].value, Const)
                        and body[0].value.value is False):
        return refused(NAME, path, f"the body does not start by clearing '{flag}'", laws)
    if len(data) != len(body) - 1:
        extra = [print_stmts([s])[0].strip() for s in body[1:]
                 if not (isinstance(s, Loop) and s.is_data_loop)]
        return refused(NAME, path, "the body does other work besides its node/edge loops "
                       f"({'; '.join(extra)[:120]}), so it is not a pure fixed point", laws)
    if not data:
        return refused(NAME, path, "the body has no node/edge loops to relax", laws)
    state: set[str] = set()
    for d in data:
        for a in accesses(k, d):
            if not a.write:
                continue
            if a.table == flag and (a.is_flag or a.op == "or"):
                continue
            if a.private:
                return refused(NAME, path, f"the sweep writes '{a.table}', a private of an "
                               "enclosing loop", laws)
            if a.op is None or k.table_map[a.table].space == "scalar":
                return refused(NAME, path, f"{a.describe()}: only reductions into node/edge "
                               "tables may change during relaxation", laws)
            if a.stmt.flag != flag:
                return refused(NAME, path, f"{a.describe()} does not report its change in "
                               f"'{flag}', so the loop could stop before the fixed point",
                               laws)
            state.add(a.table)
    # 3. every contribution is monotone in the state
    for d in data:
        for law in monotone(k, d, state, policy):
            laws.append(law)
            if not law.ok:
                return refused(NAME, path, f"an update is not monotone in the state: "
                               f"{law.describe()}", laws)
    return applied(NAME, path, replace_at(k, path, [_schedule(loop, to)]),
                   f"fixed point of monotone {'/'.join(sorted({s.op for s, _ in reductions}))}"
                   f" updates of {', '.join(sorted(state))}: any order reaches it", laws)


def _schedule(loop: Loop, schedule: str) -> Loop:
    """``loop`` with every node/edge loop inside it running ``schedule``."""
    return replace(loop, body=_Reschedule(schedule).visit_body(loop.body))


class _Reschedule(Transformer):
    def __init__(self, schedule: str):
        self.schedule = schedule

    def visit_Loop(self, s: Loop):
        s = self.generic_visit(s)
        return replace(s, schedule=self.schedule) if s.is_data_loop else s

    def visit_Expr(self, e):
        return e
