"""The runtime's ``gallop`` (the ordered intersection's hoisted bounds) finds the same
position as a binary search, from either end, on rows of every shape: compiled with the
real toolchain and compared with ``std::lower_bound`` / ``std::upper_bound``."""

from __future__ import annotations

import pytest

from cosynth import procs
from cosynth.backends.toolchain import compile_program

SOURCE = r"""
#include <random>
#include "cosynth_rt.hpp"
using namespace cosynth;
int main() {
  std::mt19937_64 rng(7);
  int64_t checked = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    const int len = trial < 50 ? trial % 5 : (int)(rng() % 300);  // empty rows too
    std::vector<idx_t> row(len);
    for (auto& x : row) x = (idx_t)(rng() % 64);  // repeated entries too
    std::sort(row.begin(), row.end());
    const idx_t* b = row.data();
    const idx_t* e = b + len;
    for (int64_t v = -2; v < 67; ++v) {
      const idx_t* up = std::upper_bound(b, e, (idx_t)v);  // first > v
      const idx_t* lo = std::lower_bound(b, e, (idx_t)v);  // first >= v
      for (bool end : {true, false}) {
        if (gallop(b, e, end, [&](idx_t a) { return (int64_t)a > v; }) != up ||
            gallop(b, e, end, [&](idx_t a) { return (int64_t)a >= v; }) != lo) {
          std::printf("mismatch: len %d v %lld end %d\n", len, (long long)v, (int)end);
          return 1;
        }
        ++checked;
      }
    }
  }
  std::printf("checked %lld\n", (long long)checked);
  return 0;
}
"""


def test_gallop_equals_binary_search_from_both_ends():
    binary, _ = compile_program(SOURCE, name="gallop")
    r = procs.run([binary], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == f"checked {4000 * 69 * 2}"


# Merges with every kind of hoisted bound, none, and a kept conjunct: the scan over the
# other row ends at its sentinel (its largest kept entry), not at a bound test per step
_MERGES = """
import cosynth as cs

@cs.kernel
def merges(g: cs.Graph) -> tuple:
    below = 0
    upto = 0
    free = 0
    t = g.node_array(cs.i64, 0)
    for u in g.nodes():
        for e in g.out_edges(u):
            v = e.dst
            for f in g.out_edges(v):
                w = f.dst
                if w < v and w >= u and g.has_edge(u, w):
                    below += 1
                    t[w] += 1
            for f in g.out_edges(v):
                w = f.dst
                if w <= u and g.has_edge(u, w) and w != v:
                    upto += w + 1
            for f in g.out_edges(v):
                if g.has_edge(u, f.dst):
                    free += 1
    return below, upto, free, t
"""


@pytest.mark.slow
def test_merges_with_every_bound_equal_the_interpreter(tmp_path):
    """Lower and upper bounds, none, a kept conjunct, empty kept parts (isolated vertices,
    rows with nothing below or above the bound): compiled with the sentinel scan, on one
    blade at 2 threads, equal to the kernel as written in the interpreter (slow: a compile,
    ~20 s with a cold cache)."""
    import os

    import cosynth as cs
    from cosynth.backends.cpp.emit import emit_program
    from cosynth.frontend.rewrite import projection, variant
    from cosynth.loader import load_kernels
    from cosynth.pipeline import simulate
    from cosynth.planner import load_manifest
    from tests.helpers import ROOT
    path = tmp_path / "merges.py"
    path.write_text(_MERGES)
    kf = load_kernels(str(path))["merges"]
    kv, _ = variant(kf.ir, "par")
    src = emit_program(projection.apply(kv).kernel, str(path))
    assert src.count("ordered intersection") == 3 and src.count("the scan's sentinel") == 3
    single = load_manifest(os.path.join(ROOT, "manifests", "single.yaml"))
    for g in (cs.Graph.kronecker(8, seed=5),
              cs.Graph.from_edges([0, 0, 1, 2, 5, 5, 6], [1, 2, 2, 3, 6, 7, 7], num_nodes=9,
                                  directed=False)):
        sim = simulate(kf, single, g, {}, blades=1, variant="par", threads=2, timeout=300)
        assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks


# Merges that run from the rows' ends down (lower bounds only, reductions that commute):
# > and >= bounds, two bounds, a kept conjunct, a head private and the edge itself
_DOWN = """
import cosynth as cs

@cs.kernel
def down(g: cs.Graph) -> tuple:
    above = 0
    from_ = 0
    kept = 0
    t = g.node_array(cs.i64, 0)
    for u in g.nodes():
        for e in g.out_edges(u):
            v = e.dst
            for f in g.out_edges(v):
                w = f.dst
                if w > v and g.has_edge(u, w):
                    above += 1
                    t[w] += 1
            for f in g.out_edges(v):
                w = f.dst
                if w >= u and g.has_edge(u, w) and w != v:
                    from_ += w + 1
            for f in g.out_edges(v):
                if f.dst > u and f.dst >= v and g.has_edge(u, f.dst):
                    kept += 1
                    t[f.src] += 2
    return above, from_, kept, t
"""


@pytest.mark.slow
def test_downward_merges_equal_the_interpreter(tmp_path):
    """Every merge of ``_DOWN`` runs from the rows' ends down; on a Kronecker graph and on
    a multigraph (parallel edges: the body once per entry of the walked row, however often
    the driving row repeats the head; rows whose smallest entry matches; empty rows), one
    blade at 2 threads, the results equal the kernel as written in the interpreter (slow:
    a compile).  Fails with the walk's sentinel one too high (a match at x's smallest
    entry lost) or without the walk below a matched run of repeated entries."""
    import os

    import cosynth as cs
    from cosynth.backends.cpp.emit import emit_program
    from cosynth.frontend.rewrite import projection, variant
    from cosynth.loader import load_kernels
    from cosynth.pipeline import simulate
    from cosynth.planner import load_manifest
    from tests.helpers import ROOT
    path = tmp_path / "down.py"
    path.write_text(_DOWN)
    kf = load_kernels(str(path))["down"]
    kv, _ = variant(kf.ir, "par")
    src = emit_program(projection.apply(kv).kernel, str(path))
    assert src.count("from their ends down") == 3 and "gallop(" not in src
    single = load_manifest(os.path.join(ROOT, "manifests", "single.yaml"))
    for g in (cs.Graph.kronecker(8, seed=5),
              cs.Graph.from_edges([0, 0, 0, 1, 1, 2, 5, 5, 6, 3], [1, 1, 2, 2, 2, 3, 6, 7, 7, 0],
                                  num_nodes=9, directed=False)):
        sim = simulate(kf, single, g, {}, blades=1, variant="par", threads=2, timeout=300)
        assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks
