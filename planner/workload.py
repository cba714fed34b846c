"""What a kernel variant asks of the machine: work, traffic and memory, read off its IR.

For each *parallel nest* (a ``par``/``bsp``/``async`` node or edge loop, which the blade
program distributes) the profile counts, per execution, the edges and vertices it
touches, the reductions it sends to other blades (push: one message per cut edge per
reduction; pull gathers instead, reading mirrors), the node tables it writes (mirrors
refreshed after it) and the scalar reductions (a reduction tree each).  Sequential data
loops are *replicated*: every blade does their whole work.

How often each nest runs comes from the loops around it: a while loop runs
``GraphStats.levels`` times when it is a fixed point or a level loop (its condition is a
change flag or a counter), ``other_loop_iterations`` times otherwise (a convergence test
such as PageRank's; calibratable), a counted ``range`` its count when it is a constant,
and a sequential node loop once per vertex.  These are estimates for planning; the
calibration issue measures them.

FPGA eligibility of a nest: its edge loop computes on integers and bools only and
reduces with min/max/add/or/and (what ``backends/rtl`` builds as a streaming edge unit);
anything else keeps the nest on the CPU, with the reason recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cosynth.ir.nodes import (
    Bin,
    Const,
    GraphQuery,
    If,
    Kernel,
    Load,
    Loop,
    Store,
)
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .stats import GraphStats

__all__ = ["Nest", "Workload", "profile", "OTHER_LOOP_ITERATIONS"]

OTHER_LOOP_ITERATIONS = 20


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

    @property
    def supersteps(self) -> float:
        return max(1.0, sum(n.runs for n in self.nests))

    @property
    def parallel_edges(self) -> float:
        return sum(n.runs * n.edges for n in self.nests)

    @property
    def parallel_nodes(self) -> float:
        return sum(n.runs * n.nodes for n in self.nests)

    @property
    def fpga_ok(self) -> bool:
        heavy = [n for n in self.nests if n.edges > 0]
        return bool(heavy) and all(n.fpga_ok for n in heavy)

    @property
    def fpga_why(self) -> str:
        for n in self.nests:
            if n.edges > 0 and not n.fpga_ok:
                return f"{n.label}: {n.fpga_why}"
        return "" if self.fpga_ok else "no edge loop to put on the FPGA"


def profile(k: Kernel, variant: str, stats: GraphStats, args: dict | None = None) -> Workload:
    args = args or {}
    n, m = stats.n, stats.m
    nests: list[Nest] = []
    rep = {"edges": 0.0, "nodes": 0.0}
    uses_in = any(isinstance(s, Loop) and s.kind == "in_edges" for s, _ in iter_stmts(k.body))

    def iterations(loop: Loop) -> float:
        if loop.kind == "while":
            c = loop.cond
            if isinstance(c, Load) or (isinstance(c, Bin) and c.op in ("<", ">", "<=", ">=")):
                return float(stats.levels)
            return float(OTHER_LOOP_ITERATIONS)
        if loop.kind == "range":
            if isinstance(loop.start, Const) and isinstance(loop.stop, Const):
                return float(max(0, (loop.stop.value - loop.start.value)))
            return float(stats.levels)
        if loop.kind == "nodes":
            return float(n)
        return float(m)

    def walk(body, mult: float):
        for s in body:
            if isinstance(s, Loop):
                if s.is_data_loop and s.schedule != "seq":
                    nests.append(_nest(k, s, mult, stats))
                elif s.is_data_loop:
                    e, v = _work(s, mult, stats, iterations)
                    rep["edges"] += e
                    rep["nodes"] += v
                else:
                    walk(s.body, mult * iterations(s))
            elif isinstance(s, If):
                walk(s.then, mult)
                walk(s.orelse, mult)
    walk(k.body, 1.0)
    node_bytes = sum(t.dtype.np.itemsize for t in k.tables if t.space == "node")
    edge_bytes = 16 + (16 if uses_in else 0) + sum(
        t.dtype.np.itemsize for t in k.tables if t.space == "edge")
    return Workload(k.name, variant, nests, rep["edges"], rep["nodes"], node_bytes,
                    edge_bytes, uses_in)


def _work(loop: Loop, mult: float, stats: GraphStats, iterations) -> tuple[float, float]:
    """(edges, vertices) a sequential loop touches in all, loops inside included."""
    if loop.kind in ("out_edges", "in_edges"):
        each, e, v = mult * stats.mean_degree, mult * stats.mean_degree, 0.0
    elif loop.kind == "edges":
        each, e, v = mult * stats.m, mult * stats.m, 0.0
    elif loop.kind == "nodes":
        each, e, v = mult * stats.n, 0.0, mult * stats.n
    else:
        each, e, v = mult * iterations(loop), 0.0, 0.0
    for s, _ in _direct_loops(loop.body):
        de, dv = _work(s, each, stats, iterations)
        e, v = e + de, v + dv
    return e, v


def _direct_loops(body):
    """Loops directly in ``body`` (looking through ifs, not into other loops)."""
    for s in body:
        if isinstance(s, Loop):
            yield s, None
        elif isinstance(s, If):
            yield from _direct_loops(s.then)
            yield from _direct_loops(s.orelse)


def _touch(loop: Loop, stats: GraphStats) -> tuple[float, float]:
    """(edges, vertices) one execution of a data loop touches."""
    n, m = stats.n, stats.m
    if loop.kind == "edges":
        return float(m), 0.0
    if loop.kind in ("out_edges", "in_edges"):
        return stats.mean_degree, 0.0
    edges = 0.0
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Loop) and s.is_edge_loop:
            guarded = _guarded(loop, s)
            edges += m / (stats.levels if guarded else 1.0)
    return edges, float(n)


def _guarded(outer: Loop, inner: Loop) -> bool:
    """Is ``inner`` under an if of the node loop (a frontier test)?"""
    def find(body, under):
        for s in body:
            if s is inner:
                return under
            if isinstance(s, If):
                r = find(s.then, True)
                if r is not None:
                    return r
                r = find(s.orelse, True)
                if r is not None:
                    return r
            elif isinstance(s, Loop):
                r = find(s.body, under)
                if r is not None:
                    return r
        return None
    return bool(find(outer.body, False))


def _nest(k: Kernel, loop: Loop, runs: float, stats: GraphStats) -> Nest:
    from frontend.rewrite.core import loop_label
    tables = k.table_map
    edges, nodes = _touch(loop, stats)
    push = 0
    refreshed: dict = {}
    allreduces = 0
    ok, why = True, ""
    state_bits = 0
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Store):
            t = tables[s.table]
            if t.space == "scalar":
                allreduces += 1
            else:
                refreshed[s.table] = t.dtype.np.itemsize
                if s.op is not None and t.space == "node" and not _own(loop, s.index):
                    push += 1
            if s.flag:
                allreduces += 1
            if s.op not in (None, "min", "max", "add", "or", "and"):
                ok, why = False, f"reduction {s.op}"
        for e in stmt_exprs(s):
            for x in iter_exprs(e):
                d = getattr(x, "dtype", None)
                if d is not None and d.kind == "float":
                    ok, why = False, "it computes with floats (no fixed-point policy)"
                if isinstance(x, GraphQuery) and x.fn == "has_edge":
                    ok, why = False, "has_edge needs a random access into the edge list"
                if isinstance(x, Bin) and x.op in ("/", "//", "%", "**"):
                    ok, why = False, f"'{x.op}' has no single-cycle hardware unit"
    if not any(isinstance(s, Loop) and s.is_edge_loop for s, _ in iter_stmts([loop])):
        ok, why = False, "no edge loop: nothing to stream"
    for name in refreshed:
        if tables[name].space == "node":
            state_bits += tables[name].dtype.np.itemsize * 8
    return Nest(loop_label(loop), runs, edges, nodes, push, refreshed, allreduces, ok, why,
                state_bits)


def _own(loop: Loop, index) -> bool:
    from cosynth.ir.nodes import EdgeAttr, Var
    if isinstance(index, Var) and index.name == loop.var:
        return True
    if isinstance(index, EdgeAttr) and index.attr in ("src", "dst"):
        for s, _ in iter_stmts([loop]):
            if isinstance(s, Loop) and s.var == index.edge and isinstance(s.of, Var) and \
                    s.of.name == loop.var:
                return (s.kind, index.attr) in (("out_edges", "src"), ("in_edges", "dst"))
    return False
