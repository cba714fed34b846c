"""32-bit storage of a level frontier's table (``levels.level_bound``,
``narrowstate.level_states``): the law that bounds every value the while loop stores or
compares, the static checks on the entry and on the loop's flag, and the refusals."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cosynth.frontend.rewrite import variant
from cosynth.frontend.rewrite.levels import level_bound, level_frontier
from cosynth.frontend.rewrite.narrowstate import level_states, narrow_states
from cosynth.frontend.rewrite.projection import apply as project
from cosynth.ir.nodes import Loop
from cosynth.planner.narrow import state_storage
from tests.frontend.test_levels import SKIP, TWO
from tests.helpers import example, kernel_from_source

#: BFS as written, with the one line a test changes
BFS = SKIP.replace("nd = level + 2", "nd = level + 1")


def _bound(k):
    (w,) = [s for s in k.body if isinstance(s, Loop) and s.kind == "while"]
    lf = level_frontier(k, w)
    assert lf is not None
    return level_bound(k, w, lf)


@pytest.mark.parametrize("projected", [False, True])
def test_hybrid_bfs_depths_are_bounded_by_the_level(projected):
    """``depth[x] min= level + 1``: every candidate is ``c + 1 = c'`` and changes only an
    entry at the fill value, so ``n`` iterations at most change something and every value
    is below ``c0 + (n + 1) * k = n + 1`` (the flag chain of the projected program:
    ``active__part`` reset in each branch, raised by the min stores and the exchange,
    or-reduced, then ``active or= active__part``)."""
    kv, _ = variant(example("bfs").ir, "hybrid")
    k = project(kv, ()).kernel if projected else kv
    law, c0, step = _bound(k)
    assert law.status == "proved", law.describe()
    assert (c0, step) == (0, 1)
    st = level_states(k)["depth"]
    assert st.consts == (1, 0) and st.step == (0, 1)  # c0 + k; the point depth[source] = 0
    assert set(narrow_states(k)) == {"depth"}
    # the planner's bound: max(consts) + n * step = n + 1 (below 2**31 - 1 or wide)
    got, why = state_storage(k, SimpleNamespace(n=1000))
    assert got == "i32" and "<= 1001" in why, why
    assert state_storage(k, SimpleNamespace(n=2**31 - 2))[0] == "i64"


@pytest.mark.parametrize("v", ["par", "pull"])
def test_other_bfs_variants_have_no_level_table_to_narrow(v):
    """The plain level-synchronous form has a level frontier too; the pull form none."""
    kv, _ = variant(example("bfs").ir, v)
    assert set(level_states(project(kv, ()).kernel)) == ({"depth"} if v == "par" else set())


def test_a_change_from_a_finite_entry_is_refuted(tmp_path):
    """``level += 2`` with ``min= level + 1`` (the queue's laws but ``passes`` hold):
    within an iteration ``P(x, c')`` allows an entry ``c + 2``, which the candidate
    ``c + 1`` would change -- a change from a finite value, so the count of iterations is
    not bounded by the entries: Z3 refutes it and the table stays wide (conservative:
    this program never holds ``c + 2`` mid-iteration, but the law does not know it)."""
    kf = kernel_from_source(tmp_path, TWO, "f")[0]
    kv, _ = variant(kf.ir, "par")
    law, _, _ = _bound(kv)
    assert law.status == "refuted", law.describe()
    cex = {k: int(x) for k, x in law.counterexample.items()}
    assert cex["c"] + 1 < cex["x"] <= cex["c"] + 2
    assert not level_states(kv)


def test_a_flag_raised_without_a_change_refuses(tmp_path):
    """``if level < 3: active = True`` runs iterations that change nothing, so the level
    is not bounded by the number of changes."""
    src = BFS.replace("        level += 1", "        if level < 3:\n            active = True\n"
                                             "        level += 1")
    kf = kernel_from_source(tmp_path, src, "f")[0]
    kv, _ = variant(kf.ir, "par")
    law, _, _ = _bound(kv)
    assert law.status == "unknown" and "active is written by" in law.detail, law.describe()
    assert not narrow_states(kv)


def test_a_start_above_the_counter_refuses(tmp_path):
    """``depth[source] = 5`` with ``level = 0``: the invariant ``x <= c or x == F`` does
    not hold on entry (the run-time check would find it), so the bound is not shown."""
    kf = kernel_from_source(tmp_path, BFS.replace("depth[source] = 0", "depth[source] = 5"),
                            "f")[0]
    kv, _ = variant(kf.ir, "par")
    law, _, _ = _bound(kv)
    assert law.status == "unknown" and "[0, 0]" in law.detail, law.describe()
