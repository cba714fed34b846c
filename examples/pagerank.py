"""PageRank by power iteration, as ``networkx.pagerank(G, weight=None)`` computes it.

Dangling vertices (no out-edges) spread their rank uniformly over all vertices; the
iteration stops when the L1 change drops below ``n * tol`` or after ``max_iter`` steps.
Agreement with networkx: ``rtol=1e-9`` on every vertex (both sum in floating point, in
different orders).
"""

import cosynth as cs
from cosynth import nxref


@cs.kernel(reference=nxref.pagerank)
def pagerank(g: cs.Graph, alpha: float = 0.85, tol: float = 1e-6,
             max_iter: int = 100) -> cs.NodeArray:
    n = g.num_nodes()
    rank = g.node_array(cs.f64, 1.0 / n)
    contrib = g.node_array(cs.f64, 0.0)
    it = 0
    done = False
    while not done:
        dangling = 0.0
        for v in g.nodes():
            contrib[v] = 0.0
            if g.out_degree(v) == 0:
                dangling += rank[v]
        for v in g.nodes():
            share = rank[v] / g.out_degree(v) if g.out_degree(v) > 0 else 0.0
            for e in g.out_edges(v):
                contrib[e.dst] += share
        err = 0.0
        for v in g.nodes():
            r = alpha * (contrib[v] + dangling / n) + (1.0 - alpha) / n
            err += abs(r - rank[v])
            rank[v] = r
        it += 1
        done = err < n * tol or it >= max_iter
    return rank
