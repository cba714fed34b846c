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
