"""The saturating early exit (``frontend/rewrite/saturation``, emitted by the C++
backend): which edge loops it applies to, and the pull BFS that uses it equals the
interpreter and networkx on 1 and 2 blades."""

from __future__ import annotations

import os

import pytest

import cosynth as cs
from cosynth.backends.cpp.emit import emit_program
from cosynth.frontend.rewrite import variant
from cosynth.frontend.rewrite.saturation import saturation
from cosynth.ir.nodes import Loop
from cosynth.ir.walk import iter_stmts
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example, kernel_from_source, random_graph

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


def _nests(k):
    """(node loop, edge loop directly over its vertex) pairs of kernel IR ``k``."""
    tables = {t.name: t for t in k.tables}
    out = []
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop) and s.kind == "nodes":
            for e in s.body:
                if isinstance(e, Loop) and e.kind in ("in_edges", "out_edges"):
                    out.append(saturation(s, e, tables))
    return out


def _ir(kf, v):
    kv = variant(kf.ir, v)
    return kv[0] if isinstance(kv, tuple) else kv


def test_pull_bfs_saturates_and_push_bfs_does_not():
    bfs = example("bfs")
    (sat,) = _nests(_ir(bfs, "pull"))
    assert sat is not None and sat.op == "min" and sat.table == "depth"
    assert all(s is None for s in _nests(_ir(bfs, "par")))  # writes depth[e.dst]
    assert "saturating min" in emit_program(_ir(bfs, "pull"))


@pytest.mark.parametrize("name,v", [("cc", "pull"), ("sssp", "pull"), ("pagerank", "pull"),
                                    ("tc", "pull"), ("kcore", "par")])
def test_value_that_varies_or_is_not_idempotent_is_refused(name, v):
    """CC's and SSSP's pull values read the edge's source; PageRank adds; TC counts."""
    assert all(s is None for s in _nests(_ir(example(name), v)))


SOURCES = {
    "count": """
import cosynth as cs
@cs.kernel
def f(g: cs.Graph, level: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, 5)
    hits = 0
    for u in g.nodes():
        for e in g.in_edges(u):
            if depth[e.src] == 5:
                depth[u] = min(depth[u], level)
                hits += 1
    return depth
""",
    "other_write": """
import cosynth as cs
@cs.kernel
def f(g: cs.Graph, level: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, 5)
    for u in g.nodes():
        for e in g.in_edges(u):
            depth[u] = min(depth[u], level)
        depth[u] = depth[u] + 1
    return depth
""",
    "ok": """
import cosynth as cs
@cs.kernel
def f(g: cs.Graph, level: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, 5)
    for u in g.nodes():
        for e in g.in_edges(u):
            if e.src != u:
                depth[u] = min(depth[u], level * 2)
    return depth
""",
}


def test_only_pure_saturating_loops_exit_early(tmp_path):
    got = {name: _nests(_ir(kernel_from_source(tmp_path, src, "f")[0], "par"))
           for name, src in SOURCES.items()}
    assert got["count"] == [None]  # hits += 1 counts every parent, not only the first
    assert got["other_write"] == [None]  # depth[u] also written by a plain store
    assert got["ok"][0] is not None and got["ok"][0].op == "min"


def test_pull_bfs_with_early_exit_equals_interpreter_and_networkx():
    kf = example("bfs")
    graphs = [cs.Graph.kronecker(9, seed=2),
              cs.Graph.from_networkx(random_graph(41, directed=True, weighted=False, max_n=60)),
              cs.Graph.from_edges([0, 1, 1, 2], [1, 2, 2, 0], num_nodes=5)]  # parallel edges
    for g in graphs:
        for blades in (1, 2):
            sim = simulate(kf, RACK, g, {"source": 0}, blades=blades, variant="pull",
                           threads=2, timeout=120)
            assert sim.checks[0].startswith("blades == IR interpreter: ok"), sim.checks
            assert any(c.startswith("blades == networkx") for c in sim.checks)
            if g.m > 1000:  # visited vertices scan no edge: fewer than m per superstep
                nests = [r for b in sim.predicted for r in b["nests"] if r["measured_runs"]]
                edges = sum(r["measured_edges"] for r in nests)
                assert 0 < edges < max(r["measured_runs"] for r in nests) * g.m


@pytest.mark.parametrize("v", ["pull", "hybrid"])
def test_a_saturated_vertex_skips_its_row_before_reading_its_bounds(v):
    """The early exit's first test is hoisted before the edge loop (``loops._saturating``):
    a vertex whose entry the invariant value cannot improve reads no CSC bounds."""
    lines = [x.strip() for x in emit_program(_ir(example("bfs"), v)).splitlines()]
    at = next(i for i, x in enumerate(lines) if "// saturating min" in x)
    sat = lines[at].split()[2]  # const int64_t sat__N = ...
    assert lines[at + 1].startswith(f"if ({sat} < u_depth[") and "saturated already" in \
        lines[at + 1], lines[at:at + 4]
    row = next(i for i, x in enumerate(lines) if i > at and "G.in_begin(" in x)
    assert row == at + 2  # the bounds are read only inside the hoisted test
    assert lines[row + 2].startswith(f"if (!({sat} < u_depth[")  # the break stays
