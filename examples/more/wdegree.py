"""Weighted out-degree: the total weight of each vertex's out-edges."""

import cosynth as cs
from cosynth.examples.more import refs


@cs.kernel(reference=refs.wdegree)
def wdegree(g: cs.Graph) -> cs.NodeArray:
    deg = g.node_array(cs.f64, 0.0)
    for v in g.nodes():
        for e in g.out_edges(v):
            deg[v] += e.weight
    return deg
