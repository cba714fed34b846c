"""The vectorised references equal the networkx ones (``nxref``) on the same graphs."""

import numpy as np
import pytest

import cosynth as cs
from cosynth import nxref, spref
from cosynth.errors import NoReference


def _graphs():
    out = [cs.Graph.kronecker(8, seed=1), cs.Graph.uniform(60, 150, seed=2),
           cs.Graph.from_edges([0, 1, 3, 3, 5], [1, 2, 4, 4, 5], weight=[1, 0, 2, 7, 1],
                               num_nodes=7, directed=True),  # parallel edges, zero, loop
           cs.Graph.from_edges([0, 2, 2], [1, 3, 0], num_nodes=5, directed=False)]
    return out


@pytest.mark.parametrize("gi", range(4))
def test_spref_equals_networkx(gi):
    g = _graphs()[gi]
    src = int(np.argmax(g.out_degrees()))
    for name, args in [("bfs", (src,)), ("sssp", (src,)), ("sssp_int", (src,)), ("cc", ()),
                       ("pagerank", ()), ("tc", ())]:
        try:
            want = getattr(nxref, name)(g, *args)
        except NoReference:
            continue
        if name == "pagerank":
            got = spref.pagerank(g, *args)
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=0)
        elif name == "tc":
            got = spref.tc(g)
            assert got[0] == want[0], name
            np.testing.assert_array_equal(got[1], want[1])
        else:
            np.testing.assert_array_equal(getattr(spref, name)(g, *args), want, err_msg=name)


def test_dispatch_by_size(monkeypatch):
    g = cs.Graph.kronecker(7, seed=3)
    assert nxref.engine(nxref.cc, g) == "networkx"
    assert nxref.engine(nxref.bc, g) == "networkx"
    assert nxref.engine(len, g) == "reference"
    want = nxref.cc(g)
    monkeypatch.setattr(nxref, "NX_MAX_EDGES", 10)
    assert nxref.engine(nxref.cc, g) == "scipy"
    assert nxref.engine(nxref.kcore, g) == "networkx"  # no vectorised form
    np.testing.assert_array_equal(nxref.cc(g), want)


def test_spref_equals_networkx_on_every_small_digraph():
    from tests.smallgraphs import small_digraphs
    count = 0
    for g in small_digraphs(3):
        for s in range(g.n):
            np.testing.assert_array_equal(spref.bfs(g, s), nxref.bfs(g, s))
            np.testing.assert_array_equal(spref.sssp(g, s), nxref.sssp(g, s))
            np.testing.assert_array_equal(spref.sssp_int(g, s), nxref.sssp_int(g, s))
        np.testing.assert_array_equal(spref.cc(g), nxref.cc(g))
        np.testing.assert_allclose(spref.pagerank(g), nxref.pagerank(g), rtol=1e-9)
        count += 1
    assert count > 20
