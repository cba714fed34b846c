"""Label propagation for a fixed number of synchronous rounds (``for r in range(rounds)``,
double-buffered): the largest id within ``rounds`` hops upstream of each vertex."""

import cosynth as cs
from cosynth.examples.more import refs


@cs.kernel(reference=refs.lp_rounds)
def lp_rounds(g: cs.Graph, rounds: int = 3) -> cs.NodeArray[cs.i64]:
    label = g.node_array(cs.i64, 0)
    nxt = g.node_array(cs.i64, 0)
    for v in g.nodes():
        label[v] = v
    for _ in range(rounds):
        for v in g.nodes():
            nxt[v] = label[v]
        for v in g.nodes():
            for e in g.out_edges(v):
                if label[v] > nxt[e.dst]:
                    nxt[e.dst] = label[v]
        for v in g.nodes():
            label[v] = nxt[v]
    return label
