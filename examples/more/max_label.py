"""Max-label propagation pulled over in-edges: each vertex ends with the largest vertex id
that reaches it (its own included)."""

import cosynth as cs
from cosynth.examples.more import refs


@cs.kernel(reference=refs.max_label)
def max_label(g: cs.Graph) -> cs.NodeArray[cs.i64]:
    label = g.node_array(cs.i64, 0)
    for v in g.nodes():
        label[v] = v
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            for e in g.in_edges(v):
                if label[e.src] > label[v]:
                    label[v] = label[e.src]
                    changed = True
    return label
