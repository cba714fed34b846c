"""Loop invariants of a parallel nest held in locals (``backends/cpp/hoist.py``): every
region reads the graph and the tables through its threads' own copies, every edge loop
reads its row's end once, and a relaxed loop reads the running vertex's own entry once
per row -- and the results stay the interpreter's, also where a row lowers its own
vertex's entry (a self-loop) while it runs."""

from __future__ import annotations

import os
import re

import pytest

import cosynth as cs
from cosynth.backends.cpp.emit import emit_program
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from cosynth.planner.stubs import blade_program
from tests.backends.test_golden import _program
from tests.helpers import ROOT, example, kernel_from_source, random_graph

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))

BLADES = [("cc", "async"), ("sssp", "async"), ("sssp", "pull"), ("bfs", "hybrid"),
          ("pagerank", "bsp"), ("pagerank", "pull"), ("tc", "par"), ("kcore", "par")]


def _lines(name: str, v: str) -> list[str]:
    return [x.strip() for x in emit_program(blade_program(example(name).ir, v)).splitlines()]


def _loop_after(lines: list[str], at: int) -> list[str]:
    """The lines of the first ``for`` loop at or after line ``at``, through its brace."""
    start = next(i for i in range(at, len(lines)) if lines[i].startswith("for ("))
    depth, out = 0, []
    for x in lines[start:]:
        out.append(x)
        depth += x.count("{") - x.count("}")
        if depth <= 0:
            return out
    raise AssertionError("unclosed loop")


@pytest.mark.parametrize("name,v", BLADES, ids=[f"{n}-{v}" for n, v in BLADES])
def test_every_region_reads_the_graph_and_tables_through_its_own_copies(name, v):
    """Each parallel region makes ``G`` (a ``GraphView``) and the tables' base pointers
    ``firstprivate``, declared in the block just before it; each edge loop's end is a
    local set once."""
    lines = _lines(name, v)
    # the nests' regions (counted with nest_done's w__N), not the threads' start before
    # the clock nor a level queue's count pass (sparse.py)
    regions = [i for i, x in enumerate(lines) if x.startswith("#pragma omp parallel") and
               lines[i + 1] != "{ (void)0; }" and
               any("reduction(+:w__" in y for y in lines[i:i + 4] if y.startswith("#pragma"))]
    assert regions
    for i in regions:
        here = lines[i] if "for" in lines[i] or "num_threads" in lines[i] else \
            next(x for x in lines[i:] if x.startswith("#pragma omp for"))
        assert "firstprivate(G" in here, (lines[i], here)
        block = next(x for x in reversed(lines[:i]) if x.startswith("{ const GraphView G ="))
        names = here.split("firstprivate(G")[1].split(")")[0]
        for t in [n.strip() for n in names.split(",") if n.strip()]:
            assert f"auto* const {t} = {t}__d;" in block, (t, block)
    rows = [x for x in lines if x.startswith("for (") and "_begin(" in x]
    assert all("__end = G." in x for x in rows), rows
    assert not any(re.search(r"< G\.(out|in)_end\(", x) for x in lines if x.startswith("for ("))


@pytest.mark.parametrize("name", ["cc", "sssp"])
def test_a_relaxed_loop_reads_the_running_vertexs_entry_once_per_row(name):
    """CC's label and SSSP's distance of ``v``: read once before each edge loop of the
    frontier's sweep, never inside it."""
    lines = _lines(name, "async")
    table = "u_label" if name == "cc" else "u_dist"
    own = [i for i, x in enumerate(lines) if "read once for the row (hoist.py)" in x]
    assert own, lines
    for i in own:
        assert f"load(&{table}[(u_v - G.glo)])" in lines[i], lines[i]
        name_ = lines[i].split()[2]
        body = _loop_after(lines, i + 1)
        assert any(name_ in x for x in body), body
        assert not any(f"{table}[(u_v - G.glo)]" in x for x in body), body


def test_without_a_frontier_an_entry_other_threads_lower_is_read_at_every_edge():
    """The CPU side of a loop the FPGA unit may run has no frontier (a worklist): nothing
    re-runs a vertex whose entry another thread lowered mid-row, so the entry stays an
    atomic load at every edge."""
    lines = [x.strip() for x in _program("sssp", "sssp_int", "async", True).splitlines()]
    assert not any("read once for the row" in x for x in lines)
    at = next(i for i, x in enumerate(lines) if x.startswith("for (") and "G.out_begin(" in x)
    assert any("load(&u_dist[(u_v - G.glo)])" in x for x in _loop_after(lines, at))


COUNTDOWN = """
import cosynth as cs
@cs.kernel
def f(g: cs.Graph) -> cs.NodeArray[cs.i64]:
    x = g.node_array(cs.i64, 0)
    for v in g.nodes():
        x[v] = 40 + 3 * v
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            for e in g.out_edges(v):
                c = max(x[v], 1) - 1
                if c < x[e.dst]:
                    x[e.dst] = c
                    changed = True
    return x
"""


# two blades in the default suite (the sharded program: owned ranges, ghosts); one blade
# with the slow set (14 s warm for both, 13 of the cold CI run's seconds)
@pytest.mark.parametrize("blades", [2, pytest.param(1, marks=pytest.mark.slow)])
def test_a_row_that_lowers_its_own_entry_equals_the_interpreter(tmp_path, blades):
    """A self-loop lowers the running vertex's own entry while its row runs: the rest of
    the row uses the value read at its start, the change queues the vertex and its next
    run uses the new one (hoist.py, case 3).  Every vertex on or after a self-loop ends at
    0, the others at their least ``x[u] - hops``: equal to the interpreter on 1 and 2
    blades, 2 threads."""
    kf = kernel_from_source(tmp_path, COUNTDOWN, "f")[0]
    assert "read once for the row (hoist.py)" in emit_program(blade_program(kf.ir, "async"))
    graphs = [cs.Graph.from_edges([0, 0, 1, 2, 3, 3, 4], [1, 0, 2, 2, 4, 3, 5], num_nodes=7),
              cs.Graph.from_networkx(random_graph(7, directed=True, weighted=False,
                                                  max_n=40))]
    for g in graphs:
        sim = simulate(kf, RACK, g, {}, blades=blades, variant="async", threads=2,
                       timeout=120, check="interp")
        assert sim.checks and all(c.endswith(": ok") or ": ok" in c for c in sim.checks), \
            sim.checks
