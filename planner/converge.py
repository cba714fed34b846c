"""The runs of a convergence loop, counted by running the kernel on the plan's graph.

A ``while`` loop whose condition is neither a change flag (a fixed point: the rounds of
its kind, ``GraphStats.relax_rounds``) nor a comparison (a level counter: the BFS
levels) stops when a value the body computes passes a test -- PageRank's ``done = err <
n * tol or it >= max_iter``.  No graph statistic says when: the count depends on the
update, the threshold and the graph together (kron-11..20 with PageRank's defaults:
6, 6, 5, 4, 4, 3, 3, 2, 2, 1 iterations), and a continuous law fitted to those whole
numbers is off by up to half an iteration (3.54 / 2.50 / 1.48 predicted at kron-16 / 18
/ 20 against 3 / 2 / 1 run: +18 / +25 / +48% of the kernel's time).

``convergence_runs`` counts them exactly: it runs the kernel's own IR in the
interpreter (``cosynth.ir.interp``; its parallel nests as NumPy lanes, ``cosynth.ir.vec``)
on the graph with the run's arguments, the loops instrumented with counters (a pure
rewrite: a new kernel that adds ``runs += 1`` to each loop's body and ``entries += 1``
before it, and returns the counters).  So the update and the stopping test are the
kernel's, whatever they are, evaluated on the data the blades will get; nothing is
assumed of their form.

Legality of sharing a count between variants: every variant the planner profiles is
the kernel rewritten by laws proved and checked against the interpreter
(``frontend.rewrite``), so its loops run as often as the kernel's; a loop is named by its
source position, which rewrites keep.  (A variant that sums floats in another order may
see its error cross the threshold one iteration apart when the error lands within
rounding of it; the blades sum in yet another order.)

Cost: the interpreter's vectorised sweeps, 16-70 ns an edge per iteration by the form
(PageRank at kron-20, 31 M edges, one iteration, CPU: 0.52 s par, 2.0 s edges, 2.2 s
pull; the planner profiles ``par`` first and the others reuse its count).  It is bounded:
at most ``LANE_BUDGET`` vertex-and-edge lanes per while loop (the ``while_limit``:
kron-20, 7 iterations; kron-16, 132) and ``SCALAR_BUDGET`` iterations of loops run one
at a time (``interpret``'s ``budget``), and only kernels whose loops around the nests
are top-level while loops (``bounded``); past either, or when the run fails (an argument
missing), the loop is not counted and the model keeps its estimate (the calibrated
``log`` law, or ``OTHER_LOOP_ITERATIONS``).  Counted once per graph and arguments
(cached on the ``GraphStats``, like its other counts).
"""

from __future__ import annotations

import hashlib
import time

import numpy as np

from cosynth.dtypes import i64
from cosynth.errors import CosynthError
from cosynth.ir.interp import BudgetExhausted, interpret
from cosynth.ir.nodes import Const, If, Kernel, Load, Loop, Store, Table, replace
from cosynth.ir.walk import iter_stmts

__all__ = ["convergence_runs", "bounded", "loop_key", "LANE_BUDGET", "SCALAR_BUDGET"]

#: the most vertex and edge lanes (n + m per iteration) a counted while loop may take
LANE_BUDGET = 2.5e8
#: the most iterations the interpreter may run one at a time (loops it cannot vectorise)
SCALAR_BUDGET = 1_000_000


def loop_key(loop: Loop) -> tuple | None:
    """A loop's name across the variants of its kernel: its source position."""
    loc = loop.loc
    return None if loc is None else (loc.file, loc.line, loc.col)


def convergence_runs(k: Kernel, loops: list[Loop], stats, args: dict) -> dict:
    """``{loop_key: iterations per execution}`` of ``loops`` (while loops of ``k``) on the
    graph of ``stats`` with the bound ``args``, counted by running ``k``; ``{}`` when
    they cannot be counted within the budgets (or ``stats`` has no graph).  A loop never
    reached counts 0 iterations."""
    g = stats._graph
    keys = [loop_key(x) for x in loops]
    if g is None or not loops or any(x is None for x in keys) or not bounded(k):
        return {}
    key = ("converge", k.name, tuple(sorted(keys)), _args_key(args))
    if key not in stats._cuts:
        stats._cuts[key] = _count(k, loops, g, args)
    return dict(stats._cuts[key][0])


def bounded(k: Kernel) -> bool:
    """Is the kernel's run bounded by the budgets?  Every loop outside a parallel nest
    (the nests run as lanes, one sweep of the graph each) is enclosed by top-level
    ``while`` loops only (each held to ``while_limit`` iterations): no loop repeats a
    while loop or a nest an unbounded number of times (a sequential loop over the
    vertices around a BFS, as in ``examples/bc.py``: n sweeps, not counted)."""
    top = {id(s) for s in k.body if isinstance(s, Loop) and s.kind == "while"}
    for s, path in iter_stmts(k.body):
        if not isinstance(s, Loop):
            continue
        if any(p.is_data_loop and p.schedule != "seq" for p in path):
            continue  # inside a nest: its lanes
        if any(id(p) not in top for p in path):
            return False
    return True


def count_seconds(k: Kernel, loops: list[Loop], stats, args: dict) -> float | None:
    """The CPU seconds the count took (None: not counted yet)."""
    keys = [loop_key(x) for x in loops]
    if any(x is None for x in keys):
        return None
    got = stats._cuts.get(("converge", k.name, tuple(sorted(keys)), _args_key(args)))
    return None if got is None else got[1]


def _count(k: Kernel, loops: list[Loop], g, args: dict) -> tuple[dict, float]:
    t0 = time.process_time()
    names = {}
    taken = set(k.table_map)
    for i, loop in enumerate(loops):
        runs, entries = f"__runs{i}", f"__entries{i}"
        while runs in taken or entries in taken:
            runs, entries = "_" + runs, "_" + entries
        taken |= {runs, entries}
        names[id(loop)] = (runs, entries)
    counted = _instrument(k, names)
    limit = max(1, int(LANE_BUDGET // max(g.n + g.m, 1)))
    try:
        with np.errstate(all="ignore"):
            got = interpret(counted, g, args, while_limit=limit, budget=SCALAR_BUDGET)
    except (BudgetExhausted, CosynthError, KeyError, ValueError, MemoryError):
        return {}, time.process_time() - t0
    out = {}
    for i, loop in enumerate(loops):
        runs, entries = got[2 * i], got[2 * i + 1]
        out[loop_key(loop)] = float(runs) / entries if entries else 0.0
    return out, time.process_time() - t0


def _instrument(k: Kernel, names: dict) -> Kernel:
    """``k`` with a counter of iterations and one of executions for each loop in
    ``names`` (id -> the two counters' table names), returning the counters in order."""
    tables = list(k.tables)
    returns = []
    for runs, entries in names.values():
        tables += [Table(runs, "scalar", i64), Table(entries, "scalar", i64)]
        returns += [Load(runs, None, i64), Load(entries, None, i64)]
    return replace(k, tables=tuple(tables), body=_rebuild(k.body, names),
                   returns=tuple(returns))


def _rebuild(stmts, names: dict) -> tuple:
    one = Const(1, i64)
    out = []
    for s in stmts:
        if isinstance(s, Loop):
            counters = names.get(id(s))
            inner = _rebuild(s.body, names)
            if counters is not None:
                runs, entries = counters
                out.append(Store(entries, None, one, op="add"))
                inner = inner + (Store(runs, None, one, op="add"),)
            out.append(replace(s, body=inner))
        elif isinstance(s, If):
            out.append(replace(s, then=_rebuild(s.then, names),
                               orelse=_rebuild(s.orelse, names)))
        else:
            out.append(s)
    return tuple(out)


def _args_key(args: dict) -> tuple:
    """The bound arguments as a hashable key (arrays by shape, dtype and a digest)."""
    out = []
    for name in sorted(args):
        v = args[name]
        if isinstance(v, np.ndarray):
            out.append((name, v.shape, str(v.dtype),
                        hashlib.sha1(np.ascontiguousarray(v).tobytes()).hexdigest()))
        else:
            out.append((name, repr(v)))
    return tuple(out)
