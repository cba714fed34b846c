"""The shards' vertex numbering: a degree-ordered layout of the whole graph.

When the plan chose ``layout: degree order`` (``planner.cost.layout_choice``, legal by the
relabel rule for the whole graph), the bundle writes the shards of the user's graph with
its vertices renamed by ascending degree (ties by id: the order ``cosynth_rt.hpp``'s
``relabel_by_degree`` gives) and the renaming ``p`` (``p[user id] = layout id``, int64)
beside them; the blade reads ``p`` before its clock and writes every node result under
the user's ids (``relabel.node_result``).  The renamed graph is the user's graph with
each edge ``u -> v`` as ``p[u] -> p[v]`` (weights kept with their edges), so every row,
in-row and degree is the user's, renamed: the legality argument of the rule's
``whole_graph`` case.
"""

from __future__ import annotations

import numpy as np

from cosynth.graph import Graph

__all__ = ["FILE", "chosen", "degree_order", "renamed"]

FILE = "layout.bin"  # in the bundle's shards/ folder


def chosen(plan) -> bool:
    """The plan chose the degree-ordered layout."""
    return plan is not None and any(c.what == "layout" and c.chosen == "degree order"
                                    for c in plan.choices)


def degree_order(g: Graph) -> np.ndarray:
    """``p[user id] = layout id``: ascending in-degree (the degree the model's reference
    rates use; the out-degree on a symmetric graph), ties by id."""
    deg = np.diff(g.in_indptr)
    order = np.argsort(deg, kind="stable")
    p = np.empty(g.n, dtype=np.int64)
    p[order] = np.arange(g.n, dtype=np.int64)
    return p


def renamed(g: Graph, p: np.ndarray) -> Graph:
    """The graph ``g`` with vertex ``x`` named ``p[x]``."""
    return Graph(g.n, p[g.edge_src], p[g.out_dst], g.weight, directed=g.directed)
