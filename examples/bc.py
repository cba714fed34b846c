"""Betweenness centrality, Brandes' algorithm on unweighted (hop-count) paths.

The kernel sums the dependencies over ordered source/target pairs.  Compared with
``networkx.betweenness_centrality``:

* ``normalized=True`` scales by ``1 / ((n-1)(n-2))`` and equals networkx's normalised
  figure for directed and undirected graphs alike;
* ``normalized=False`` equals networkx's unnormalised figure on a directed graph; on an
  undirected graph pass ``undirected=True`` to halve the sums as networkx does.
"""

import cosynth as cs
from cosynth import nxref


@cs.kernel(reference=nxref.bc)
def bc(g: cs.Graph, normalized: bool = False, undirected: bool = False) -> cs.NodeArray:
    n = g.num_nodes()
    score = g.node_array(cs.f64, 0.0)
    depth = g.node_array(cs.i64, -1)
    sigma = g.node_array(cs.f64, 0.0)
    delta = g.node_array(cs.f64, 0.0)
    for s in g.nodes():
        for v in g.nodes():
            depth[v] = -1
            sigma[v] = 0.0
            delta[v] = 0.0
        depth[s] = 0
        sigma[s] = 1.0
        level = 0
        active = True
        while active:
            active = False
            for v in g.nodes():
                if depth[v] == level:
                    for e in g.out_edges(v):
                        w = e.dst
                        if depth[w] == -1:
                            depth[w] = level + 1
                            active = True
                        if depth[w] == level + 1:
                            sigma[w] += sigma[v]
            level += 1
        while level > 0:
            level -= 1
            for v in g.nodes():
                if depth[v] == level:
                    for e in g.out_edges(v):
                        w = e.dst
                        if depth[w] == level + 1:
                            delta[v] += sigma[v] / sigma[w] * (1.0 + delta[w])
        for v in g.nodes():
            if v != s:
                score[v] += delta[v]
    scale = 1.0
    if normalized:
        if n > 2:
            scale = 1.0 / ((n - 1) * (n - 2))
    elif undirected:
        scale = 0.5
    for v in g.nodes():
        score[v] = score[v] * scale
    return score
