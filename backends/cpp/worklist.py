"""Worklists for relaxed (``async``) node loops: only vertices whose inputs moved run.

``cosynth.ir.vec`` decides, from the relaxation proof, when a node loop may run as a
worklist and which tables (with the reduction that only improves them) say that a vertex
has work: its ``plan``.  The generated bookkeeping keeps, across the loop's executions,
the plan's tables as they were at the start and at the end of the last sweep.  A sweep
runs every vertex of its range when there was no previous sweep over the same range, or
when some entry moved *against* its reduction since then (the state was reset); else
only the vertices whose entries changed since the last sweep started.
"""

from __future__ import annotations

from cosynth import ops
from cosynth.ir.nodes import Loop
from cosynth.ir.vec import _worklist_plan

from .exprs import ctype

__all__ = ["Worklist", "open_worklist"]


class Worklist:
    """The bookkeeping of one loop: ``prefix`` of its C++ variables and its ``plan``
    (table -> reduction)."""

    def __init__(self, prefix: str, plan: dict[str, str]):
        self.prefix, self.plan = prefix, plan

    def skip(self, var: str) -> str:
        """The first statement of the loop's body: skip a vertex without work."""
        wl = self.prefix
        return f"  if (!{wl}all && !{wl}active[{var} - {wl}lo]) continue;"

    def close(self, cx) -> None:
        """After the loop: remember this sweep's start and end."""
        wl = self.prefix
        for t in self.plan:
            cx.out(f"{wl}start_{t}.swap({wl}now_{t}); {wl}end_{t} = {t};")
        cx.out(f"{wl}have = true; {wl}plo = {wl}lo; {wl}phi = {wl}hi;")


def open_worklist(cx, s: Loop) -> Worklist | None:
    """For a node loop the interpreter may run as a worklist, emit (through the loop
    emitter ``cx``) the bookkeeping before the loop; None if the loop runs whole."""

    class _View:
        k = cx.k
        tables = cx.tables
    plan = _worklist_plan(_View, s) if s.kind == "nodes" else None
    if not plan:
        return None
    wl = cx.tmp("wl") + "_"
    lo = f"std::max<int64_t>({cx.expr(s.start)}, 0)" if s.start is not None else "0"
    hi = f"std::min<int64_t>({cx.expr(s.stop)}, n)" if s.stop is not None else "n"
    cx.decls.append(f"bool {wl}have = false; int64_t {wl}plo = 0, {wl}phi = 0;")
    for t in plan:
        c = ctype(cx.tables[t].dtype)
        cx.decls.append(f"std::vector<{c}> {wl}start_{t}, {wl}end_{t};")
    cx.out(f"const int64_t {wl}lo = {lo}, {wl}hi = std::max<int64_t>({hi}, {wl}lo);")
    cx.out(f"bool {wl}all = !{wl}have || {wl}plo != {wl}lo || {wl}phi != {wl}hi;")
    for t, op in plan.items():
        cond = ops.reduction(op).cpp_improves.format(v=f"{wl}end_{t}[i]", t=f"{t}[i]")
        cx.out(f"if (!{wl}all) {{ bool back = false;")
        cx.out("  #pragma omp parallel for reduction(||:back)")
        cx.out(f"  for (int64_t i = 0; i < (int64_t){t}.size(); ++i) if ({cond}) back = true;")
        cx.out(f"  {wl}all = back; }}  // moved against {op}: the state was reset")
    cx.out(f"std::vector<uint8_t> {wl}active({wl}hi - {wl}lo, 1);")
    for t in plan:
        cx.out(f"std::vector<{ctype(cx.tables[t].dtype)}> {wl}now_{t}({t}.begin() + "
               f"({wl}lo - G.glo), {t}.begin() + ({wl}hi - G.glo));")
    diff = " || ".join(f"{wl}now_{t}[i] != {wl}start_{t}[i]" for t in plan)
    cx.out(f"if (!{wl}all) for (int64_t i = 0; i < {wl}hi - {wl}lo; ++i) "
           f"{wl}active[i] = ({diff});")
    return Worklist(wl, plan)
