"""``cosynth bitstream``: a kernel's unit through the YoWASP flow to a real bitstream, the
refusals (a table larger than the part's memory, a kernel that is not eligible), and the
cost table the planner reads its FPGA figures from."""

from __future__ import annotations

import json
import os

import pytest

from cosynth.backends.rtl import costs
from cosynth.backends.rtl.bitstream import bram_blocks, default_depth
from cosynth.backends.rtl.build import unit_for
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.cli import main
from tests.helpers import EXAMPLES, ROOT, example


def _cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_default_depth_fits_the_part():
    spec = unit_for(example("bfs").ir)  # one 64-bit table read at two endpoints
    assert bram_blocks(spec, 256, "ice40") == 8  # 4 blocks wide, 2 read ports
    assert default_depth(spec, "ice40") == 512  # 16 of the HX8K's 32 blocks
    assert default_depth(spec, "ecp5") == 4096  # 32 of the 25F's 56
    # k-core's peel round: deg read at one endpoint, the round's frontier bit at the other
    kcore = unit_for(example("kcore").ir)
    assert default_depth(kcore, "ice40") == 512


@pytest.mark.slow  # 50 s cold; test_rtl_flow keeps one small iCE40 bitstream in the default suite
def test_bitstream_for_ice40(tmp_path, capsys):
    out = tmp_path / "kc"
    code, text, err = _cli(["bitstream", os.path.join(EXAMPLES, "kcore.py") + ":kcore",
                            "--family", "ice40", "-o", str(out), "--depth", "256"], capsys)
    assert code == 0, err
    assert "Fmax" in text and "M edges/s" in text
    rep = json.loads((out / "bitstream.json").read_text())
    assert (out / "top.bin").stat().st_size > 10_000
    assert rep["family"] == "ice40" and rep["device"] == "iCE40HX8K" and rep["depth"] == 256
    assert rep["fmax_mhz"] > 20 and 0 < rep["luts"] < rep["luts_total"]
    assert rep["bram"] >= 1 and 0 < rep["edges_per_clock"] <= 1 and rep["edges_per_clock_source"]
    assert rep["edges_per_second"] == pytest.approx(rep["fmax_mhz"] * 1e6 * rep["edges_per_clock"])
    for f in ("synth.log", "pnr.log", "pack.log", "report.json"):
        assert (out / f).exists()
    # the planner's cost table now has this unit on this part
    spec = unit_for(example("kcore").ir)
    got = costs.lookup(spec, "iCE40HX8K")
    assert got is not None and got["luts"] == rep["luts"] and got["depth"] == 256


def test_refusals(tmp_path, capsys):
    code, _, err = _cli(["bitstream", os.path.join(EXAMPLES, "bfs.py") + ":bfs", "--family",
                         "ice40", "-o", str(tmp_path / "big"), "--depth", str(1 << 16)],
                        capsys)
    assert code == 2 and "do not fit the part's memory" in err and "--depth" in err
    assert not (tmp_path / "big").exists()
    code, _, err = _cli(["bitstream", os.path.join(EXAMPLES, "pagerank.py") + ":pagerank",
                         "--family", "ecp5", "-o", str(tmp_path / "pr")], capsys)
    assert code == 2 and "cannot go to an FPGA" in err and "f64" in err


def test_planner_takes_measured_figures(tmp_path, monkeypatch):
    """A unit built for the manifest's part replaces the planner's FPGA defaults: its
    LUTs, and its Fmax when that is below the manifest's clock."""
    import cosynth as cs
    from cosynth.frontend.rewrite import variant
    from cosynth.planner import load_manifest, make_plan
    from cosynth.planner.cost import _fpga_use, edge_rate
    from cosynth.planner.stats import GraphStats
    from cosynth.planner.workload import profile
    monkeypatch.setenv("COSYNTH_CACHE", str(tmp_path))
    man = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))  # ECP5-85F, 100 MHz
    kind = man.kinds[0]
    g = cs.Graph.kronecker(10, seed=1)
    kv, _ = variant(example("bfs").ir, "async")
    w = profile(kv, "async", GraphStats.of(g), fpga=fpga_profile)
    assert w.fpga_ok and w.hw.figures("ECP5-85F") is None
    assert edge_rate(kind, "fpga", w) == pytest.approx(100e6)
    assert _fpga_use(kind, w, g.n)["fpga_figures"] == "defaults"
    costs.record(w.hw.spec, "ecp5", "LFE5U-85F", {"luts": 3210, "ffs": 2000, "dsp": 0,
                                                  "bram": 8, "fmax_mhz": 80.0,
                                                  "depth": 4096})
    w = profile(kv, "async", GraphStats.of(g), fpga=fpga_profile)
    assert edge_rate(kind, "fpga", w) == pytest.approx(80e6)
    use = _fpga_use(kind, w, g.n)
    assert use["luts"] == 3210 and use["fpga_figures"].startswith("measured")
    assert use["bram_bits"] == 128 * g.n  # 64 bits, two read ports, every vertex
    plan = make_plan(example("bfs"), man, g, {"source": 0}, fixed={"fpga": True}, fpga=fpga_profile)
    assert any(b.device == "fpga" for b in plan.blades)
    # a kernel that cannot go to hardware says why
    w = profile(variant(example("pagerank").ir, "async")[0], "async", GraphStats.of(g),
                fpga=fpga_profile)
    assert not w.fpga_ok and "f64" in w.fpga_why


@pytest.mark.slow
@pytest.mark.parametrize("family", ["ice40", "ecp5"])
@pytest.mark.parametrize("name", ["bfs", "sssp_int", "cc", "kcore"])
def test_every_eligible_kernel_places_and_routes(name, family, tmp_path):
    from cosynth.backends.rtl.bitstream import write_bitstream
    from cosynth.loader import load_kernels
    kf = load_kernels(os.path.join(EXAMPLES, f"{name.split('_')[0]}.py"))[name]
    r = write_bitstream(kf, str(tmp_path / "out"), family)
    assert os.path.getsize(r.bitstream) > 10_000
    assert r.report["fmax_mhz"] >= {"ice40": 50, "ecp5": 100}[family], r.report
