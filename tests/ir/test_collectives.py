"""The collectives of a blade program: blade-order combination on the in-process
network, one blade's outbox (scalar and vectorised paths agree), and the error for a
blade program run outside ``run_blades``."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import cosynth as cs
from cosynth import ops
from cosynth.dtypes import i64
from cosynth.errors import KernelRuntimeError
from cosynth.frontend.rewrite import projection, variant
from cosynth.ir.collectives import BladeSide, InProcessNetwork, projected
from cosynth.ir.interp import interpret
from cosynth.ir.nodes import Const, Loop, Var
from tests.helpers import example

SHARDS = [(0, 2), (2, 5), (5, 6)]


def on_every_blade(net: InProcessNetwork, fn) -> list:
    """``fn(rank)`` on one thread per blade; the results in rank order."""
    out: list = [None] * net.P

    def work(r):
        out[r] = fn(r)
    threads = [threading.Thread(target=work, args=(r,)) for r in range(net.P)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_the_network_combines_in_blade_order_and_logs_messages():
    net = InProcessNetwork(SHARDS, {"d": 8, "s": 4})
    boxes = [{3: 10, 5: 11}, {0: 20, 5: 21}, {1: 30, 3: 31}]
    got = on_every_blade(net, lambda r: net.exchange(r, "d", boxes[r]))
    assert got == [[(0, 20), (1, 30)], [(3, 10), (3, 31)], [(5, 11), (5, 21)]]
    # a combination that is not commutative shows the order: blade 0's value first
    got = on_every_blade(net, lambda r: net.allreduce(r, "s", r + 1, lambda a, b: 10 * a + b))
    assert got == [123, 123, 123]
    owned = [np.arange(lo, hi) * 2 for lo, hi in SHARDS]
    got = on_every_blade(net, lambda r: net.refresh(r, "d", owned[r], SHARDS))
    assert all(len(p) == 3 and np.array_equal(p[1], [4, 6, 8]) for p in got)
    assert [(c.kind, c.messages, c.bytes) for c in net.log] == [
        ("exchange", 6, 6 * 16), ("allreduce", 4, 4 * 4), ("refresh", 12, 12 * 8)]
    assert [net.owner(v) for v in range(6)] == [0, 0, 1, 1, 1, 2]


@pytest.mark.parametrize("op", ["min", "add"])
def test_buffered_lanes_equal_one_remote_reduction_at_a_time(op):
    """Blade 1 owns vertices 2..3; contributions to 0 and 5 wait in its outbox."""
    idx = [0, 5, 0, 3, 5, 2, 0]
    vals = [7, 3, 9, 1, 4, 8, 2]
    red = ops.reduction(op).scalar_fn(i64)
    side = BladeSide(None, 2, 4)
    T = [100] * 6
    # the frame: [change flag, index, value]
    step = side.remote_reduce("d", T, T.__getitem__, lambda F: F[1], lambda F: F[2], red, 0)
    flags = []
    for i, v in zip(idx, vals):
        frame = [False, i, v]
        step(frame)
        flags.append(frame[0])
    assert side.box("d") == {0: red(red(7, 9), 2), 5: red(3, 4)}
    assert T[2:4] == [red(100, 8), red(100, 1)]  # owned: reduced in place, flag set
    assert flags == [2 <= i < 4 for i in idx]
    assert T[0] == T[5] == 100  # not owned: never written here

    lanes = BladeSide(None, 2, 4)
    lanes.box("d")[5] = 50  # an earlier contribution still waiting for the exchange
    far = [k for k, i in enumerate(idx) if not 2 <= i < 4]
    lanes.buffer("d", np.array([idx[k] for k in far]), np.array([vals[k] for k in far]),
                 op, i64)
    assert lanes.box("d") == {0: side.box("d")[0], 5: red(50, side.box("d")[5])}


def test_projected_loops_start_at_the_shard():
    body = ()
    assert projected(Loop("nodes", "v", body, start=Var("shard_lo", i64),
                          stop=Var("shard_hi", i64)))
    assert not projected(Loop("nodes", "v", body, start=Const(0, i64), stop=Const(3, i64)))
    assert not projected(Loop("nodes", "v", body))


def test_a_blade_program_needs_run_blades():
    kv, _ = variant(example("cc").ir, "async")
    k = projection.apply(kv).kernel
    g = cs.Graph.kronecker(4, seed=1)
    with pytest.raises(KernelRuntimeError, match="run_blades"):
        interpret(k, g, {"shard_lo": 0, "shard_hi": g.n})
