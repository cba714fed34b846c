"""A float gather whose edge loop may be reassociated (``@par``) keeps several sums of the
row (``backends/cpp/gather.py``): emitted only then, never for exact reductions, and the
compiled blades still equal the kernel as written (within the policy's tolerance) and
networkx, on rows of every length around the split's width."""

from __future__ import annotations

import os
from dataclasses import replace

import networkx as nx
import pytest

import cosynth as cs
from cosynth.backends.cpp.emit import emit_program
from cosynth.backends.cpp.gather import WAYS
from cosynth.frontend.rewrite import Policy, projection, variant
from cosynth.ir.nodes import Loop
from cosynth.ir.visit import Transformer
from cosynth.ir.walk import iter_stmts
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example, kernel_from_source

SPLIT = f"{WAYS} sums of the row"


class _SeqEdgeLoops(Transformer):
    """The in-edge loops as a kernel without the reassociation licence has them."""

    def visit_Loop(self, s: Loop):
        s = self.generic_visit(s)
        return replace(s, schedule="seq") if s.kind == "in_edges" else s


def _cpp(name: str, v: str, seq_edges: bool = False) -> str:
    kv, _ = variant(example(name).ir, v)
    if seq_edges:
        kv = _SeqEdgeLoops().visit(kv)
    return emit_program(projection.apply(kv).kernel, f"examples/{name}.py")


INT_GATHER = """
    @cs.kernel
    def isum(g: cs.Graph, rounds: int = 2) -> cs.NodeArray:
        x = g.node_array(cs.i64, 1)
        acc = g.node_array(cs.i64, 0)
        for it in range(rounds):
            for u in g.nodes():
                acc[u] = 0
                for e in g.in_edges(u):
                    acc[u] += x[e.src]
            for v in g.nodes():
                x[v] = acc[v] + 1
        return x
    """


def test_split_only_where_the_float_sum_may_be_reassociated(tmp_path):
    assert SPLIT in _cpp("pagerank", "pull")
    # the pull rewrite regroups the sums only under the policy; without it the edge
    # loop stays sequential (no pull form at all), and a sequential one is never split
    kv, _ = variant(example("pagerank").ir, "pull", Policy(reassociate_float_sums=False))
    assert not any(isinstance(s, Loop) and s.kind == "in_edges"
                   for s, _ in iter_stmts(kv.body))
    assert SPLIT not in _cpp("pagerank", "pull", seq_edges=True)
    assert "gathered in a register" in _cpp("pagerank", "pull", seq_edges=True)
    # an integer sum is exact in any order: one register, never split
    kf, _ = kernel_from_source(tmp_path, INT_GATHER)
    kv, _ = variant(kf.ir, "par")
    src = emit_program(projection.apply(kv).kernel, "isum.py")
    assert "gathered in a register" in src and SPLIT not in src


@pytest.mark.parametrize("blades,manifest", [
    (1, "single.yaml"),
    # 2 and 4 blades of pagerank pull at kron-9 run in test_intersect_relabel.py already
    pytest.param(2, "pair.yaml", marks=pytest.mark.slow)])
def test_split_gather_equals_interpreter_and_networkx(blades, manifest):
    """In-degrees 0..2*WAYS+1 (every remainder of the split, and rows shorter than it)
    beside kron-8's long rows."""
    G = nx.DiGraph()
    G.add_nodes_from(range(40))
    for v in range(2 * WAYS + 2):
        for u in range(v):
            G.add_edge(20 + u, v)
    G.add_edge(0, 39)
    man = load_manifest(os.path.join(ROOT, "manifests", manifest))
    for g in (cs.Graph.from_networkx(G), cs.Graph.kronecker(8, seed=4)):
        sim = simulate(example("pagerank"), man, g, {}, blades=blades, variant="pull",
                       threads=2, timeout=300)
        assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks
        assert "blades == networkx: ok" in sim.checks
