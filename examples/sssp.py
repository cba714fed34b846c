"""Single-source shortest paths (Bellman-Ford style relaxation to a fixed point).

Matches ``networkx.single_source_dijkstra_path_length`` on graphs with non-negative
weights; unreachable vertices keep ``cs.INF``.
"""

import cosynth as cs
from cosynth import nxref


@cs.kernel(reference=nxref.sssp)
def sssp(g: cs.Graph, source: int) -> cs.NodeArray:
    dist = g.node_array(cs.f64, cs.INF)
    dist[source] = 0.0
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            for e in g.out_edges(v):
                nd = dist[v] + e.weight
                if nd < dist[e.dst]:
                    dist[e.dst] = nd
                    changed = True
    return dist


@cs.kernel(weight=cs.i64, reference=nxref.sssp_int)
def sssp_int(g: cs.Graph, source: int) -> cs.NodeArray[cs.i64]:
    """SSSP on integer weights (Kronecker graphs carry weights 1..255): the form that can
    go to an FPGA.  Unreachable vertices keep the i64 maximum.

    The distance update is a saturating addition of a non-negative weight (a negative
    weight counts as 0): ``min(d, MAX - w) + w`` never wraps, so Z3 proves it monotone
    and the fixed point may be relaxed (a plain ``d + w`` is refused, rightly: it wraps).
    """
    dist = g.node_array(cs.i64, cs.INF)
    dist[source] = 0
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            for e in g.out_edges(v):
                w = max(e.weight, 0)
                nd = min(dist[v], cs.i64.max - w) + w
                if nd < dist[e.dst]:
                    dist[e.dst] = nd
                    changed = True
    return dist
