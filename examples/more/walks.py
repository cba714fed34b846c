"""Counts of walks of exactly ``k`` edges from a source (row ``source`` of A^k), one
sparse matrix-vector product per round."""

import cosynth as cs
from cosynth.examples.more import refs


@cs.kernel(reference=refs.walks)
def walks(g: cs.Graph, source: int, k: int = 3) -> cs.NodeArray[cs.i64]:
    count = g.node_array(cs.i64, 0)
    nxt = g.node_array(cs.i64, 0)
    count[source] = 1
    for _ in range(k):
        for v in g.nodes():
            nxt[v] = 0
        for v in g.nodes():
            for e in g.out_edges(v):
                nxt[e.dst] += count[v]
        for v in g.nodes():
            count[v] = nxt[v]
    return count
