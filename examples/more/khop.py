"""Hop distances up to ``k`` by level-synchronous rounds (``for level in range(k)``);
vertices farther than ``k`` hops keep the i64 maximum."""

import cosynth as cs
from cosynth.examples.more import refs


@cs.kernel(reference=refs.khop)
def khop(g: cs.Graph, source: int, k: int = 3) -> cs.NodeArray[cs.i64]:
    dist = g.node_array(cs.i64, cs.INF)
    dist[source] = 0
    for level in range(k):
        for v in g.nodes():
            if dist[v] == level:
                for e in g.out_edges(v):
                    if level + 1 < dist[e.dst]:
                        dist[e.dst] = level + 1
    return dist
