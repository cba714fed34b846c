"""planner.memory counts a relaxed loop's frontier (pending keys, bitmap, queues per owned
vertex) where the C++ backend runs it from one, and the worklist's copies only where it
runs a worklist instead."""

from dataclasses import replace

import pytest

import cosynth as cs
from cosynth.dtypes import f64, i64
from cosynth.frontend.rewrite import variant
from cosynth.frontend.rewrite.frontier import frontier_loops
from cosynth.ir.nodes import Const, Loop, Store, Var
from cosynth.planner.memory import FRONTIER_BYTES, footprint
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import no_fpga, profile
from tests.helpers import example


def _state_written_beside(kv):
    """``kv`` (SSSP async) with ``dist[source] = 0.0`` at the top of its fixed point: a
    write of the state outside the relaxed loop, so the frontier is refused (a change
    made there would not be queued) and the loop runs as a worklist."""
    def walk(body):
        out = []
        for s in body:
            if isinstance(s, Loop) and s.kind == "while":
                reset = Store("dist", Var("source", i64, True), Const(0.0, f64, True))
                s = replace(s, body=(reset, *s.body))
            elif isinstance(s, Loop):
                s = replace(s, body=tuple(walk(s.body)))
            out.append(s)
        return out
    return replace(kv, body=tuple(walk(kv.body)))


def _footprint(kf, v):
    kv, _ = variant(kf.ir, v)
    return kv, profile(kv, v, GraphStats.of(cs.Graph.kronecker(6, seed=1)), fpga=no_fpga)


def test_frontier_loops_count_the_frontier_not_worklist_copies():
    for name in ("sssp", "cc"):
        kv, w = _footprint(example(name), "async")
        assert len(frontier_loops(kv)) == 1
        f = w.memory
        assert f.frontier == FRONTIER_BYTES == 9  # pend byte, two int32 queues
        assert f.wl_local == f.wl_owned == 0


def test_a_worklist_loop_keeps_its_copies():
    kv, _ = _footprint(example("sssp"), "async")
    kw = _state_written_beside(kv)
    assert frontier_loops(kw) == []
    f = footprint(kw, [])
    assert f.frontier == 0
    assert (f.wl_local, f.wl_owned) == (8, 17)  # f64 state: end copy; start, now, flag


def test_the_frontier_is_per_owned_vertex_not_per_ghost():
    _, w = _footprint(example("sssp"), "async")
    f = w.memory
    n, m = 1 << 20, 1 << 24
    # few ghosts for the owned range: the send sets are lists (an id per ghost)
    base = f.blade_bytes(n, m, 100000, 5000, 0.1, sharded=True, blades=8)
    more_owned = f.blade_bytes(n, m, 100001, 5000, 0.1, sharded=True, blades=8)
    more_ghosts = f.blade_bytes(n, m, 100000, 5001, 0.1, sharded=True, blades=8)
    assert more_owned - base == f.per_owned(n, m, 0.0) >= FRONTIER_BYTES
    assert more_ghosts - base == pytest.approx(f.per_ghost(n, m, 8))
    # ghost id, send-list id, outbox (value, flag, list id), a peer's messages; no value:
    # dist is read at the running vertex only, its ghost entries hold no memory
    assert f.node_unbacked == 8
    assert f.per_ghost(n, m, 8) == pytest.approx(4 + 4 + f.node_bytes - 8 + f.box_bytes + 4 +
                                                 32 / 7)
    assert f.per_ghost(n, m) == 4 + 4 + f.node_bytes - 8 + f.box_bytes + 4 + 32
    # many: bitmaps (a bit per owned vertex and peer), no more per ghost than its id
    base = f.blade_bytes(n, m, 1000, 5000, 0.1, sharded=True, blades=8)
    more_owned = f.blade_bytes(n, m, 1001, 5000, 0.1, sharded=True, blades=8)
    more_ghosts = f.blade_bytes(n, m, 1000, 5001, 0.1, sharded=True, blades=8)
    assert more_owned - base == pytest.approx(f.per_owned(n, m, 0.0) + 7 / 8)
    assert more_ghosts - base == pytest.approx(f.per_ghost(n, m, 8) - 4)
