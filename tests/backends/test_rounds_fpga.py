"""k-core's peel batched into rounds (``frontend.rewrite.rounds``) on the FPGA unit: one
unit call per peel round, not per removed vertex, results equal to the kernel as written
and networkx, and the planner counting the same calls (``planner.workload.peel_rounds``)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.rtl.sim import run_kernel
from cosynth.cli import main
from cosynth.ir.interp import interpret
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import peel_rounds
from tests.backends.test_rounds_stream import _degree_sum
from tests.helpers import EXAMPLES, ROOT, example


def _rounds(g) -> tuple[int, int]:
    """(levels, sweeps) of the kernel's peel run in rounds, counted here in plain Python:
    a sweep per execution of the fixed point's body, the last one of each level finding
    nothing (what the unit is called for)."""
    ptr, dst = g.out_indptr.tolist(), g.out_dst.tolist()
    deg = [ptr[v + 1] - ptr[v] for v in range(g.n)]
    removed = [False] * g.n
    remaining, k, levels, sweeps = g.n, 0, 0, 0
    while remaining > 0:
        levels += 1
        k = max(k, min(deg[v] for v in range(g.n) if not removed[v]))
        changed = True
        while changed:
            sweeps += 1
            frontier = [v for v in range(g.n) if not removed[v] and deg[v] <= k]
            changed = bool(frontier)
            for v in frontier:
                removed[v] = True
                remaining -= 1
            for v in frontier:
                for i in range(ptr[v], ptr[v + 1]):
                    deg[dst[i]] -= 1
    return levels, sweeps


def test_the_unit_is_called_once_per_peel_round():
    """Amaranth simulation of the unit behind the Python host: calls == rounds."""
    kf = example("kcore")
    g = cs.Graph.kronecker(5, seed=2)
    run = run_kernel(kf, g, {}, variant="par")
    args = kf.bind(g)
    assert np.array_equal(run.results[0], interpret(kf.ir, g, args)[0])
    assert np.array_equal(run.results[0], kf.expected(g, args)[0])
    levels, sweeps = _rounds(g)
    assert sweeps < g.n  # fewer calls than the per-vertex peel's one per removed vertex
    assert run.stats.calls == sweeps
    assert peel_rounds(GraphStats.of(g)) == (levels, sweeps)  # the planner's count


def test_the_planner_counts_one_unit_call_per_round():
    from cosynth.backends.rtl.costs import fpga_profile
    from cosynth.frontend.rewrite import variant
    from cosynth.planner.workload import profile
    kf = example("kcore")
    g = cs.Graph.kronecker(9, seed=1)
    st = GraphStats.of(g)
    levels, sweeps = _rounds(g)
    kv, _ = variant(kf.ir, "par")
    w = profile(kv, "par", st, fpga=fpga_profile)
    assert w.fpga_ok and w.fpga_calls == pytest.approx(sweeps)
    nest = [x for x in w.nests if x.fpga_ok]
    assert len(nest) == 1 and nest[0].runs == pytest.approx(sweeps)
    # the loop that picks each level's k runs once per level
    pick = [x for x in w.nests if x.line == 27]
    assert pick and pick[0].runs == pytest.approx(levels)
    per_vertex, _ = variant(kf.ir, "par", batch=False)
    assert profile(per_vertex, "par", st, fpga=fpga_profile).fpga_calls > g.n > sweeps


@pytest.mark.slow  # 80-90 s cold (Verilator and the blade program); ~10 s cached
def test_simulate_fpga_on_two_blades_calls_the_unit_once_per_round(tmp_path):
    out = tmp_path / "kc.json"
    with pytest.raises(SystemExit) as exc:
        main(["simulate", os.path.join(EXAMPLES, "kcore.py") + ":kcore", "--manifest",
              os.path.join(ROOT, "manifests", "pair.yaml"), "--graph", "kron:7", "--fpga",
              "--blades", "2", f"--json={out}"])
    assert exc.value.code == 0
    rep = json.loads(out.read_text())
    assert rep["checks"][0].startswith("blades == IR interpreter: ok (the kernel as written")
    assert "blades == networkx: ok" in rep["checks"]
    g = cs.Graph.kronecker(7, seed=0)
    _, sweeps = _rounds(g)
    assert [b["device"] for b in rep["blades"]] == ["fpga", "fpga"]
    for b, pred in zip(rep["blades"], rep["predicted"]):
        f = b["fpga"]
        assert f["calls"] == sweeps < g.n  # one call per round on every blade
        nest = [x for x in pred["nests"] if x["device"] == "fpga"]
        assert len(nest) == 1 and nest[0]["measured_runs"] == f["runs"]
        # the cost model counts the same calls: each runs the unit's rules once
        assert nest[0]["predicted_runs"] == pytest.approx(f["runs"])
        # each blade streams its own vertices' out-edges once over the peel (its
        # out-degree sum; no in-edges without use_in_edges), about a cycle per edge (a
        # range per round streamed 81,672 cycles for this graph); the planner's
        # predicted edges of the FPGA nest equal them within 25%
        lo, hi = b["vertices"]
        assert f["edges"] == _degree_sum(g, lo, hi)
        assert f["run_cycles"] < 2 * f["edges"]
        assert f["runs"] == 2 * f["calls"]  # the in-edge rule runs, streaming nothing
        assert nest[0]["predicted_edges"] == pytest.approx(f["edges"], rel=0.25)
