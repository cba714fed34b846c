"""Reachability from a source over a ``cs.boolean`` table (a guarded boolean set with a
change flag), as ``networkx.descendants`` plus the source."""

import cosynth as cs
from cosynth.examples.more import refs


@cs.kernel(reference=refs.reach)
def reach(g: cs.Graph, source: int) -> cs.NodeArray[cs.boolean]:
    seen = g.node_array(cs.boolean, False)
    seen[source] = True
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            if seen[v]:
                for e in g.out_edges(v):
                    if not seen[e.dst]:
                        seen[e.dst] = True
                        changed = True
    return seen
