"""A blade's DRAM in the plan: its data (owned vertices, ghosts, edges) plus the memory
the blade process holds whatever its data (MPI, OpenMP, libc, code), calibratable as
``blade_fixed_bytes``; the ILP's DRAM constraint counts it too."""

from __future__ import annotations

import pytest

import cosynth as cs
from cosynth.errors import CosynthError
from cosynth.frontend.rewrite import variant
from cosynth.planner import make_plan
from cosynth.planner.cost import BLADE_FIXED_BYTES, Config, blade_fixed, evaluate
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import no_fpga, profile
from tests.helpers import example
from tests.planner.test_partition import manifest

ONE_KIND = """manifest: eight
blades:
  - kind: cpu
    count: 8
    cpu: {{cores: 2, clock: 2 GHz}}
    dram: {{size: {dram}, bandwidth: 10 GB/s}}
    cost: 1.0
interconnect:
  link: {{bandwidth: 10 Gb/s, latency: 5 us}}
fileserver: {{bandwidth: 1 GB/s}}
{cal}"""

G = cs.Graph.kronecker(10, seed=3)
STATS = GraphStats.of(G, "kron-10")


def _man(tmp_path, dram="8 GiB", fixed=None):
    cal = f"calibration:\n  cpu: {{blade_fixed_bytes: {fixed}}}\n" if fixed is not None else ""
    return manifest(tmp_path, ONE_KIND.format(dram=dram, cal=cal))


def test_each_blade_holds_its_data_plus_the_fixed_process_memory(tmp_path):
    kv, _ = variant(example("bfs").ir, "par")
    w = profile(kv, "par", STATS, fpga=no_fpga)
    assert w.sharded
    default, cal = _man(tmp_path), _man(tmp_path, fixed=3 * 2**20)
    assert blade_fixed(default.kinds[0]) == BLADE_FIXED_BYTES == 14 * 2**20
    assert blade_fixed(cal.kinds[0]) == 3 * 2**20
    cfg = Config("par", (4,), (False,), (1.0,))
    a, b = evaluate(cfg, w, STATS, default), evaluate(cfg, w, STATS, cal)
    for x, y in zip(a.per_blade, b.per_blade):
        assert 0 < x["dram_data"] == y["dram_data"]
        assert x["dram"] == x["dram_data"] + BLADE_FIXED_BYTES
        assert y["dram"] == y["dram_data"] + 3 * 2**20


def test_the_ilp_refuses_blades_too_small_for_the_process_itself(tmp_path):
    """8 MiB blades hold kron-10's data easily but not a 16 MiB process: no plan, and the
    explanation names the DRAM; with the process calibrated at 1 MiB the plan fits."""
    with pytest.raises(CosynthError) as info:
        make_plan(example("bfs"), _man(tmp_path, dram="8 MiB"), G, {"source": 0},
                  fpga=no_fpga)
    assert "DRAM on each cpu blade: short by" in info.value.message, info.value.message
    plan = make_plan(example("bfs"), _man(tmp_path, dram="8 MiB", fixed=2**20), G,
                     {"source": 0}, fpga=no_fpga)
    assert plan.blades and all(2**20 < b.dram_bytes <= 8 * 2**20 for b in plan.blades)
