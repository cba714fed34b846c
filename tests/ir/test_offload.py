"""Offload hooks: a handler runs a loop in the interpreter's place, through a HostView of
the interpreter's own state, exactly as often as the host reaches the loop."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import cosynth as cs
from cosynth.frontend.rewrite.core import loops, replace_at
from cosynth.ir.interp import interpret
from cosynth.ir.nodes import Loop
from cosynth.ir.offload import holds_offloaded
from cosynth.ir.vec import vectorizable
from tests.helpers import kernel_from_source

G = cs.Graph.from_edges([0, 0, 1, 2, 3, 3], [1, 2, 2, 3, 0, 4], num_nodes=5)

SRC = '''
    @cs.kernel
    def indeg(g: cs.Graph) -> cs.NodeArray[cs.i64]:
        d = g.node_array(cs.i64, 0)
        for v in g.nodes():
            for e in g.out_edges(v):
                d[e.dst] += 1
        return d
'''


def kernel_and_inner(tmp_path, schedule: str):
    kf, _ = kernel_from_source(tmp_path, SRC)
    k = kf.ir
    for path, loop in loops(k):
        if isinstance(loop, Loop) and loop.is_data_loop:
            k = replace_at(k, path, [replace(loop, schedule=schedule)])
    outer = next(lp for _, lp in loops(k) if lp.kind == "nodes")
    inner = next(lp for _, lp in loops(k) if lp.kind == "out_edges")
    return k, outer, inner


@pytest.mark.parametrize("schedule", ["seq", "par"])
def test_a_handler_takes_over_a_loop_each_time_it_is_reached(tmp_path, schedule):
    k, outer, inner = kernel_and_inner(tmp_path, schedule)
    assert (vectorizable(outer) == "") == (schedule == "par")
    calls = []

    def handler(view):
        v = view.get("v")
        assert view.eval(inner.of) == v  # expressions evaluate in the host's frame
        assert view.shard is None and view.graph is G
        d = view.tables["d"]  # the host's own table: the handler's writes are the effect
        for i in range(G.out_indptr[v], G.out_indptr[v + 1]):
            d[int(G.out_dst[i])] += 1
        calls.append(v)

    want = interpret(k, G, {})[0]
    got = interpret(k, G, {}, offload={id(inner): handler})[0]
    assert np.array_equal(got, want) and want.tolist() == [1, 1, 2, 1, 1]
    # the enclosing loop runs one vertex at a time even where it could run as lanes
    assert calls == list(range(G.n))
    assert holds_offloaded(outer, {id(inner): handler})
    assert not holds_offloaded(outer, {}) and not holds_offloaded(inner, {id(inner): 0})


def test_a_handler_sets_scalars_and_sees_no_outbox_outside_a_blade_run(tmp_path):
    k, _, inner = kernel_and_inner(tmp_path, "seq")

    def handler(view):
        view.set("v", view.get("v"))  # a write back to the frame is allowed
        with pytest.raises(ValueError, match="blade program"):
            view.outbox("d")

    got = interpret(k, G, {}, offload={id(inner): handler})[0]
    assert got.tolist() == [0] * G.n  # the loop ran nowhere but in the handler
