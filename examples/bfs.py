"""Breadth-first search depths, level-synchronous (one superstep per level).

Matches ``networkx.single_source_shortest_path_length``; unreachable vertices keep the
i64 maximum (``cs.INF`` stored in an integer table).
"""

import cosynth as cs
from cosynth import nxref


@cs.kernel(reference=nxref.bfs)
def bfs(g: cs.Graph, source: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, cs.INF)
    depth[source] = 0
    level = 0
    active = True
    while active:
        active = False
        for v in g.nodes():
            if depth[v] == level:
                for e in g.out_edges(v):
                    nd = level + 1
                    if nd < depth[e.dst]:
                        depth[e.dst] = nd
                        active = True
        level += 1
    return depth
