"""Triangle counting on an undirected simple graph (stored with both directions).

Each triangle u < v < w is found once, from its smallest vertex, with ``g.has_edge``
(rows are sorted, so it is a binary search).  Returns the total and the per-vertex
counts, which equal ``networkx.triangles``; the total is ``sum(nx.triangles(G).values())
// 3``.
"""

import cosynth as cs
from cosynth import nxref


@cs.kernel(reference=nxref.tc)
def tc(g: cs.Graph) -> tuple:
    count = 0
    tri = g.node_array(cs.i64, 0)
    for u in g.nodes():
        for e in g.out_edges(u):
            v = e.dst
            if v > u:
                for f in g.out_edges(v):
                    w = f.dst
                    if w > v and g.has_edge(u, w):
                        count += 1
                        tri[u] += 1
                        tri[v] += 1
                        tri[w] += 1
    return count, tri
