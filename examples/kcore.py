"""k-core decomposition by peeling: the core number of every vertex.

At each level ``k`` (the smallest remaining degree, never decreasing) the kernel removes
every vertex of degree at most ``k`` until none is left, and gives it core number ``k``.
Equals ``networkx.core_number`` on undirected graphs without self-loops (networkx refuses
self-loops).  For a directed graph pass ``use_in_edges=True``: the degree is then
in + out, as networkx counts it for a DiGraph.
"""

import cosynth as cs
from cosynth import nxref


@cs.kernel(reference=nxref.kcore)
def kcore(g: cs.Graph, use_in_edges: bool = False) -> cs.NodeArray[cs.i64]:
    deg = g.node_array(cs.i64, 0)
    core = g.node_array(cs.i64, 0)
    removed = g.node_array(cs.boolean, False)
    for v in g.nodes():
        deg[v] = g.out_degree(v)
        if use_in_edges:
            deg[v] += g.in_degree(v)
    remaining = g.num_nodes()
    k = 0
    while remaining > 0:
        lowest = g.num_edges() + 1
        for v in g.nodes():
            if not removed[v]:
                lowest = min(lowest, deg[v])
        k = max(k, lowest)
        changed = True
        while changed:
            changed = False
            for v in g.nodes():
                if not removed[v] and deg[v] <= k:
                    removed[v] = True
                    core[v] = k
                    remaining -= 1
                    changed = True
                    for e in g.out_edges(v):
                        deg[e.dst] -= 1
                    if use_in_edges:
                        for e in g.in_edges(v):
                            deg[e.src] -= 1
    return core
