"""Frontiers of relaxed (``async``) node loops: run only the vertices whose state changed,
lowest bucket first (delta-stepping), from a work list the writes themselves build.

schedule::

    while changed @seq:                       while changed:
      changed = False                           changed = False
      for v in nodes() @async:         ->       F.begin(lo, hi, delta, ...)  (1st time: all v)
        for e in out_edges(v):                  #pragma omp parallel       (one per sweep)
          nd := dist[v] + w[e.id]                 while F.next(part):      (lowest bin first)
          dist[e.dst] min= nd -> changed            for i in part: v = F.take(part, i)
      exchange dist min -> changed                    ... if dist[d] min= nd: changed; F.push(d)
                                              exchange dist (a change: F.push(owner entry))
                                              F.reset() after the while loop

The runtime's ``Frontier`` (``cosynth_rt.hpp``) holds the queued vertices in per-thread
bins by key ``floor(T[v] / delta)``; ``delta`` comes from the plan (run.cfg's
``sched.delta``, infinity when absent or when the loop may not be bucketed: one bin,
today's async order; ``sched.keyed``: the frontier runs without pending bytes;
``sched.logkeys``: bins of doubling width, key ``1 + floor(log2(T[v] / delta))`` from
delta on, for labels spread over ``[0, n)``, ``planner.workload.choose_label_delta``).  A
sweep is one parallel region: the threads agree on each round (the lowest key) at one
barrier and take its work in chunks of a shared list (sparse) or of the whole range
(dense, more than 1/16 of it, pending bytes only); between rounds each thread runs its
own small bin of the running key alone (no barrier for a light edge's re-insertion).
Keyed (a finite delta and the plan's ``sched.keyed``, ``planner.workload.keyed``): an
entry runs when the vertex's key, read from the state when the entry is taken
(``take``'s key lambda), is still the bin's, so a push is a plain append and a take a
plain read (no shared byte per vertex changed atomically twice per queued vertex, whose
cache lines two threads pass to and fro); otherwise a byte per vertex keeps a vertex
pending at most once per key (the runtime's comment says why both are legal).

Legality: ``cosynth.frontend.rewrite.frontier`` (which loops, which may be bucketed);
the emitted code queues a vertex after every change of its state entries in the blade's
range -- the loop's reductions and the exchange's -- and resets the frontier when the
while loop ends, as that argument requires.  The first sweep leaves out the vertices at
the top of the order (the min reduction's identity) only when ``relax_order`` is proved
for the loop (the runtime applies it only under a finite delta, which the planner gives
only for non-negative weights): their contributions are the top, which min never
applies, so running them changes nothing.
"""

from __future__ import annotations

from cosynth.frontend.rewrite.frontier import bucketed, frontier_plan, relax_order
from cosynth.ir.nodes import Loop, Var

from .exprs import identity

__all__ = ["FrontierLoop", "open_frontier"]


class FrontierLoop:
    """The emitted frontier of one loop: its C++ object ``name``, the state ``plan``
    (table -> reduction) and whether the loop may be bucketed (``buckets``)."""

    def __init__(self, name: str, plan: dict[str, str], buckets: bool, var: str = "",
                 key: str = "[](int64_t) { return 0.0; }"):
        self.name, self.plan, self.buckets, self.var = name, plan, buckets, var
        self.key = key  # C++ lambda: local id -> the state value that keys it

    def prefetch(self, s: Loop, of: str) -> tuple[str, str] | None:
        """For an edge loop ``s`` over the frontier vertex's own edges: (a declaration
        before the row loop, the C++ statement in it) that prefetch the state entries
        ``Frontier::kAhead`` edges ahead at the far end (the relaxation's random reads; a
        hint, no effect on the result), else None.  The edge ``kAhead`` positions on may
        be in a later row: a dense round runs the rows in order, so it is the next
        vertex's (most rows of a skewed graph are shorter than ``kAhead``, and stopping at
        the row's end left them without any prefetch).  The position must stay inside the
        blade's edge arrays; that is tested once per row (``end + kAhead <= `` the arrays'
        end: then every edge of the row may look ahead), not at each edge (three
        instructions an edge at kron-18 SSSP): the last ``kAhead`` edges of the blade's
        arrays only lose their hint (rows that reach them prefetch nothing)."""
        if not (isinstance(s.of, Var) and s.of.name == self.var):
            return None
        ahead = "Frontier::kAhead"
        if s.kind == "out_edges":
            end, row, far = "G.ehi", f"G.out_end({of})", f"G.edge_dst_l({s.var} + {ahead})"
        elif s.kind == "in_edges":
            end, row = "G.cend", f"G.in_end({of})"
            far = f"G.in_src[{s.var}__p + {ahead} - G.clo]"
        else:
            return None
        hints = " ".join(f"__builtin_prefetch(&{t}[{far}]);" for t in self.plan)
        return (f" const bool {of}__pf = {row} + {ahead} <= {end};",
                f"  if ({of}__pf) {{ {hints} }}")

    def push(self, local: str, value: str, region: bool = True) -> str:
        """C++ statement: the entry at local id ``local`` changed to ``value``; ``region``:
        said in the sweep's own region, whose part names the pushing thread's bins (no
        thread-number call per push), else from any thread (the exchange's)."""
        part = f"{self.name}_p, " if region else ""
        return f"{self.name}.push({part}{local}, (double)({value}));"

    def header(self, var: str, clauses: list[str]) -> tuple[list[str], list[str]]:
        """(the parallel region and the sweep's loop over parts, the for line over a part
        and its first statement); ``clauses``: the region's reduction clauses."""
        f = self.name
        return ([f"#pragma omp parallel num_threads({f}.team()) {' '.join(clauses)}".rstrip(),
                 "{", f"Frontier::Part {f}_p;", f"while ({f}.next({f}_p)) {{"],
                [f"for (int64_t {f}_i = {f}_p.a; {f}_i < {f}_p.b; ++{f}_i) {{",
                 f"  const int64_t {var} = {f}.take({f}_p, {f}_i, {self.key}); "
                 f"if ({var} < 0) continue;"])

    @staticmethod
    def close() -> list[str]:
        """What closes the sweep after the for loop's brace: the while and the region."""
        return ["}", "}"]


def open_frontier(cx, s: Loop) -> FrontierLoop | None:
    """For a node loop that may run from a frontier, declare its ``Frontier`` and emit
    (through the loop emitter ``cx``) the start of the sweep; None otherwise."""
    if cx.hw is not None or not cx.whiles:
        return None
    plan = frontier_plan(cx.k, s, cx.whiles[-1][0])
    if not plan:
        return None
    buckets = bucketed(cx.k, plan)
    f = cx.tmp("fr")
    cx.decls.append(f"Frontier {f};  // the work list of the relaxed loop at line "
                    f"{s.loc.line if s.loc else 0}")
    lo = f"std::max<int64_t>({cx.expr(s.start)}, 0)" if s.start is not None else "0"
    hi = f"std::min<int64_t>({cx.expr(s.stop)}, n)" if s.stop is not None else "n"
    table = next(iter(plan))
    delta = "g_delta" if buckets else "INFINITY"
    d = cx.tables[table].dtype
    if buckets and relax_order(cx.k, s, table).ok:  # the top need not run (docstring)
        top = f"true, [&](int64_t l) {{ return {table}[l] == {identity('min', d)}; }}"
    else:
        top = "false, [](int64_t) { return false; }"
    keyed = "g_keyed" if buckets else "false"
    if buckets:
        cx.out(f"{f}.logkeys = g_logkeys;")
    cx.out(f"{f}.begin({lo}, {hi}, {lo} - G.glo, {delta}, {keyed}, "
           f"[&](int64_t l) {{ return {table}[l]; }}, {top});")
    if buckets and "const double g_delta" not in "".join(cx.decls):
        cx.decls.append('const double g_delta = cfg.kv.count("sched.delta") ? '
                        'cfg.f64("sched.delta") : INFINITY;  // bucket width (plan)')
        cx.decls.append('const bool g_keyed = cfg.kv.count("sched.keyed") && '
                        'cfg.i64("sched.keyed") != 0;  // entries checked by key (plan)')
        cx.decls.append('const bool g_logkeys = cfg.kv.count("sched.logkeys") && '
                        'cfg.i64("sched.logkeys") != 0;  // bins of log2 width (plan)')
    fl = FrontierLoop(f, plan, buckets, s.var,
                      f"[&](int64_t l) {{ return load(&{table}[l]); }}")
    cx.whiles[-1][1].append(fl)
    return fl
