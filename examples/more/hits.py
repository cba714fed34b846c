"""HITS hubs and authorities by power iteration (each step scaled by its maximum, the
result by its sum), as networkx 2's ``hits`` computed them."""

import cosynth as cs
from cosynth.examples.more import refs


@cs.kernel(reference=refs.hits)
def hits(g: cs.Graph, max_iter: int = 50, tol: float = 1e-8) -> tuple:
    n = g.num_nodes()
    hub = g.node_array(cs.f64, 1.0 / n)
    auth = g.node_array(cs.f64, 0.0)
    nh = g.node_array(cs.f64, 0.0)
    it = 0
    done = False
    while not done:
        for v in g.nodes():
            auth[v] = 0.0
            nh[v] = 0.0
        for v in g.nodes():
            for e in g.out_edges(v):
                auth[e.dst] += hub[v]
        for v in g.nodes():
            for e in g.out_edges(v):
                nh[v] += auth[e.dst]
        hmax = 0.0
        amax = 0.0
        for v in g.nodes():
            hmax = max(hmax, nh[v])
            amax = max(amax, auth[v])
        err = 0.0
        for v in g.nodes():
            h = nh[v] / hmax
            err += abs(h - hub[v])
            hub[v] = h
            auth[v] = auth[v] / amax
        it += 1
        done = err < tol or it >= max_iter
    hsum = 0.0
    asum = 0.0
    for v in g.nodes():
        hsum += hub[v]
        asum += auth[v]
    for v in g.nodes():
        hub[v] = hub[v] / hsum
        auth[v] = auth[v] / asum
    return hub, auth
