"""planner.graphcounts.relaxation's dense rounds (a pull over every row: a gather and a
segmented minimum) give the same rounds, edges and fixed point as its sparse rounds (a
scatter of the changed vertices' candidates) and as the direct whole-graph definition,
whichever rounds pull: every one, none, the default share; with rows split over many
chunks, weighted, unweighted, symmetric and directed multigraphs, empty rows."""

import numpy as np
import pytest

import cosynth as cs
from cosynth.planner import graphcounts
from tests.planner.test_graphcounts import GRAPHS, _relaxation_direct

#: besides the shared graphs: isolated vertices at both ends and a hub whose row alone
#: is longer than a chunk
_rng = np.random.default_rng(3)
_HUB = cs.Graph.from_edges(np.r_[np.full(400, 5), _rng.integers(3, 90, 300)],
                           np.r_[_rng.integers(3, 90, 400), _rng.integers(3, 90, 300)],
                           _rng.integers(0, 7, 700) * 0.25, num_nodes=100)
CASES = [*GRAPHS, ("hub", _HUB)]


@pytest.mark.parametrize("dense", [0.0, graphcounts.DENSE, 2.0], ids=["all", "default", "none"])
@pytest.mark.parametrize("name,g", CASES, ids=[n for n, _ in CASES])
def test_pulled_rounds_are_the_direct_definition(name, g, dense, monkeypatch):
    monkeypatch.setattr(graphcounts, "DENSE", dense)
    monkeypatch.setattr(graphcounts, "CHUNK", 37)
    src = int(np.argmax(np.diff(g.out_indptr)))
    for s in (src, None):
        r, e, val = graphcounts.relaxation(g, s)
        r0, e0, val0 = _relaxation_direct(g, s)
        assert (r, e) == (r0, e0), (s, dense)
        assert np.array_equal(val, val0), (s, dense)


def test_a_kronecker_graph_pulls_its_wide_rounds(monkeypatch):
    """Label propagation's first rounds walk most edges: those pull (counted), and the
    fixed point, rounds and edges are the scatter-only ones."""
    g = cs.Graph.kronecker(11, seed=2)
    monkeypatch.setattr(graphcounts, "DENSE", 2.0)
    want = graphcounts.relaxation(g, None)
    calls = []
    real = graphcounts._pull
    monkeypatch.setattr(graphcounts, "_pull", lambda *a: (calls.append(1), real(*a)))
    monkeypatch.setattr(graphcounts, "DENSE", 0.25)
    got = graphcounts.relaxation(g, None)
    assert calls
    assert got[:2] == want[:2] and np.array_equal(got[2], want[2])
