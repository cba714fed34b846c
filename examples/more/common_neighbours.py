"""Common-neighbour counts per edge: for each edge u -> v, how many successors u and v
share (the link-prediction score), one edge table entry per edge."""

import cosynth as cs
from cosynth.examples.more import refs


@cs.kernel(reference=refs.common_neighbours)
def common_neighbours(g: cs.Graph) -> cs.EdgeArray[cs.i64]:
    cn = g.edge_array(cs.i64, 0)
    for u in g.nodes():
        for e in g.out_edges(u):
            for f in g.out_edges(u):
                if g.has_edge(e.dst, f.dst):
                    cn[e.id] += 1
    return cn
