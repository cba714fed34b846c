"""Hardware/software co-simulation of mixed plans: the kernel's edge loops on the FPGAs of
some blades (Verilator models of the very Verilog ``cosynth rtl`` emits, driven by the
generated C++ host stubs), the rest on CPUs, blades talking over MPI; every result equal
to the IR interpreter and networkx."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.cli import main
from cosynth.errors import CosynthError, MismatchError
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import EXAMPLES, ROOT, example

PAIR = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))  # 2 x ECP5-85F
MIXED = load_manifest(os.path.join(ROOT, "manifests", "mixed.yaml"))  # 2 FPGA + 2 CPU

#: the examples with an FPGA-eligible kernel
ELIGIBLE = {"bfs": "bfs", "sssp_int": "sssp", "cc": "cc", "kcore": "kcore"}


def _kernel(name):
    return load_kernels(os.path.join(EXAMPLES, f"{ELIGIBLE[name]}.py"))[name]


# every case is slow (15-25 s warm, 25 s of the default suite's cold CI run for
# sssp_int): mixed plans whose FPGA blades run their loops stay in the default suite in
# test_the_fpga_blades_really_run_the_loops and test_simulate_reports_fpga_cycles
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ELIGIBLE))
def test_mixed_plans_on_2_and_4_blades(name):
    kf = _kernel(name)
    g = cs.Graph.kronecker(9, seed=2)
    args = {"source": int(np.argmax(g.out_degrees()))} if name in ("bfs", "sssp_int") else {}
    for man, blades, want_cpu in ((PAIR, 2, 0), (MIXED, 4, 2)):
        sim = simulate(kf, man, g, args, blades=blades, fpga=True)
        devices = [b.device for b in sim.plan.blades]
        assert len(devices) == blades and devices.count("fpga") >= 1, devices
        assert devices.count("cpu") == want_cpu, devices
        assert sim.checks[0].startswith("blades == IR interpreter: ok")
        assert any("networkx" in c for c in sim.checks)
        for b, st, clk in zip(sim.plan.blades, sim.stats, sim.fpga_clock_hz):
            f = st["fpga"]
            assert f["fpga"] == (b.device == "fpga")
            if b.device == "fpga":
                assert f["calls"] > 0 and f["device_cycles"] >= f["run_cycles"] > 0
                assert clk > 0
            else:
                assert f["calls"] == 0 and clk == 0


def test_the_fpga_blades_really_run_the_loops():
    """Same plan, FPGA forced off and on: equal results, and only the forced run counts
    device cycles (the loops did not silently stay on the CPU)."""
    kf = example("cc")
    g = cs.Graph.kronecker(8, seed=5)
    off = simulate(kf, PAIR, g, {}, blades=2, fpga=False)
    on = simulate(kf, PAIR, g, {}, blades=2, fpga=True)
    assert all(b.device == "cpu" for b in off.plan.blades)
    assert "fpga" not in off.stats[0]
    assert np.array_equal(off.results[0], on.results[0])
    assert sum(st["fpga"]["edges"] for st in on.stats) >= g.m  # every edge went through


def test_forcing_an_ineligible_kernel_onto_the_fpga_says_why(capsys):
    with pytest.raises(CosynthError, match="cannot go to an FPGA.*f64"):
        simulate(example("pagerank"), PAIR, cs.Graph.kronecker(6), {}, fpga=True)
    with pytest.raises(SystemExit) as exc:
        main(["simulate", os.path.join(EXAMPLES, "tc.py") + ":tc", "--manifest",
              os.path.join(ROOT, "manifests", "pair.yaml"), "--graph", "kron:6", "--fpga"])
    assert exc.value.code == 2
    assert "cannot go to an FPGA" in capsys.readouterr().err


def test_simulate_reports_fpga_cycles(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", os.path.join(EXAMPLES, "bfs.py") + ":bfs", "--manifest",
              os.path.join(ROOT, "manifests", "mixed.yaml"), "--graph", "kron:8",
              "--arg", "source=3", "--fpga"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "FPGA units (Verilator" in out and "cycles" in out and "MHz" in out
    assert "blades == networkx: ok" in out


@pytest.mark.slow  # 40 s cold; the CPU build directory runs in test_cpp
def test_build_directory_with_an_fpga_unit_builds_and_runs_on_its_own(tmp_path):
    """The self-contained directory verilates its unit with its own Makefile."""
    import shutil
    import subprocess
    import sys
    out = tmp_path / "b"
    with pytest.raises(SystemExit) as exc:
        main(["build", os.path.join(EXAMPLES, "cc.py") + ":cc", "--manifest",
              os.path.join(ROOT, "manifests", "pair.yaml"), "--graph", "kron:7", "--fpga",
              "--blades", "2",
              "-o", str(out)])
    assert exc.value.code == 0
    assert (out / "unit_cc.v").exists() and "fpga=1,1" in (out / "run.cfg").read_text()
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep +
               os.environ["PATH"])
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env["OMPI_MCA_btl"] = "self,vader,tcp"
    make = subprocess.run(["make", "-s"], cwd=out, env=env, capture_output=True, text=True,
                          timeout=900)
    assert make.returncode == 0, make.stderr[-2000:]
    run = subprocess.run(["./run.sh"], cwd=out, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    got = np.concatenate([np.fromfile(out / "out" / f"result0.rank{r}.bin", dtype=np.int64)
                          for r in range(2)])
    g = cs.Graph.kronecker(7, seed=0)
    assert np.array_equal(got, example("cc")(g))
    assert shutil.which("make")


@pytest.mark.slow  # 45-60 s: two Verilator-backed blade builds
def test_fixed_point_pagerank_in_cosimulation_within_its_stated_tolerance():
    """PageRank under Q16.47 (atol 1e-9): the blades' units (Verilator models of the
    emitted Verilog behind the C++ host stubs) compute its sums; the check against the
    float kernel as written uses the stated tolerance, and the error against networkx is
    reported.  A coarse Q16.8 policy is refused: its result misses the tolerance."""
    kf = example("pagerank").with_fixed("Q16.47,atol=1e-9")
    g = cs.Graph.kronecker(6, seed=1)
    sim = simulate(kf, PAIR, g, {}, blades=2, fpga=True, timeout=300)
    assert [b.device for b in sim.plan.blades] == ["fpga", "fpga"]
    assert "stated tolerance of fixed point Q16.47" in sim.checks[0]
    assert "blades == networkx: ok" in sim.checks
    assert sum(st["fpga"]["edges"] for st in sim.stats) >= g.m
    err = float(np.max(np.abs(sim.results[0] - kf.expected(g, kf.bind(g))[0])))
    print(f"fixed-point PageRank (Q16.47) on kron-6, 2 FPGA blades: max |error| against "
          f"networkx = {err:.3g}")
    assert err <= 1e-9
    # the 'par' variant: one call per vertex, its private 'share' a register word, inside
    # the blade's distributed node loop (entries other blades own go to their outboxes)
    par = simulate(kf, PAIR, g, {}, blades=2, fpga=True, timeout=300, variant="par")
    assert "blades == networkx: ok" in par.checks
    assert sum(st["fpga"]["calls"] for st in par.stats) >= g.n - 1
    coarse = example("pagerank").with_fixed("Q16.8,atol=1e-9")
    with pytest.raises(MismatchError, match="fixed point Q16.8"):
        simulate(coarse, PAIR, g, {}, blades=2, fpga=True, timeout=300)


def test_the_fixed_switch_is_checked_before_any_work(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", os.path.join(EXAMPLES, "pagerank.py") + ":pagerank",
              "--manifest", os.path.join(ROOT, "manifests", "pair.yaml"), "--graph",
              "kron:5", "--fpga", "--fixed", "Q16.47"])
    assert exc.value.code == 2
    assert "state a finite, non-negative, non-zero tolerance" in capsys.readouterr().err


@pytest.mark.slow  # 30 s: a Verilator-backed blade build
def test_two_reductions_per_edge_in_cosimulation(tmp_path):
    """min- and max-label propagation in one edge loop (one rule, two tables, one change
    flag) on two FPGA blades: the C++ host stub reads back both tables."""
    import textwrap

    from tests.backends.test_rtl import MULTI
    path = tmp_path / "multi.py"
    path.write_text("import cosynth as cs\n" + textwrap.dedent(MULTI))
    kf = load_kernels(str(path))["label_range"]
    g = cs.Graph.kronecker(6, seed=3)
    sim = simulate(kf, PAIR, g, {}, blades=2, fpga=True, timeout=300)
    assert [b.device for b in sim.plan.blades] == ["fpga", "fpga"]
    assert sim.checks[0].startswith("blades == IR interpreter: ok")
    assert sum(st["fpga"]["edges"] for st in sim.stats) >= g.m
