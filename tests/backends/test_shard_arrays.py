"""A blade loads only the shard arrays its program reads (the header's word 13 names the
ones left out), the planner's memory model (``planner.memory``, decided on the IR) agrees
with the backend's choice (decided on the program's text), and the plan's per-blade DRAM
is the blade's measured peak RSS within 20%."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.cpp.bundle import OMIT, omitted_arrays
from cosynth.pipeline import build, simulate
from cosynth.planner import load_manifest
from cosynth.planner.cost import blade_fixed
from tests.helpers import ROOT, example

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))
G = cs.Graph.kronecker(8, seed=4)
SRC = int(np.argmax(G.out_degrees()))


def _mask(path: str) -> int:
    head = np.fromfile(path, dtype=np.int64, count=17, offset=0)
    assert head.tobytes()[:8] == b"CSYNSHD2"
    return int(head[1 + 13])


def _ir_mask(fp) -> int:
    """The OMIT bits the memory model's footprint implies."""
    keep = {"w": fp.csr and fp.csr_w, "src": fp.csr and fp.csr_src,
            "out_deg": fp.degrees_out, "in_deg": fp.degrees_in,
            "in_w": fp.csc and fp.csc_w, "in_eid": fp.csc and fp.csc_eid}
    return sum(bit for name, (bit, _) in OMIT.items() if not keep[name])


@pytest.mark.parametrize("kernel,variant,kept", [
    ("bfs", "par", set()),
    ("sssp", "async", {"w"}),
    ("sssp", "pull", {"in_w"}),
    ("pagerank", "par", {"out_deg"}),
    ("cc", "async", set()),
])
def test_the_shard_holds_what_the_program_reads(tmp_path, kernel, variant, kept):
    args = {"source": SRC} if kernel in ("bfs", "sssp") else {}
    plan, bundle = build(example(kernel), RACK, G, args, str(tmp_path / "b"), blades=2,
                         variant=variant)
    want = sum(bit for name, (bit, _) in OMIT.items() if name not in kept)
    for r in range(2):
        assert _mask(str(tmp_path / "b" / "shards" / f"graph.{r}.bin")) == want
    assert omitted_arrays(bundle.source) == want
    # the planner's model, decided on the IR, says the same
    from cosynth.planner.stats import GraphStats
    from cosynth.planner.workload import no_fpga, profile
    w = profile(plan.variant_ir, plan.variant, GraphStats.of(G), fpga=no_fpga)
    assert _ir_mask(w.memory) == want


def test_text_rule_keeps_every_array_a_program_names():
    src = "x = G.weight(e) + G.out_deg[0]; y = G.edge_src(e); z = G.in_w[p]; G.in_eid[p];"
    assert omitted_arrays(src) == OMIT["in_deg"][0]
    assert omitted_arrays("nothing here") == sum(b for b, _ in OMIT.values())
    # device files count: a weight the FPGA host stub reads is kept
    assert omitted_arrays("", "G.weight(p)") & OMIT["w"][0] == 0


def test_a_pull_blade_without_csc_edge_ids_reads_its_weights_by_position():
    sim = simulate(example("sssp"), RACK, G, {"source": SRC}, blades=2, variant="pull",
                   timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks)


def test_the_plans_dram_is_the_measured_peak_rss_within_20_percent():
    """kron-14 SSSP on 2 blades: each blade's predicted DRAM against its own getrusage
    peak; its data alone (peak minus the RSS after MPI_Init) within 25% as well."""
    g = cs.Graph.kronecker(14, seed=1)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("sssp"), RACK, g, {"source": src}, blades=2, variant="async",
                   timeout=300, check="none")
    fixed = blade_fixed(RACK.kinds[0])
    for b, st in zip(sim.plan.blades, sim.stats):
        rss, marks = st["peak_rss"], st["rss_marks"]
        assert list(marks) == ["init", "graph", "run", "end"]
        assert marks["init"] <= marks["graph"] <= marks["run"] <= marks["end"] <= rss
        assert abs(b.dram_bytes - rss) <= 0.2 * rss, (b.dram_bytes, rss)
        data, measured = b.dram_bytes - fixed, rss - marks["init"]
        assert abs(data - measured) <= 0.25 * measured, (data, measured)
