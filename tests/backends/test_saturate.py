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
    # a 32-bit depth table (the hybrid's level frontier: narrowstate.level_states) compares
    # the value's code, made once, with the entry's
    code = lines[at + 1].startswith(f"const state_t<int64_t> {sat}__code({sat});")
    assert code == (v == "hybrid"), lines[at:at + 4]
    test = f"if (state_below({sat}__code, u_depth[" if code else f"if ({sat} < u_depth["
    assert lines[at + 1 + code].startswith(test) and "saturated already" in \
        lines[at + 1 + code], lines[at:at + 4]
    row = next(i for i, x in enumerate(lines) if i > at and "G.in_begin(" in x)
    assert row == at + 2 + code  # the bounds are read only inside the hoisted test


def _edge_loop(lines, at):
    """The lines of the edge loop after the saturating value's line ``at``."""
    start = next(i for i, x in enumerate(lines) if i > at and x.startswith("for (") and
                 "G.in_begin(" in x)
    depth, out = 0, []
    for x in lines[start:]:
        out.append(x)
        depth += x.count("{") - x.count("}")
        if depth <= 0:
            return out
    raise AssertionError("unclosed edge loop")


@pytest.mark.parametrize("v", ["pull", "hybrid"])
def test_the_saturated_loop_ends_right_after_its_store(v):
    """BFS's store is the last statement of its iteration: the loop ends right after it
    (``loops._saturating``), with no test of the entry at the top of each iteration and no
    store on a path that goes on to the next edge."""
    lines = [x.strip() for x in emit_program(_ir(example("bfs"), v)).splitlines()]
    at = next(i for i, x in enumerate(lines) if "// saturating min" in x)
    sat = lines[at].split()[2]
    body = _edge_loop(lines, at)
    assert not any(x.startswith(f"if (!({sat} <") for x in body), body
    store = next(i for i, x in enumerate(body) if "red_min(&u_depth[" in x)
    assert "break; }" in body[store + 1] and "saturated" in body[store + 1], body
    assert body[store + 1].count("-= G.in_end(") == 1 and "- 1; break;" in body[store + 1]


def test_a_store_followed_by_more_keeps_the_test_at_the_top(tmp_path):
    """A store that is not the last statement of its iteration: the exit stays at the top
    of the next iteration (what follows the store still runs)."""
    k = _ir(kernel_from_source(tmp_path, MIXED, "f")[0], "par")
    assert _nests(k)[0] is not None
    lines = [x.strip() for x in emit_program(k).splitlines()]
    at = next(i for i, x in enumerate(lines) if "// saturating min" in x)
    sat = lines[at].split()[2]
    body = _edge_loop(lines, at)
    assert body[1].startswith(f"if (!({sat} < u_depth["), body
    assert sum("saturated: the next test" in x for x in body) == 0, body


MIXED = """
import cosynth as cs
@cs.kernel
def f(g: cs.Graph, level: int) -> cs.NodeArray[cs.i64]:
    seen = g.node_array(cs.i64, 1)
    depth = g.node_array(cs.i64, 5)
    for u in g.nodes():
        for e in g.in_edges(u):
            if seen[e.src] == 1:
                depth[u] = min(depth[u], level)
            if e.src != u:
                depth[u] = min(depth[u], level)
    return depth
"""


def test_scalars_the_parallel_loop_only_reads_are_firstprivate():
    """The level is read by every vertex of the pull and push steps and written by none:
    each thread's copy (``loops._read_only_scalars``); the change flag, which the loop
    writes, stays a reduction."""
    prog = emit_program(_ir(example("bfs"), "hybrid"))
    regions = [x for x in prog.splitlines() if "#pragma omp parallel for" in x and
               "u_active" in x]
    assert len(regions) == 2, regions  # the pull and the push step
    for x in regions:
        assert "firstprivate(u_level)" in x and "firstprivate(u_active" not in x, x


# a slow case: the default suite's cold CI run was 541 s of its 480
@pytest.mark.parametrize("name", ["ok", pytest.param("mixed", marks=pytest.mark.slow)])
def test_saturating_loops_with_either_exit_equal_the_interpreter(tmp_path, name):
    """The exit after the store (``ok``: its one store is last, gathered in a register) and
    the exit at the top (``mixed``: a store followed by an ``if``), run on 2 threads."""
    src = SOURCES["ok"] if name == "ok" else MIXED
    kf = kernel_from_source(tmp_path, src, "f")[0]
    g = cs.Graph.from_networkx(random_graph(7, directed=True, weighted=False, max_n=60))
    sim = simulate(kf, RACK, g, {"level": 3}, blades=1, variant="par", threads=2,
                   timeout=120)
    assert sim.checks[0].startswith("blades == IR interpreter: ok"), sim.checks
