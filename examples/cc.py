"""Connected components by label propagation (min-label); weakly connected if directed.

Each vertex ends with the smallest vertex id of its component, so the result equals
``networkx.connected_components`` (``weakly_connected_components`` for a directed graph)
mapped to the minimum member.
"""

import cosynth as cs
from cosynth import nxref


@cs.kernel(reference=nxref.cc)
def cc(g: cs.Graph) -> cs.NodeArray[cs.i64]:
    label = g.node_array(cs.i64, 0)
    for v in g.nodes():
        label[v] = v
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            for e in g.out_edges(v):
                if label[v] < label[e.dst]:
                    label[e.dst] = label[v]
                    changed = True
            for e in g.in_edges(v):
                if label[v] < label[e.src]:
                    label[e.src] = label[v]
                    changed = True
    return label
