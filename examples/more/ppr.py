"""Personalised PageRank with the personalisation vector as an array argument, as
``networkx.pagerank(G, personalization=...)`` computes it (dangling rank follows the
personalisation; the iteration stops when the L1 change drops below ``n * tol``)."""

import cosynth as cs
from cosynth.examples.more import refs


@cs.kernel(reference=refs.ppr)
def ppr(g: cs.Graph, personal: cs.NodeArray[cs.f64], alpha: float = 0.85,
        tol: float = 1e-6, max_iter: int = 100) -> cs.NodeArray:
    n = g.num_nodes()
    total = 0.0
    for v in g.nodes():
        total += personal[v]
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
            p = personal[v] / total
            r = alpha * (contrib[v] + dangling * p) + (1.0 - alpha) * p
            err += abs(r - rank[v])
            rank[v] = r
        it += 1
        done = err < n * tol or it >= max_iter
    return rank
