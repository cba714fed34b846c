"""What a kernel variant asks of the machine: work, traffic and memory, read off its IR.

For each *parallel nest* (a ``par``/``bsp``/``async`` node or edge loop, which the blade
program distributes) the profile counts, per execution, the edges and vertices it
touches, the reductions it sends to other blades (push: one message per cut edge per
reduction; pull gathers instead, reading mirrors), the node tables it writes (mirrors
refreshed after it) and the scalar reductions (a reduction tree each).  Sequential data
loops are *replicated*: every blade does their whole work.

How often each nest runs comes from the loops around it: a while loop whose condition is
a change flag (a fixed point) runs ``GraphStats.relax_rounds`` of its kind
(``fixed_point_kind``: read off the reductions that set the flag -- a weighted min-plus
relaxation such as SSSP, a label propagation such as CC, or a frontier BFS whose value
is the level: ``levels``), a level loop (a counter) ``GraphStats.levels`` times,
and otherwise (a convergence test such as PageRank's) as often as the kernel itself runs
it on the graph (``converge.convergence_runs``: the kernel's IR interpreted with the
run's arguments, within a budget; beyond it ``OTHER_LOOP_ITERATIONS``, a guess a
calibrated ``log`` law replaces), a counted ``range`` its count when it is a constant,
and a sequential node loop once per vertex.  These are estimates for planning; the
calibration issue measures them.

Edges per execution follow the schedule the C++ backend emits, read off the graph's BFS
level profile (``GraphStats.level_profile``) where the loop is a frontier step:

* a guarded (frontier) push edge loop walks ``m / levels`` edges per execution;
* an edge loop inside an edge loop walks the head's degree per outer edge
  (``GraphStats.head_degree``), unless it is an ordered intersection with a hoisted
  lower bound (``frontend.rewrite.intersect``: ``u < v < w``), whose merges walk
  ``GraphStats.merge_walk`` entries in all (in the cheaper of the two numberings by
  ``merge_work``), the count the blade measures;
* a pull edge loop that saturates (``frontend.rewrite.saturation``: the early exit of
  Beamer's bottom-up step) walks the profile's ``pull`` edges -- an unvisited vertex up
  to its first parent, a visited one none -- averaged over the levels it runs at;
* the ``hybrid`` rule's choice (``if mf * alpha > mu: pull else push``) runs each branch
  only at the levels where the profile's push edges against its unvisited in-edges
  pick it, with that branch's edges at those levels (so the two branches are not both
  counted, and the runs of each are the levels it takes);
* an ``async`` node loop the C++ backend runs from a frontier
  (``frontend.rewrite.frontier``: only the vertices whose state changed, one execution
  draining the queue) inside a weighted or label fixed point does the whole fixed
  point's work spread over its runs: a weighted one bucketed with the width
  ``choose_delta`` picks (``GraphStats.bucket_work``: edges, vertex visits and rounds of
  delta-stepping), a label one every edge once plus ``LATER_SHARE`` of a
  level-synchronous worklist's later rounds; each round inside a run is priced as a
  fork and join (``Nest.rounds``);
* any other ``async`` node loop the backend runs as a worklist (``cosynth.ir.vec``'s
  worklist plan) walks the fraction of its edges that ``GraphStats.worklist_edges``
  counts; its vertex visits stay ``n`` per run.

FPGA eligibility arrives as data: ``profile`` takes ``fpga(kernel_variant, variant)``, a
function the driver passes in (the RTL backend's ``costs.fpga_profile``; ``no_fpga`` plans
for CPUs only) that returns an ``FpgaCosts``.  A nest can go to the FPGA when the kernel
variant's edge unit runs it (or the edge loops in it); anything else keeps the nest on the
CPU, with the reason recorded.  The answer also gives the block RAM bits a vertex takes
and, per part, the LUTs and Fmax measured by ``cosynth bitstream`` (``Workload.hw``).
The planner never imports a backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from cosynth.frontend.rewrite.core import loop_label
from cosynth.frontend.rewrite.frontier import bucketed, frontier_plan, relax_order
from cosynth.frontend.rewrite.hybrid import beta_of as hybrid_beta
from cosynth.frontend.rewrite.hybrid import choice as hybrid_choice
from cosynth.frontend.rewrite.intersect import downward, intersection
from cosynth.frontend.rewrite.levels import level_frontier
from cosynth.frontend.rewrite.mirror import mirror
from cosynth.frontend.rewrite.narrowstate import narrow_states
from cosynth.frontend.rewrite.projection import ghost_reads, will_distribute
from cosynth.frontend.rewrite.rounds import frontier_of
from cosynth.frontend.rewrite.saturation import saturation
from cosynth.ir.nodes import (
    Assign,
    Bin,
    Const,
    EdgeAttr,
    GraphQuery,
    If,
    Kernel,
    Load,
    Loop,
    Store,
    Var,
)
from cosynth.ir.vec import _worklist_plan
from cosynth.ir.visit import Visitor
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .calibration import apply_laws
from .converge import convergence_runs, loop_key
from .memory import Footprint, footprint
from .narrow import state_bytes_saved, stored_weight_bytes
from .stats import GraphStats

__all__ = ["Nest", "Workload", "profile", "fixed_point_kind", "OTHER_LOOP_ITERATIONS", "at_blades",
           "FpgaCosts", "FpgaFn", "no_fpga"]

OTHER_LOOP_ITERATIONS = 20


class FpgaCosts(Protocol):
    """What the planner needs to know of a kernel variant's FPGA unit."""

    eligible: bool  # can an FPGA unit run the variant's edge loops at all
    why: str  # the refusal, or the loops the unit runs
    site_loops: tuple  # ids of the variant's loops the unit runs
    bits_per_vertex: int  # block RAM bits a vertex takes on chip
    host_bytes_per_vertex: int  # host <-> card bytes per vertex per unit call (table sync)
    host_bytes_per_edge: int  # host <-> card bytes per edge streamed (edge, read-back)

    def figures(self, part: str) -> dict | None:
        """Measured ``luts``, ``ffs``, ``dsps``, ``fmax_hz``, ``source`` on ``part``, or
        None when nothing was measured (the planner keeps its defaults)."""

    def unit_use(self, part: str, n: int, memory=None, clock_hz: float = 100e6) -> dict:
        """How the unit sits on ``part`` for ``n`` vertices: ``{"kind": "whole" |
        "interval" | "none", "bram_bits", ...}`` (an interval unit's interval, PEs and
        memory figures; "none" with ``why``)."""

    def cycles_per_edge(self, memory=None, clock_hz: float | None = None) -> float | None:
        """Clock cycles per edge measured in co-simulation on ``memory`` (an
        ``FpgaMemory``, or None: on chip), or None when never measured."""


FpgaFn = Callable[[Kernel, str], FpgaCosts]  # (kernel variant, variant name) -> its costs


@dataclass(frozen=True)
class _NoFpga:
    why: str
    eligible: bool = False
    site_loops: tuple = ()
    bits_per_vertex: int = 0
    host_bytes_per_vertex: int = 0
    host_bytes_per_edge: int = 0

    def figures(self, part: str) -> None:
        return None

    def unit_use(self, part: str, n: int, memory=None, clock_hz: float = 100e6) -> dict:
        return {"kind": "none", "why": self.why, "bram_bits": 0}

    def cycles_per_edge(self, memory=None, clock_hz: float | None = None) -> None:
        return None


def no_fpga(kv: Kernel, variant: str) -> FpgaCosts:
    """The ``fpga`` argument that plans for CPUs only: no variant is FPGA-eligible."""
    return _NoFpga("no FPGA cost table was given to the planner")


@dataclass
class Nest:
    label: str
    runs: float  # executions over the whole kernel
    edges: float  # edges touched per execution
    nodes: float  # vertices touched per execution
    push_reductions: int  # reductions into another vertex's entry, per edge
    refreshed: dict  # node/edge table -> bytes per entry, refreshed after each run
    allreduces: int
    fpga_ok: bool
    fpga_why: str
    state_bits: int  # bits per vertex of the tables an FPGA unit would keep on chip
    line: int = 0  # source line of its outermost loop (how a run's measurements name it)
    cost: float = 1.0  # CPU time of its work relative to the machine's rates (calibrated)
    calibrated: bool = False  # runs, edges, nodes and cost come from measured laws
    overhead: float | None = None  # seconds per run beyond its work (calibrated)
    runs_guessed: bool = False  # runs rest on OTHER_LOOP_ITERATIONS (a convergence loop
    # not counted on the graph: ``converge``), not on the graph
    calls: float = 0.0  # unit calls per execution when the FPGA runs it (0: it cannot)
    rounds: float = 0.0  # frontier rounds per execution (each a fork and join of its own)
    # what one edge of the nest does beyond a plain relaxation (``edge_work``), read off
    # the IR: divisions evaluated per edge, float additions into shared entries (atomic
    # compare-and-swap loops), node-table entries at the edge's far end (random access)
    # and the bytes per vertex of the tables those entries belong to (the working set)
    divisions: int = 0
    atomic_float_adds: int = 0
    random_refs: int = 0
    random_bytes: int = 0
    random_tables: tuple = ()  # the node tables those references read or write
    # a relaxed (async) nest of a weighted or label fixed point: its kind, whether the
    # C++ backend runs it from a frontier, and its runs per run of that while loop --
    # the while's runs depend on the blades (``at_blades``: ``GraphStats.supersteps``)
    relaxed: str = ""
    frontier: bool = False
    per_while: float = 0.0
    # the expand loop of a peel made by ``frontend.rewrite.rounds``: the edges an FPGA
    # unit call streams per run, the round's frontier's only (``_peel_expand``); 0: not
    # a peel (a call streams the range)
    peel_edges: float = 0.0
    # the calibrated working-set law (``cosynth calibrate``'s run on a graph whose data
    # leave the caches): one core's time per unit of the nest's work grows by
    # ``ws_slope`` of itself per doubling of the vertices beyond ``ws_ref``, the largest
    # calibration graph's (0: no law -- the probe's miss term prices it,
    # ``cost.nest_miss_seconds``)
    ws_slope: float = 0.0
    ws_ref: float = 0.0
    # the changes per run of the branches the nest's vertices take on a flag a peel sets
    # (``peel_guard_flips``), per vertex numbering (``"id"``, ``"degree"``): each costs
    # about a branch misprediction (``cost.flip_seconds``); empty: no such guard
    flips: dict = field(default_factory=dict)
    ws_n: float = 0.0  # vertices of the graph the law was measured on (0: unknown)
    # the rows a frontier visits out of vertex order (a bucketed or binned relaxation:
    # ``_frontier``): bytes per edge of the arrays its edge loop reads along a row (the
    # destination ids and the edge tables it loads), their bytes on this graph, and its
    # vertices -- ``cost.row_miss_seconds`` charges the rows' lines the LLC does not hold
    rows_out_of_order: bool = False
    row_tables: tuple = ()  # the edge tables its edge loops load along a row
    row_bytes: float = 0.0
    row_array: float = 0.0
    row_n: float = 0.0
    # a sweep: every run reads every edge's row entry once, in vertex order (the edge
    # count per run is the graph's m) -- ``cost.stream_miss_seconds`` charges its rows'
    # lines beyond the LLC at the stream probe's price; ``row_bytes`` etc. size them
    rows_in_order: bool = False
    # rows read at an index an outer edge loaded (``_row_walks``: an ordered
    # intersection's merges): how often each line of them is read per run, as
    # (references, lines) pairs (``GraphStats.row_line_rates``), and the lines read per
    # edge of the nest; empty: a frontier's rows, each read about once a run
    row_rates: tuple = ()
    row_lines: float = 0.0


@dataclass
class Workload:
    kernel: str
    variant: str
    nests: list[Nest]
    replicated_edges: float  # edges every blade touches in sequential (replicated) code
    replicated_nodes: float
    node_bytes: int  # bytes per vertex of all node tables (each blade holds them all)
    edge_bytes: int  # bytes per edge a blade stores for its shard (CSR, CSC, weights)
    uses_in_edges: bool
    notes: list[str] = field(default_factory=list)
    hw: FpgaCosts | None = field(default=None, compare=False, repr=False)
    replicated_fpga_edges: float = 0.0  # of replicated_edges: in loops the unit can run
    seq_nests: list[Nest] = field(default_factory=list)  # the replicated loops, outermost
    fpga_cpe: float = 1.0  # unit cycles per streamed edge (calibrated in simulation)
    replicated_fpga_calls: float = 0.0  # unit calls of the replicated loops it runs
    # the run-time layout (see ``layout``): sharded blades hold their own vertices and
    # the ghosts their edges touch (out-edge targets, in-edge sources); replicated, all
    sharded: bool = False
    ghost_out: bool = True
    ghost_in: bool = False
    box_bytes: int = 0  # per local vertex: the outboxes (value, touched flag, drain list)
    mirror_bytes: int = 0  # per owned vertex: what refresh last sent of each table
    delta: float | None = None  # bucket width of its bucketed relaxation (None: one bin)
    keyed: bool = False  # its frontier checks entries by key, no pending byte (``keyed``)
    logkeys: bool = False  # its bins double in width (``choose_label_delta``)
    memory: Footprint | None = None  # the arrays a blade holds (``planner.memory``)
    # the share of random references an LRU cache of k vertices' entries serves
    # (``GraphStats.hot_share``; None: uniform) -- the working-set term's skew
    hot: object = field(default=None, compare=False, repr=False)
    # the share of random references along edges an LRU cache of k 64-byte lines serves,
    # ``lines(k, vertices per line, order)`` (``GraphStats.line_hit_share``; None: the
    # entry model ``hot``), and the vertex numbering the blade runs in (``"id"`` as
    # given, ``"degree"``: the plan's degree-ordered layout, ``cost.layout_choice``)
    lines: object = field(default=None, compare=False, repr=False)
    order: str = "id"

    def local_vertex_bytes(self) -> int:
        """Bytes a blade keeps per vertex it holds (owned or ghost): the node tables, the
        two degrees, the outboxes."""
        return self.node_bytes + 16 + self.box_bytes

    def blade_dram(self, n: int, m: int, owned: int, ghosts: float, edge_share: float,
                   streamed: bool = False, blades: int = 2, threads: int = 1) -> float:
        """Bytes of a blade's data: sharded, (owned + ghosts) local vertices, the last
        refresh's copy of its owned entries, the ghost and send lists (8 bytes per ghost
        each, about) and its edges; replicated, every vertex (and every edge a replicated
        loop walks).  With the program's ``memory`` footprint: its arrays, one by one
        (per-thread copies for ``threads`` OpenMP threads)."""
        if self.memory is not None:
            return self.memory.blade_bytes(n, m, owned, ghosts, edge_share,
                                           sharded=self.sharded, streamed=streamed,
                                           blades=blades, threads=threads)
        edges = 0.0 if streamed else edge_share * m * self.edge_bytes
        if not self.sharded:
            return n * (self.node_bytes + 8) + edges + (
                m * self.edge_bytes if self.replicated_edges else 0)
        return (owned + ghosts) * self.local_vertex_bytes() + owned * self.mirror_bytes + \
            16 * ghosts + edges

    @property
    def supersteps(self) -> float:
        return max(1.0, sum(n.runs for n in self.nests))

    @property
    def runs(self) -> float:
        """Executions of parallel nests: each forks the cores and joins them."""
        return sum(n.runs for n in self.nests)

    @property
    def cpu_edges(self) -> float:
        """Parallel edge work in the machine's edge units (cost factors applied)."""
        return sum(n.runs * n.edges * n.cost for n in self.nests)

    @property
    def cpu_nodes(self) -> float:
        return sum(n.runs * n.nodes * n.cost for n in self.nests)


    @property
    def parallel_edges(self) -> float:
        return sum(n.runs * n.edges for n in self.nests)

    @property
    def parallel_nodes(self) -> float:
        return sum(n.runs * n.nodes for n in self.nests)

    @property
    def fpga_ok(self) -> bool:
        """The unit runs every parallel nest that streams edges, and something at all
        (those nests, or edge loops inside replicated sequential code)."""
        heavy = [n for n in self.nests if n.edges > 0]
        return bool(heavy or self.replicated_fpga_edges) and all(n.fpga_ok for n in heavy)

    @property
    def fpga_cycles_per_edge(self) -> float:
        """Cycles per streamed edge of the unit: one by design (the host interleaves the
        stream so that a vertex's edges do not reach the unit back to back), or what
        ``cosynth calibrate`` measured on the Verilator model."""
        return self.fpga_cpe

    @property
    def fpga_calls(self) -> float:
        """Unit calls of a blade running the unit: every run of a parallel nest it runs
        (one per site executed), and every execution of a replicated loop it runs (each
        syncs the unit's whole tables: ``FpgaCosts.host_bytes_per_vertex``)."""
        return sum(n.runs * n.calls for n in self.nests if n.fpga_ok) + \
            self.replicated_fpga_calls

    @property
    def fpga_why(self) -> str:
        for n in self.nests:
            if n.edges > 0 and not n.fpga_ok:  # the unit's refusal may name the loop already
                return n.fpga_why if n.fpga_why.startswith(f"{n.label}:") else \
                    f"{n.label}: {n.fpga_why}"
        return "" if self.fpga_ok else "no edge loop to put on the FPGA"


def profile(k: Kernel, variant: str, stats: GraphStats, args: dict | None = None,
            laws: dict | None = None, *, fpga: FpgaFn) -> Workload:
    """The variant's workload on a graph with ``stats``; ``laws`` (a calibrated
    manifest's ``workloads``, see ``planner.calibration``) replace the static estimates
    of the nests they measured; ``fpga`` answers for the variant's FPGA unit."""
    args = args or {}
    hw = fpga(k, variant)
    n, m = stats.n, stats.m
    sites = frozenset(hw.site_loops) if hw.eligible else frozenset()
    uses_in = any(isinstance(s, Loop) and s.kind == "in_edges" for s, _ in iter_stmts(k.body))

    # convergence loops (``_guess``) whose runs the kernel itself counts on the graph
    counted = convergence_runs(k, [s for s, _ in iter_stmts(k.body)
                                   if isinstance(s, Loop) and _guess(s)], stats, args)

    def iterations(loop: Loop) -> float:
        if loop.kind == "while":
            c = loop.cond
            if loop_key(loop) in counted:
                return counted[loop_key(loop)]
            if frontier_of(loop) is not None:  # peel rounds (one unit call each) per level
                levels, sweeps = peel_rounds(stats)
                return sweeps / max(levels, 1)
            if any(frontier_of(s) is not None for s in loop.body):
                return float(peel_rounds(stats)[0])  # the levels of a peel
            if isinstance(c, Load):
                return float(stats.relax_rounds(fixed_point_kind(loop, k.table_map)))
            if isinstance(c, Bin) and c.op in ("<", ">", "<=", ">="):
                return float(stats.levels)
            return float(OTHER_LOOP_ITERATIONS)
        if loop.kind == "range":
            if isinstance(loop.start, Const) and isinstance(loop.stop, Const):
                return float(max(0, (loop.stop.value - loop.start.value)))
            return float(stats.levels)
        if loop.kind == "nodes":
            return float(n)
        return float(m)

    walk = _Walk(k, stats, hw, sites, iterations)
    walk.args = args
    walk.counted = counted
    walk.visit_body(k.body)
    nests, seq, rep = walk.nests, walk.seq, walk.rep
    node_bytes = sum(t.dtype.np.itemsize for t in k.tables if t.space == "node")
    edge_bytes = 16 + (16 if uses_in else 0) + sum(
        t.dtype.np.itemsize for t in k.tables if t.space == "edge")
    w = Workload(k.name, variant, nests, rep["edges"], rep["nodes"], node_bytes,
                 edge_bytes, uses_in, hw=hw, replicated_fpga_edges=rep["fpga_edges"],
                 seq_nests=seq, replicated_fpga_calls=rep["fpga_calls"])
    w.delta = walk.delta
    w.keyed = walk.keyed
    w.logkeys = walk.logkeys
    w.sharded, w.ghost_out, w.ghost_in, w.box_bytes, w.mirror_bytes = layout(k, nests)
    w.memory = footprint(k, nests)
    if w.memory.csr_w or w.memory.csc_w:  # the weights as the shard will store them
        w.memory = replace(w.memory, weight_bytes=stored_weight_bytes(k, stats))
    saved = state_bytes_saved(k, stats)
    if saved:  # state tables the build stores in 32 bits (narrow.state_storage)
        w.memory = replace(w.memory, node_bytes=w.memory.node_bytes - saved)
        narrow = set(narrow_states(k))
        for nest in nests:  # their random references read 4-byte entries
            cut = 4 * len(narrow & set(nest.random_tables))
            nest.random_bytes = max(nest.random_bytes - cut, 0)
    w.hot = stats.hot_share if stats._graph is not None else None
    w.lines = stats.line_hit_share if stats._graph is not None else None
    _row_arrays(w, k, stats)
    if laws:
        apply_laws(w, k, laws, stats)
    return w


def peel_rounds(stats: GraphStats) -> tuple[int, int]:
    """(levels, sweeps) of a peel (``frontend.rewrite.rounds``) on the graph, counted by
    running degree-threshold peeling on it in rounds: per level ``k`` (the smallest
    remaining out-degree) remove every vertex of degree <= ``k``, decrement its
    out-neighbours, repeat until a round removes nothing (that round counted too: the
    fixed point's last sweep, one more unit call).  Without the graph: ``levels`` levels
    of two sweeps.  Cached on ``stats``."""
    g = stats._graph
    if g is None or stats.n == 0:
        return stats.levels, 2 * stats.levels
    if ("peel",) not in stats._cuts:
        _peel(stats)
    return stats._cuts[("peel",)]


def peel_leaves(stats: GraphStats) -> tuple[np.ndarray, np.ndarray] | None:
    """(level, sweep) at which each vertex leaves the peel of ``peel_rounds`` (0-based
    indices of the level and of the sweep over all levels, empty last sweeps counted),
    or None without the graph.  A table the peel sets once per vertex as it leaves
    (k-core's ``removed``) holds, at a run of a loop made once per level (per sweep),
    "left before this run": ``level < run`` (``sweep < run``) -- what the guard
    flips count (``peel_guard_flips``) reads."""
    if stats._graph is None or stats.n == 0:
        return None
    if ("peel_leaves",) not in stats._cuts:
        _peel(stats)
    return stats._cuts[("peel_leaves",)]


def _peel(stats: GraphStats) -> None:
    """Run the peel once: its (levels, sweeps) and each vertex's (level, sweep) of
    leaving, cached on ``stats``."""
    g = stats._graph
    deg = g.out_degrees().astype(np.int64)
    ptr, dst = g.out_indptr, g.out_dst
    alive = np.ones(g.n, dtype=bool)
    at_level = np.zeros(g.n, dtype=np.int64)
    at_sweep = np.zeros(g.n, dtype=np.int64)
    levels = sweeps = 0
    k = 0
    while alive.any():
        levels += 1
        k = max(k, int(deg[alive].min()))
        while True:
            sweeps += 1
            f = np.flatnonzero(alive & (deg <= k))
            if f.size == 0:
                break
            alive[f] = False
            at_level[f], at_sweep[f] = levels - 1, sweeps - 1
            cnt = ptr[f + 1] - ptr[f]
            first = np.repeat(ptr[f] - np.cumsum(cnt) + cnt, cnt)
            eids = first + np.arange(int(cnt.sum()))
            deg -= np.bincount(dst[eids], minlength=g.n)
    stats._cuts[("peel",)] = (levels, sweeps)
    stats._cuts[("peel_leaves",)] = (at_level, at_sweep)


def peel_guard_flips(loop: Loop, parent: Loop | None, stats: GraphStats) -> dict:
    """Per vertex numbering (``"id"``, ``"degree"``), the changes per run of the branches
    the parallel node ``loop`` takes on a flag a peel sets (``{}``: none).

    The shape: ``loop`` runs in a peel made by ``frontend.rewrite.rounds`` -- once per
    sweep (``parent`` is the peel's fixed point, ``frontier_of``) or once per level
    (``parent`` holds it) -- and branches on a node table at its own vertex that the
    peel's select loop sets to a constant as the vertex leaves (``_peel_flags``; k-core's
    ``removed``): in an ``if`` condition or as the left operand of ``and`` / ``or``,
    which the C++ evaluates with a branch.  At a run ``r`` the flag of ``v`` is "left
    before ``r``" (``peel_leaves``), so along the scan it changes ``GraphStats.scan_changes``
    times over the runs: a branch predictor follows long runs of one value and pays a
    misprediction at about every change.  The peel leaves vertices by degree, so in
    degree order the flag is nearly one run of each value (kron-20: 0.002 changes a
    visit) and as numbered it is mixed (kron-16: 0.18; kron-11..13: 0.26-0.32), which
    k-core's vertex scans' time follows (1.40 / 1.17 ns a visit at kron-16 / 18 as
    numbered, 0.35 ns at kron-20 in degree order).  The other branches of such a loop
    (``deg[v] <= k``, ``if F[v]``) are taken about once per vertex leaving, O(n) in all:
    not counted."""
    if parent is None or loop.kind != "nodes" or stats._graph is None or stats.n < 2:
        return {}
    if frontier_of(parent) is not None and any(x is loop for x in parent.body):
        peel, per = parent, 1  # once per sweep
    else:
        peel = next((x for x in parent.body if isinstance(x, Loop) and
                     frontier_of(x) is not None), None)
        per = 0  # once per level
        if peel is None:
            return {}
    flags = _peel_flags(peel)
    if not flags or not _guards(loop, flags):
        return {}
    leaves = peel_leaves(stats)
    if leaves is None:
        return {}
    levels, sweeps = peel_rounds(stats)
    runs = sweeps if per else levels
    count = len(_guards(loop, flags))
    return {order: count * stats.scan_changes(leaves[per], order) / max(runs, 1)
            for order in ("id", "degree")}


def _peel_flags(peel: Loop) -> set[str]:
    """The node tables the peel's select loop sets to a constant at its vertex (a plain
    store): a flag set once as the vertex leaves (k-core's ``removed[v] = True``), not the
    frontier table, which it rewrites every sweep."""
    sel = peel.body[1]
    front = frontier_of(peel)
    return {s.table for s, _ in iter_stmts(sel.body)
            if isinstance(s, Store) and s.op is None and isinstance(s.value, Const)
            and isinstance(s.index, Var) and s.index.name == sel.var and s.table != front}


def _guards(loop: Loop, flags: set[str]) -> set[str]:
    """The ``flags`` tables ``loop`` branches on at its own vertex, outside its inner
    loops: read in an ``if`` condition or as the left operand of ``and`` / ``or``."""
    found: set[str] = set()

    def scan(e) -> None:
        for x in iter_exprs(e):
            if isinstance(x, Load) and x.table in flags and isinstance(x.index, Var) and \
                    x.index.name == loop.var:
                found.add(x.table)

    for s, path in iter_stmts(loop.body):
        if any(isinstance(p, Loop) for p in path):
            continue
        if isinstance(s, If):
            scan(s.cond)
        for top in stmt_exprs(s):
            for x in iter_exprs(top):
                if isinstance(x, Bin) and x.op in ("and", "or"):
                    scan(x.a)
    return found


def fixed_point_kind(loop: Loop, tables: dict) -> str:
    """What kind of fixed point the while ``loop`` is, for ``GraphStats.relax_rounds``:
    ``"weighted"`` when a min/max reduction into a node table adds an edge table (a
    weight) to its value, ``"labels"`` when the reduced value reads the reduced table
    itself without a weight (a vertex's label travels one hop per round), ``"levels"``
    otherwise (the value is a level, a constant: one round per BFS level).  The value is
    read through the private assignments of the loop body (``nd := dist[v] + w``, and
    ``w := max(weight[e.id], 0)`` behind it)."""
    assigned: dict[str, list] = {}
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Assign):
            assigned.setdefault(s.name, []).append(s.value)
    kind = "levels"
    for s, _ in iter_stmts(loop.body):
        if not (isinstance(s, Store) and s.op in ("min", "max")
                and tables[s.table].space == "node"):
            continue
        reads, todo, seen = [], [s.value], set()
        while todo:  # through the privates' assignments, transitively (w := max(w_e, 0))
            x = todo.pop()
            if isinstance(x, Var) and x.name in assigned:
                if x.name not in seen:
                    seen.add(x.name)
                    todo += assigned[x.name]
                continue
            for y in iter_exprs(x):
                reads.append(y)
                if isinstance(y, Var) and y is not x and y.name in assigned:
                    todo.append(y)
        if any((isinstance(x, Load) and tables[x.table].space == "edge") or
               (isinstance(x, EdgeAttr) and x.attr == "weight") for x in reads):
            return "weighted"
        if any(isinstance(x, Load) and x.table == s.table for x in reads):
            kind = "labels"
    return kind


def layout(k: Kernel, nests: list[Nest]) -> tuple[bool, bool, bool, int, int]:
    """(sharded, ghosts from out-edge targets, from in-edge sources, outbox bytes per local
    vertex, refresh-copy bytes per owned vertex) of the variant's blade program.

    The same rule as the C++ backend's (``reach.replicated``, which sees the projected
    program): sharded when every node loop is a parallel (distributed) loop, every edge
    loop walks the edges of such a loop's vertex, and every node-table index and degree
    query names that vertex, an edge endpoint or a node parameter; no ``has_edge`` and no
    edge tables but the weights."""
    tables = k.table_map
    node_params = {p.name for p in k.params if p.node}
    par = {s.var for s, _ in iter_stmts(k.body) if isinstance(s, Loop) and s.kind == "nodes"
           and s.schedule != "seq"}
    kinds = {s.kind for s, _ in iter_stmts(k.body) if isinstance(s, Loop)}
    out = bool(kinds & {"out_edges", "edges"})
    inn = "in_edges" in kinds

    def held(e) -> bool:
        if isinstance(e, EdgeAttr):
            return e.attr in ("src", "dst")
        return isinstance(e, Var) and (e.name in par or e.name in node_params)

    sharded = not any(t.space == "edge" and t.role != "weight" for t in k.tables)
    boxed: set[str] = set()
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop) and s.kind == "nodes" and s.schedule == "seq":
            sharded = False
        if isinstance(s, Loop) and s.kind in ("out_edges", "in_edges") and not held(s.of):
            sharded = False
        if isinstance(s, Store) and tables[s.table].space == "node":
            sharded = sharded and held(s.index)
            if s.op is not None and isinstance(s.index, EdgeAttr):
                boxed.add(s.table)
        for top in stmt_exprs(s):
            for e in iter_exprs(top):
                if isinstance(e, GraphQuery) and (e.fn == "has_edge" or (
                        e.fn in ("out_degree", "in_degree") and not held(e.args[0]))):
                    sharded = False
                if isinstance(e, Load) and tables[e.table].space == "node" and \
                        not held(e.index):
                    sharded = False
    box = sum(tables[t].dtype.np.itemsize + 9 for t in boxed)
    mirror = sum(b for nest in nests for t, b in nest.refreshed.items()
                 if t in tables and tables[t].space == "node")
    return sharded, out, inn, box, mirror


class _Walk(Visitor):
    """The parallel nests and the replicated (sequential) data loops of a kernel, each
    with how often it runs: ``mult`` is the product of the iterations of the loops
    around it, ``guessed`` whether one of them is a convergence loop."""

    def __init__(self, k: Kernel, stats: GraphStats, hw, sites: frozenset, iterations):
        self.k, self.stats, self.hw, self.sites = k, stats, hw, sites
        self.iterations = iterations
        # the node tables the blade program refreshes: those it reads at ghosts
        # (``projection.ghost_reads``; the others' mirrors are never read)
        self.mirrored = ghost_reads(k, will_distribute)
        self.nests: list[Nest] = []
        self.seq: list[Nest] = []
        self.rep = {"edges": 0.0, "nodes": 0.0, "fpga_edges": 0.0, "fpga_calls": 0.0}
        self.mult, self.guessed = 1.0, False
        self.at: tuple[int, ...] | None = None  # the BFS levels the visited code runs at
        self.fixed: str = ""  # the kind of the innermost fixed point around (or "")
        self.parent: Loop | None = None  # the innermost while loop around
        self.delta: float | None = None  # the bucket width chosen (``choose_delta``)
        self.keyed = False  # whether that frontier runs without pending bytes (``keyed``)
        self.logkeys = False  # whether its bins double in width (``choose_label_delta``)
        self.while_runs = 0.0  # the iterations assumed for the innermost while around
        self._levels: dict = {}  # id(while loop) -> its level frontier (or None)
        self.args: dict = {}  # the kernel's arguments (bool parameters guard edge loops)
        self.counted: dict = {}  # convergence loops counted on the graph (``converge``)

    def visit_If(self, s: If):
        prof = self.stats.level_profile
        got = hybrid_choice(s)
        if got is None or len(prof.push) != self.stats.levels:
            return self.generic_visit(s)
        alpha, _, _ = got
        beta = hybrid_beta(s) if len(prof.width) == self.stats.levels else None
        levels = range(self.stats.levels) if self.at is None else self.at
        pull = tuple(L for L in levels if prof.push[L] * alpha > prof.unvisited_in[L]
                     and (beta is None or prof.width[L] * beta > self.stats.n))
        push = tuple(L for L in levels if L not in pull)
        outer = (self.mult, self.at)
        try:
            for body, field_, at in ((s.then, "then", pull), (s.orelse, "orelse", push)):
                self.mult = outer[0] * len(at) / max(1, len(levels))
                self.at = at
                self.visit_body(body, field_)
        finally:
            self.mult, self.at = outer

    def visit_Loop(self, s: Loop):
        if s.is_data_loop and s.schedule != "seq":
            self.nests.append(_nest(self.k, s, self.mult, self.stats, self.hw, self.at,
                                    self.mirrored))
            plan = frontier_plan(self.k, s, self.parent) if self.fixed in (
                "weighted", "labels") else None
            if self.fixed in ("weighted", "labels") and s.schedule == "async" and \
                    self.while_runs:
                nest = self.nests[-1]
                nest.relaxed, nest.frontier = self.fixed, bool(plan)
                nest.per_while = self.mult / self.while_runs
            self.nests[-1].flips = peel_guard_flips(s, self.parent, self.stats)
            if self.parent is not None and len(self.parent.body) == 3 and \
                    self.parent.body[2] is s and frontier_of(self.parent) is not None:
                self._peel_expand(self.nests[-1], s)
            elif plan:
                self._frontier(self.nests[-1], s, plan)
            elif self.fixed in ("weighted", "labels") and s.kind == "nodes" and \
                    _worklist_plan(_Comp(self.k), s):
                self.nests[-1].edges *= _worklist_share(self.stats, self.fixed)
            elif s.kind == "nodes":
                self._level_queue(self.nests[-1], s)
            self.nests[-1].runs_guessed = self.guessed
        elif s.is_data_loop:
            e, v, fe = _work(s, self.mult, self.stats, self.iterations, self.sites)
            self.rep["edges"] += e
            self.rep["nodes"] += v
            self.rep["fpga_edges"] += fe
            self.rep["fpga_calls"] += _calls(s, self.mult, self.stats, self.iterations,
                                             self.sites)
            self.seq.append(_seq_nest(s, self.mult, e, v))
            self.seq[-1].runs_guessed = self.guessed
        else:
            outer = (self.mult, self.guessed, self.fixed, self.while_runs)
            self.mult *= self.iterations(s)
            if s.kind == "while":
                self.while_runs = self.iterations(s)
            self.guessed = self.guessed or (_guess(s) and loop_key(s) not in self.counted)
            if s.kind == "while" and isinstance(s.cond, Load):
                self.fixed = fixed_point_kind(s, self.k.table_map)
            parent, self.parent = self.parent, s
            try:
                self.visit_body(s.body, "body", s)
            finally:
                self.mult, self.guessed, self.fixed, self.while_runs = outer
                self.parent = parent

    def _peel_expand(self, nest: Nest, loop: Loop) -> None:
        """The expand loop of a peel in rounds (``frontend.rewrite.rounds``): ``if F[v]``
        around the edge loops of the vertices the round removes.  A vertex is removed
        once per peel (the rule's law 2) and every vertex is removed by its end, so over
        all the runs each edge loop walks every vertex's edges once: ``m`` in all (plus
        what edge loops inside them walk), spread over the runs (the peel's sweeps).
        Edge loops under ``if p:`` with the bool argument ``p`` false are not walked
        (k-core's in-edges without ``use_in_edges``; the host skips them the same way).
        That is what the FPGA host streams (``backends.rtl.host.stream_filter``), charged
        by ``cost.fpga_nest``, and what the CPU's edge loops walk too: the CPU estimate
        ``nest.edges`` is the same count (it was the guarded loop's ``m / levels`` per
        run, 2-3x the edges the blade counts at kron-16..20)."""
        m = float(self.stats.m)
        live = _edge_loops(_unguarded(loop.body, self.args))
        total = sum(m + _inner_edges(e.body, m, self.stats, self.k) for e in live)
        nest.peel_edges = total / max(nest.runs, 1.0)
        nest.edges = nest.peel_edges
        nest.cost = static_cost(nest)

    def _level_queue(self, nest: Nest, loop: Loop) -> None:
        """A node loop that runs from a level frontier's queue (``frontend.rewrite.levels``:
        the guarded loop, or the hybrid's counting loop): it visits the vertices at the
        levels it runs at (``LevelProfile.width``), not every vertex."""
        prof, parent = self.stats.level_profile, self.parent
        if parent is None or len(prof.width) != self.stats.levels:
            return
        if id(parent) not in self._levels:
            self._levels[id(parent)] = level_frontier(self.k, parent)
        lf = self._levels[id(parent)]
        if lf is None or not (any(x is loop for x in lf.loops) or lf.count is loop):
            return
        levels = tuple(range(self.stats.levels)) if self.at is None else self.at
        # the first superstep counts every vertex, and runs the loop over all of them
        # unless it may start from the vertices whose guard holds on entry (``first``)
        dense = lf.count is loop or not lf.first
        width = tuple(float(self.stats.n) if L == 0 and dense else w
                      for L, w in enumerate(prof.width))
        nest.nodes = _mean(width, levels)
        nest.cost = static_cost(nest)

    def _frontier(self, nest: Nest, loop: Loop, plan: dict) -> None:
        """A relaxed node loop that runs from a frontier (``frontend.rewrite.frontier``):
        its whole fixed point's edges, vertex visits and rounds (``GraphStats``), spread
        over its runs; a bucketed weighted relaxation gets the bucket width the model
        finds cheapest (``choose_delta``)."""
        st, runs = self.stats, max(nest.runs, 1e-9)
        binned = False  # this loop's frontier drains bins (the vertices out of id order)
        if self.fixed == "weighted":
            delta = choose_delta(self.k, loop, plan, st)
            if delta is not None:
                binned = True
                self.delta = delta
                self.keyed = keyed(st, delta)
            edges, nodes, rounds = st.bucket_work(float("inf") if delta is None else delta)
        else:  # the first sweep walks every vertex's edges (in vertex order, in place);
            # later rounds: LATER_SHARE of a level-synchronous worklist's (kron-12/14 CC
            # measured 18% and 2%: an in-place sweep carries a label many hops at once)
            first = st.m * (2.0 if self.fixed == "labels" else 1.0)
            later = max(st.worklist_edges(self.fixed) - first, 0.0) * LATER_SHARE
            edges = first + later
            nodes = st.n + later / max(2 * st.mean_degree, 1e-9)
            rounds = float(st.relax_rounds(self.fixed))
            delta = choose_label_delta(self.k, loop, plan, st) \
                if self.fixed == "labels" else None
            if delta is not None:
                b_edges, b_nodes, b_rounds = label_bucket_work(st, delta,
                                                               _sweep_rows(self.k, loop, st))
                if frontier_cost(b_edges, b_nodes, b_rounds) < \
                        frontier_cost(edges, nodes, rounds):
                    self.delta, self.keyed, self.logkeys = delta, False, True
                    edges, nodes, rounds = b_edges, b_nodes, b_rounds
                    binned = True
        # bins drained lowest first visit the vertices in their values' order, not by id
        nest.rows_out_of_order = binned
        nest.row_tables = tuple(sorted(
            {x.table for s, _ in iter_stmts([loop]) for e in stmt_exprs(s)
             for x in iter_exprs(e) if isinstance(x, Load)
             and self.k.table_map[x.table].space == "edge"}))
        nest.edges, nest.nodes, nest.rounds = edges / runs, nodes / runs, rounds / runs

    def visit_Expr(self, e):
        return None


#: the share of a level-synchronous worklist's later rounds a frontier drain walks
LATER_SHARE = 0.25
#: the cost of one round of a frontier (an OpenMP fork and join, the bins' bookkeeping)
#: in edge relaxations, ~50 us at 40 M edges/s: a barrier of two or more threads on a
#: shared machine costs far more than ``cost.run_seconds``' 5 us (kron-18 SSSP, two
#: threads under load: delta 1, 379 rounds, took 5.6x the one-thread time; GAP's best
#: delta was 2 at one thread and 8 at two)
ROUND_EDGES = 2000.0
#: the cost of a frontier's pending byte per vertex visit, in edge relaxations: the push's
#: atomic exchange (~2.5 pushes per visit on kron-18) and the take's compare-and-swap on
#: a byte table whose lines two threads pass to and fro (``keyed`` frontiers have none).
#: An estimate from those counts (each such operation priced as one edge relaxation, a
#: random access), not a calibrated figure
PEND_EDGES = 3.0


def at_blades(w: Workload, stats: GraphStats, ranges: list[tuple[int, int]],
              sweeps: tuple[int, ...] | None = None, walk: bool = True) -> Workload:
    """``w`` on blades holding the vertex ``ranges``: every relaxed nest (``Nest.relaxed``)
    runs as often as its while loop runs there (``GraphStats.supersteps``, with each
    blade's ``sweeps``: 0 from a frontier, else its in-place pass's granule), not the
    level count assumed without the blades.  A frontier nest keeps its whole fixed
    point's edges, visits and rounds, spread over the new runs; a sweep's work stays per
    run.  A calibrated nest keeps its measured laws' work (totals for a frontier, per run
    for a sweep) and takes the exact runs: its runs law was fitted against the static
    level estimate on the calibration graphs, which does not follow the blades.  Other
    nests, and a workload with no relaxed nest, are returned as they are; so are the
    nests whose count needs a walk of the fixed point when ``walk`` is False."""
    if not any(n.relaxed for n in w.nests) or stats._graph is None:
        return w
    nests = []
    for n in w.nests:
        steps = stats.supersteps(n.relaxed, ranges, sweeps, walk=walk) if n.relaxed \
            else None
        if steps is None:
            nests.append(n)
            continue
        runs = n.per_while * steps
        k = n.runs / runs if (n.frontier and runs > 0) else 1.0
        nests.append(replace(n, runs=runs, edges=n.edges * k, nodes=n.nodes * k,
                             rounds=n.rounds * k))
    return replace(w, nests=nests)


def _row_arrays(w: Workload, k: Kernel, stats: GraphStats) -> None:
    """Mark the sweeps (``Nest.rows_in_order``: m edges a run, no frontier) and size the
    ids they read; size the rows each out-of-order nest (``Nest.rows_out_of_order``) reads: per edge
    the destination id (4 bytes when the build indexes in 32 bits, as ``bundle`` does
    below 2**31 vertices and edges, else 8) and each edge table its edge loops load (the
    weights as the shard stores them, ``Footprint.weight_bytes``)."""
    idx = 4 if max(stats.n, stats.m) < 2**31 - 1 else 8
    tables = k.table_map
    for nest in w.nests:
        if not nest.rows_out_of_order and stats.m > 0 and nest.runs > 0 and \
                abs(nest.edges - stats.m) <= 1e-9 * stats.m and not nest.frontier:
            # a sweep of the rows in vertex order: the destination (source) ids
            nest.rows_in_order = True
            nest.row_bytes, nest.row_array, nest.row_n = float(idx), float(idx * stats.m), \
                float(stats.n)
        if not nest.rows_out_of_order:
            continue
        per = idx + sum(w.memory.weight_bytes if tables[t].role == "weight"
                        else tables[t].dtype.np.itemsize for t in nest.row_tables)
        nest.row_bytes, nest.row_array, nest.row_n = float(per), float(per * stats.m), \
            float(stats.n)


def choose_delta(k: Kernel, loop: Loop, plan: dict, stats: GraphStats) -> float | None:
    """The bucket width of a bucketed relaxation (``frontend.rewrite.frontier``), or None
    (one bin: the loop may not be bucketed, ``relax_order`` is not proved, or the
    graph has a negative weight).  Candidates: the smallest positive weight times 1, 2,
    4, ... up to the largest weight; the one with the fewest edges plus rounds (a round
    priced at ``ROUND_EDGES``) by ``GraphStats.bucket_work``, plus ``PEND_EDGES`` per
    vertex visit unless the frontier is ``keyed`` at that width, if it beats one bin."""
    if not bucketed(k, plan) or stats._graph is None or stats.n == 0:
        return None
    w = stats.weight_sample()
    if len(w) == 0 or w[0] < 0:
        return None
    if not relax_order(k, loop, next(iter(plan))).ok:
        return None
    pos = w[w > 0]
    if len(pos) == 0:
        return None

    def cost(d: float) -> float:
        e, v, r = stats.bucket_work(d)
        return e + ROUND_EDGES * r + (0.0 if keyed(stats, d) else PEND_EDGES * v)
    best, best_cost = None, None
    d = float(pos[0])
    while d <= float(w[-1]) * 2:
        c = cost(d)
        if best_cost is None or c < best_cost:
            best, best_cost = d, c
        d *= 2
    return best if best_cost < cost(float("inf")) else None


def frontier_cost(edges: float, nodes: float, rounds: float) -> float:
    """A frontier's work in edge relaxations: its edges, a fork and join per round
    (``ROUND_EDGES``) and the pending byte per vertex visit (``PEND_EDGES``)."""
    return edges + ROUND_EDGES * rounds + PEND_EDGES * nodes


def choose_label_delta(k: Kernel, loop: Loop, plan: dict, stats: GraphStats) -> float | None:
    """The first bucket width of a label fixed point's frontier (min-label propagation,
    e.g. ``examples/cc.py``), whose bins then double in width (``logkeys``: a vertex
    with label ``x`` waits in bin 0 below delta, else in bin ``1 + floor(log2(x /
    delta))``), or None (one bin: the loop may not be bucketed, ``relax_order`` is not
    proved, the state is a float, or the graph has no edges).

    Legality is the frontier's (``frontend.rewrite.frontier``): the relaxation proof
    allows every order of the updates, so every bin order and every key that is a
    non-decreasing function of the value (this one) is legal; the result is the same
    fixed point.  Use: a label's contribution is the running vertex's own value
    (``relax_order`` proves it is never below it), so running the lowest labels first
    lets a component's least label flood the component before any larger label runs;
    each vertex then runs about once, with its final label, instead of once with a first
    label and again when the least arrives after its turn.  Measured, kron-20 CC, one
    thread: the async in-place sweep in vertex order runs 1.77 M vertices and 60.3 M
    edges (the giant component's least label, vertex 4, reached most of it after its
    turn); lowest first, 1.05 M visits and 31.4 M edges, one sweep (kron-18: 9.39 M ->
    7.62 M edges).  The least label must run *alone*: linear bins of width 4096 mix
    the floods of that many labels and ran 59.9 M edges at kron-20, width 256 ran
    1.2 sweeps at kron-16, width 1-64 one sweep but a round per bin (n / delta of
    them: 65,536 rounds took 0.76 s CPU at kron-16, under load).  Labels are vertex
    ids (the kernels start from ``label[v] = v``) and the least of a large component is
    small, so bins of doubling width from delta = 1 give the small labels bins of their
    own in ``log2(n) + 1`` bins (kron-20: 24 rounds, one sweep)."""
    if not bucketed(k, plan) or stats.n == 0 or stats.m == 0:
        return None
    table = next(iter(plan))
    if k.table_map[table].dtype.is_float:
        return None
    if not relax_order(k, loop, table).ok:
        return None
    return 1.0


def label_bucket_work(stats: GraphStats, delta: float,
                      rows: int = 2) -> tuple[float, float, float]:
    """(edges, vertex visits, rounds) of a label fixed point's frontier in bins of
    doubling width from ``delta`` (``choose_label_delta``): one sweep over the ``rows``
    edge loops a vertex runs (``_sweep_rows``), every vertex once, a round per bin of
    the labels in ``[0, n)`` plus the rounds of the least label's flood
    (``GraphStats.relax_rounds``).  Measured, one blade, kron seed 0: exactly n visits
    and m edges at kron-12, 14 (``tests/planner/test_rounds.py``) and 20."""
    bins = 1.0 + float(np.ceil(np.log2(max(stats.n / delta, 1.0))))
    return rows * stats.m, float(stats.n), bins + float(stats.relax_rounds("labels"))


def _sweep_rows(k: Kernel, loop: Loop, stats: GraphStats) -> int:
    """How many edge loops a vertex of the node ``loop`` runs: its out- and in-edge
    loops, less an in-edge loop that repeats an out-edge loop on a symmetric graph
    (``frontend.rewrite.mirror``: the blade skips it when its rows are symmetric)."""
    rows = 0
    for c in loop.body:
        if not (isinstance(c, Loop) and c.kind in ("out_edges", "in_edges")):
            continue
        if c.kind == "in_edges" and stats.symmetric and mirror(loop, c, k.table_map).ok:
            continue
        rows += 1
    return max(rows, 1)


def keyed(stats: GraphStats, delta: float) -> bool:
    """Whether a frontier of bucket width ``delta`` runs without pending bytes (the
    runtime's ``Frontier``: an entry runs when its vertex's key is still the bin's).
    Legal at any finite width; chosen when it queues no vertex twice at one key: every
    (sampled) weight is a whole multiple of the smallest positive one, g, and delta <= g,
    so the values a min-plus relaxation from a source at 0 gives a vertex are multiples
    of g, at most one per bucket, and each change (a strict decrease) moves the vertex to
    a lower key (another contribution only costs repeated runs, never a wrong value).  At
    a wider bucket a vertex lowered twice within it would run twice (kron-18, delta 2:
    +8.4% edges), which the pending byte prevents."""
    if not np.isfinite(delta) or stats._graph is None:
        return False
    w = stats.weight_sample()
    pos = w[w > 0]
    if len(pos) == 0 or len(w) != len(pos):
        return False
    g = float(pos[0])
    q = pos / g
    return bool(delta <= g and np.all(q == np.round(q)))


class _Comp:
    """What ``cosynth.ir.vec``'s worklist plan reads of a kernel."""

    def __init__(self, k: Kernel):
        self.k, self.tables = k, k.table_map


def _worklist_share(stats: GraphStats, kind: str) -> float:
    """The share of a full sweep's edges a worklist sweep walks, on average over the
    fixed point's rounds (a weighted relaxation walks out-edges, a label propagation
    out- and in-edges)."""
    full = stats.m * (2 if kind == "labels" else 1) * stats.relax_rounds(kind)
    return min(1.0, stats.worklist_edges(kind) / full) if full else 1.0


def _guess(loop: Loop) -> bool:
    """A convergence loop: it runs OTHER_LOOP_ITERATIONS times, a guess."""
    c = loop.cond
    return loop.kind == "while" and not (
        isinstance(c, Load) or (isinstance(c, Bin) and c.op in ("<", ">", "<=", ">=")))


def _seq_nest(loop: Loop, runs: float, edges: float, nodes: float) -> Nest:
    """A replicated (sequential) loop as a nest: every blade does all of its work."""
    per = max(runs, 1e-300)
    return Nest(loop_label(loop), runs, edges / per, nodes / per, 0, {}, 0, False,
                "sequential", 0, line=loop.loc.line if loop.loc is not None else 0)


def _work(loop: Loop, mult: float, stats: GraphStats, iterations,
          sites: frozenset = frozenset()) -> tuple[float, float, float]:
    """(edges, vertices, edges in loops the FPGA unit runs) a sequential loop touches in
    all, loops inside included."""
    if loop.kind in ("out_edges", "in_edges"):
        each, e, v = mult * stats.mean_degree, mult * stats.mean_degree, 0.0
    elif loop.kind == "edges":
        each, e, v = mult * stats.m, mult * stats.m, 0.0
    elif loop.kind == "nodes":
        each, e, v = mult * stats.n, 0.0, mult * stats.n
    else:
        each, e, v = mult * iterations(loop), 0.0, 0.0
    fe = e if id(loop) in sites else 0.0
    for s, _ in _direct_loops(loop.body):
        de, dv, dfe = _work(s, each, stats, iterations, sites)
        e, v = e + de, v + dv
        fe += de if id(loop) in sites else dfe
    return e, v, fe


def _calls(loop: Loop, mult: float, stats: GraphStats, iterations,
           sites: frozenset) -> float:
    """Executions of the unit's site loops in a sequential ``loop`` that runs ``mult``
    times: one unit call each (the host stub calls the unit per execution of a site)."""
    if id(loop) in sites:
        return mult
    if loop.kind in ("out_edges", "in_edges"):
        each = mult * stats.mean_degree
    elif loop.kind == "edges":
        each = mult * stats.m
    elif loop.kind == "nodes":
        each = mult * stats.n
    else:
        each = mult * iterations(loop)
    return sum(_calls(s, each, stats, iterations, sites) for s, _ in _direct_loops(loop.body))


def _direct_loops(body):
    """Loops directly in ``body`` (looking through ifs, not into other loops)."""
    v = _Loops()
    v.visit_body(body)
    return [(s, None) for s in v.out]


class _Loops(Visitor):
    """Loops found through ifs: every loop met, not looking into it, or with
    ``edges=True`` the outermost edge loops, looking into other loops."""

    def __init__(self, edges: bool = False):
        self.edges = edges
        self.out: list[Loop] = []

    def visit_Loop(self, s: Loop):
        if self.edges and not s.is_edge_loop:
            self.generic_visit(s)
        else:
            self.out.append(s)

    def visit_Expr(self, e):
        return None


def _touch(loop: Loop, stats: GraphStats, tables: dict,
           at: tuple[int, ...] | None = None, k: Kernel | None = None
           ) -> tuple[float, float]:
    """(edges, vertices) one execution of a data loop touches; ``at``: the BFS levels it
    runs at when a ``hybrid`` choice selects it (None: every level)."""
    n, m = stats.n, stats.m
    if loop.kind == "edges":
        return float(m) + _inner_edges(loop.body, float(m), stats, k), 0.0
    if loop.kind in ("out_edges", "in_edges"):
        d = stats.mean_degree
        return d + _inner_edges(loop.body, d, stats, k), 0.0
    edges = 0.0
    prof = stats.level_profile
    known = len(prof.push) == stats.levels
    levels = tuple(range(stats.levels)) if at is None else at
    for s in _edge_loops(loop.body):
        if known and s.kind == "in_edges" and saturation(loop, s, tables) is not None:
            count = _mean(prof.pull, levels)  # the early exit (bottom-up step)
        elif known and at is not None and _guarded(loop, s):
            count = _mean(prof.push, levels)  # the frontier's out-edges at these levels
        else:
            count = m / (stats.levels if _guarded(loop, s) else 1.0)
        edges += count + _inner_edges(s.body, count, stats, k)
    return edges, float(n)


def _mean(per_level: tuple[float, ...], levels: tuple[int, ...]) -> float:
    return sum(per_level[L] for L in levels) / len(levels) if levels else 0.0


def _unguarded(body, args: dict) -> list:
    """``body`` without the branches of ``if p:`` whose bool argument ``p`` is false
    (an ``if`` on anything else keeps both branches)."""
    out = []
    for s in body:
        if isinstance(s, If) and isinstance(s.cond, Var) and s.cond.name in args and \
                isinstance(args[s.cond.name], bool | np.bool_):
            out += _unguarded(s.then if args[s.cond.name] else s.orelse, args)
        elif isinstance(s, If):
            out.append(replace(s, then=tuple(_unguarded(s.then, args)),
                               orelse=tuple(_unguarded(s.orelse, args))))
        else:
            out.append(s)
    return out


def _edge_loops(body):
    """The outermost edge loops in ``body`` (through ifs and other loops)."""
    v = _Loops(edges=True)
    v.visit_body(body)
    return v.out


def _inner_edges(body, count: float, stats: GraphStats, k: Kernel | None = None) -> float:
    """Edges visited by edge loops nested in an edge loop of ``count`` iterations: each
    walks the edges of an endpoint of the outer edge, whose mean degree is the graph's
    degree of an edge's endpoint (``GraphStats.head_degree``: high-degree vertices are
    the endpoints of many edges), not its mean degree.  An ordered intersection walks
    ``GraphStats.merge_walk`` row entries (the count the blade measures), in the cheaper
    numbering by ``merge_work`` (the plan relabels when that is degree order), from the
    rows' ends down when the rule allows it for ``k`` (``intersect.downward``) as the
    emitter then does."""
    total = 0.0
    for s in _edge_loops(body):
        merge = intersection(s)
        if merge is not None and (merge.above or merge.from_) and stats.m and \
                stats._graph is not None:
            # an ordered intersection (u < v < w): the merges walk the rows above v
            order = min(("id", "degree"), key=stats.merge_work)
            down = k is not None and downward(k, merge)
            c = count / stats.m * stats.merge_walk(order, down)
        else:
            c = count * stats.head_degree
        total += c + _inner_edges(s.body, c, stats, k)
    return total


def _guarded(outer: Loop, inner: Loop) -> bool:
    """Is ``inner`` under an if of the node loop (a frontier test)?"""
    v = _Under(inner)
    v.visit_body(outer.body)
    return bool(v.found)


class _Under(Visitor):
    """Finds ``inner``: ``found`` is whether an if encloses it (None: not found)."""

    def __init__(self, inner: Loop):
        self.inner = inner
        self.ifs = 0
        self.found: bool | None = None

    def visit_Stmt(self, s):
        if self.found is not None:
            return
        if s is self.inner:
            self.found = self.ifs > 0
            return
        self.generic_visit(s)

    def visit_If(self, s: If):
        self.ifs += 1
        try:
            self.visit_Stmt(s)
        finally:
            self.ifs -= 1

    def visit_Expr(self, e):
        return None


def _nest(k: Kernel, loop: Loop, runs: float, stats: GraphStats, hw,
          at: tuple[int, ...] | None = None, mirrored: set[str] | None = None) -> Nest:
    tables = k.table_map
    edges, nodes = _touch(loop, stats, tables, at, k)
    push = 0
    refreshed: dict = {}
    allreduces = 0
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Store):
            t = tables[s.table]
            if t.space == "scalar":
                allreduces += 1
            else:
                if t.space != "node" or mirrored is None or s.table in mirrored:
                    refreshed[s.table] = t.dtype.np.itemsize
                if s.op is not None and t.space == "node" and not _own(loop, s.index):
                    push += 1
            if s.flag:
                allreduces += 1
    inner = {id(x) for x, _ in iter_stmts([loop]) if isinstance(x, Loop)}
    if not hw.eligible:
        ok, why = False, hw.why
    elif inner & set(hw.site_loops):
        ok, why = True, ""
    else:
        ok, why = False, "the edge unit does not run this loop"
    state_bits = hw.bits_per_vertex if ok else 0
    calls = 0.0
    if ok:  # a site that is the nest's loop (or a range loop): one call a run; a
        # per-vertex edge loop inside it: one call a vertex whose edges it walks
        for x, _ in iter_stmts([loop]):
            if isinstance(x, Loop) and id(x) in hw.site_loops:
                calls += 1.0 if x is loop or x.kind in ("nodes", "edges") else \
                    min(nodes or stats.n, edges / max(stats.mean_degree, 1e-9))
    divs, atomics, refs, ws = edge_work(loop, tables)
    nest = Nest(loop_label(loop), runs, edges, nodes, push, refreshed, allreduces, ok, why,
                state_bits, line=loop.loc.line if loop.loc is not None else 0, calls=calls,
                divisions=divs, atomic_float_adds=atomics, random_refs=refs,
                random_bytes=ws, random_tables=tuple(sorted(random_tables(loop, tables))))
    nest.cost = static_cost(nest)
    _row_walks(nest, loop, stats, k)
    return nest


def _row_walks(nest: Nest, loop: Loop, stats: GraphStats, k: Kernel) -> None:
    """Mark the rows nest ``loop`` reads at an index an outer edge loaded: an ordered
    intersection (``frontend.rewrite.intersect``) nested in an edge loop merges, per
    edge, part of the row of the vertex that edge points at -- a row starting wherever
    that vertex's id says, which no prefetcher predicts (``cost.row_miss_seconds``).  Its
    line references come from the graph (``GraphStats.row_line_rates``, in the
    numbering and direction ``_inner_edges`` counts the walk in): a row is read once
    per edge into its vertex, so the rows of high-degree vertices stay cached."""
    if stats._graph is None or not stats.m or nest.edges <= 0:
        return
    outer = [loop] if loop.is_edge_loop else _edge_loops(loop.body)
    for o in outer:
        for s in _edge_loops(o.body):
            merge = intersection(s)
            if merge is None or not (merge.above or merge.from_):
                continue
            order = min(("id", "degree"), key=stats.merge_work)
            rates = stats.row_line_rates(order, downward(k, merge))
            nest.rows_out_of_order = True
            nest.row_rates = rates
            nest.row_lines = sum(r * c for r, c in rates) / nest.edges
            return


#: extra cost of one edge, in plain edge relaxations, of a division evaluated per edge
#: and of a float addition into an entry other iterations share (a compare-and-swap
#: loop): PageRank on kron-18, one thread, here: the edge-centric nest (a division and an
#: atomic add per edge) 28 ns an edge, the push nest (atomic add, division per vertex)
#: 9.6 ns, the pull nest (neither) 8.7 ns; with two threads the shared additions
#: contend (push 2.2x pull).  Calibration replaces the factor by the measured one.
DIVISION_COST = 1.0
ATOMIC_FLOAT_ADD_COST = 0.5


def static_cost(n: Nest) -> float:
    """The nest's cost factor before calibration: 1 plus its per-edge extras, weighted by
    the share of its work that is edges."""
    extra = DIVISION_COST * n.divisions + ATOMIC_FLOAT_ADD_COST * n.atomic_float_adds
    if not extra or n.edges <= 0:
        return 1.0
    frac = n.edges / (n.edges + NODE_COST_OF_EDGE * n.nodes)
    return 1.0 + extra * frac


NODE_COST_OF_EDGE = 0.25  # cost.NODE_COST (a vertex visit in edge units)


def edge_work(loop: Loop, tables: dict) -> tuple[int, int, int, int]:
    """(divisions, float additions into shared entries, random node-table references,
    their tables' bytes per vertex) of one edge of the parallel nest ``loop``: what the
    statements inside its edge loops (all of an edge-centric loop) evaluate per edge.
    A reference is random when its index is neither the nest's own vertex (``_own``)
    nor, in an edge-centric loop, the edge's source (the edge list is in source order).
    Statements inside an ordered intersection (``frontend.rewrite.intersect``) run once
    per match, not per entry the merge walks, and matches are a small share of those
    entries (TC on kron-18: 82.8 M triangles in 667 M entries): they are not charged per
    edge (counted per entry they overcharged the working-set term about eight-fold)."""
    divs, atomics, refs, ws = _edge_refs(loop, tables)
    return divs, atomics, len(refs), sum(ws.values())


def _edge_refs(loop: Loop, tables: dict) -> tuple[int, int, set, dict]:
    """``edge_work``'s counts: divisions, shared float additions, the random references
    (table, index) and their tables' bytes per vertex by name."""
    per_edge = []
    for s, path in iter_stmts([loop]):
        if s is loop:
            continue
        if any(isinstance(p, Loop) and intersection(p) is not None for p in path):
            continue
        if loop.kind == "edges" or any(isinstance(p, Loop) and p.is_edge_loop for p in path):
            per_edge.append(s)
    divs = atomics = 0
    refs: set = set()
    ws: dict = {}

    def sequential(i) -> bool:
        return loop.kind == "edges" and isinstance(i, EdgeAttr) and i.attr == "src" and \
            i.edge == loop.var

    def note(table, index):
        t = tables[table]
        if t.space != "node" or index is None or _own(loop, index) or sequential(index):
            return
        refs.add((table, repr(index)))
        ws[table] = t.dtype.np.itemsize

    for s in per_edge:
        if isinstance(s, Loop):
            continue
        for e in stmt_exprs(s):
            for x in iter_exprs(e):
                if isinstance(x, Bin) and x.op in ("/", "//", "%"):
                    divs += 1
                elif isinstance(x, Load):
                    note(x.table, x.index)
        if isinstance(s, Store):
            note(s.table, s.index)
            t = tables[s.table]
            if s.op == "add" and t.dtype.is_float and t.space == "node" and \
                    not _own(loop, s.index):
                atomics += 1
    return divs, atomics, refs, ws


def random_tables(loop: Loop, tables: dict) -> set[str]:
    """The node tables ``edge_work`` counts random references into (by name)."""
    return set(_edge_refs(loop, tables)[3])


def _own(loop: Loop, index) -> bool:
    if isinstance(index, Var) and index.name == loop.var:
        return True
    if isinstance(index, EdgeAttr) and index.attr in ("src", "dst"):
        for s, _ in iter_stmts([loop]):
            if isinstance(s, Loop) and s.var == index.edge and isinstance(s.of, Var) and \
                    s.of.name == loop.var:
                return (s.kind, index.attr) in (("out_edges", "src"), ("in_edges", "dst"))
    return False
