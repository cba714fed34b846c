"""Vertex relabelling in the blade program (``cosynth.frontend.rewrite.relabel`` holds
the legality argument; the plan decides whether to use it, run.cfg's ``relabel``).

When the program's results are invariant under renaming its vertices (node tables
renamed, values unchanged), the program reads ``relabel`` from its configuration and,
when it is 1, renames the vertices by ascending degree at the start of the timed region
(``cosynth_rt.hpp``'s ``relabel_by_degree``, which declines -- leaving the ids as
given -- unless the blade holds the whole graph alone); every node-table result is then
written under the user's ids (``unrelabel``).  Programs the rule refuses never relabel.

A program the rule admits only when the whole graph is renamed (in-rows too: an in-edge
gather such as PageRank's pull) runs on the *layout* the plan chose (``layout`` in the
plan's choices, ``planner.cost.layout_choice``): the bundle writes the shards of the
graph renamed by degree and the renaming itself; the blade reads the renaming before the
clock (``read_layout``, empty when the shards keep the user's ids) and writes every
node-table result under the user's ids after it.
"""

from __future__ import annotations

from cosynth.frontend.rewrite.relabel import relabelling

__all__ = ["PERM", "start", "before_clock", "node_result", "legal", "layout_legal"]

PERM = "relabel__p"  # C++: p[old] = new, empty when the run keeps the ids as given


def legal(k) -> bool:
    """May the program ``k`` run relabelled (see the rule)?"""
    return relabelling(k) is not None


def layout_legal(k) -> bool:
    """May ``k`` run on a degree-ordered layout of the whole graph (and is that its only
    renaming: a program the run-time renaming serves keeps it)?"""
    return not legal(k) and relabelling(k, whole_graph=True) is not None


def before_clock(cx) -> None:
    """Before the clock: read the layout's renaming (empty on the user's ids)."""
    if layout_legal(cx.k):
        cx.out(f"const std::vector<int64_t> {PERM} = read_layout(cfg, n);"
               "  // the shards' layout (rewrite rule relabel, whole graph)")


def start(cx) -> None:
    """At the start of the timed region: rename the vertices when run.cfg says so."""
    if not legal(cx.k):
        return
    cx.out(f'const std::vector<int64_t> {PERM} = cfg.i64("relabel") ? '
           f"relabel_by_degree(G) : std::vector<int64_t>();"
           "  // degree order (rewrite rule relabel)")


def node_result(cx, table: str) -> str:
    """The C++ expression of node table ``table`` under the user's ids."""
    if not (legal(cx.k) or layout_legal(cx.k)):
        return table
    return f"unrelabel({table}, {PERM})"
