"""The command line's conveniences, run as a user runs them: ``--json`` results on stdout
with nothing else there, ``--check``/``--no-check`` and the run's time breakdown,
``--arg source=auto`` and its default, ``cosynth results``, the plan's explanation of a
rejected alternative, and regressions of small text defects."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from cosynth.backends.rtl.bitstream import BitstreamResult
from cosynth.calibrate import Calibration
from cosynth.cli import auto_vertex
from cosynth.graph import Graph
from cosynth.graphio import parse_graph_spec
from cosynth.report import bitstream_data, calibration_data, result_data
from tests.helpers import EXAMPLES, ROOT

EX = lambda name: os.path.join(EXAMPLES, f"{name}.py")  # noqa: E731
PAIR = os.path.join(ROOT, "manifests", "pair.yaml")


def cosynth(*args, cwd=None, env=None):
    proc = subprocess.run([sys.executable, "-m", "cosynth.cli", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=600,
                          env={**os.environ, **env} if env else None)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def top_vertex(spec: str) -> int:
    g = parse_graph_spec(spec, seed=0)
    deg = g.out_degrees()
    return int(np.flatnonzero(deg == deg.max())[0])


# ---------------------------------------------------------------------------- --json

def test_plan_json_on_stdout_and_notices_on_stderr():
    p = cosynth("plan", EX("bfs") + ":bfs", "--manifest", PAIR, "--graph", "kron:6",
                "--solver", "highs", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)  # stdout is the JSON document and nothing else
    assert d["kernel"] == "bfs" and d["graph"]["n"] == 64
    assert d["blades"] and {"lo", "hi", "device"} <= set(d["blades"][0])
    assert d["solver"]["name"] == "highs"
    assert d["args"]["source"] == top_vertex("kron:6")
    assert "note: no --arg source: using vertex" in p.stderr
    assert "HiGHS" not in p.stdout and "Running HiGHS" not in p.stderr + p.stdout


def test_json_to_a_file_keeps_the_text_and_refuses_a_kernel(tmp_path):
    out = tmp_path / "plan.json"
    p = cosynth("plan", EX("bfs") + ":bfs", "--manifest", PAIR, "--graph", "kron:6",
                "--arg", "source=1", f"--json={out}")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("plan for bfs") and f"JSON written to {out}" in p.stdout
    assert json.loads(out.read_text())["args"] == {"source": 1}
    p = cosynth("plan", "--json", EX("bfs") + ":bfs", "--manifest", PAIR, "--graph", "kron:6")
    assert p.returncode == 2 and "is a kernel, not a JSON file" in p.stderr


def test_rewrite_json_forms(tmp_path):
    """``--json FILE`` after the kernel keeps the text; ``--json`` prints only JSON."""
    out = tmp_path / "r.json"
    p = cosynth("rewrite", EX("bfs") + ":bfs", "--json", str(out))
    assert p.returncode == 0, p.stderr
    d = json.loads(out.read_text())
    assert d["kernel"] == "bfs" and {"as_written", "parallel"} <= set(d)
    assert f"JSON written to {out}" in p.stdout and "relax" in p.stdout
    p = cosynth("rewrite", EX("bfs") + ":bfs", "--variant", "async", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["variant"] == "async" and d["ir"].startswith("kernel bfs")
    assert d["rewrites"] and "# " not in p.stdout


def test_rtl_json(tmp_path):
    p = cosynth("rtl", EX("sssp") + ":sssp_int", "-o", str(tmp_path / "u"), "--no-verilator",
                "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["unit"] and d["verilog_lines"] > 0 and d["sample_run"]["edges"] > 0
    assert ", 1 rule, " in p.stderr and "(s)" not in p.stderr  # progress, on stderr
    assert d["regmap"]["depth"] >= 16
    assert os.path.isfile(tmp_path / "u" / f"{d['unit']}.v")


@pytest.mark.slow  # ~55 s cold (YoWASP yosys + nextpnr); the default suite's one bitstream
def test_bitstream_json(tmp_path):  # is tests/backends/test_rtl_flow.py's iCE40 counter
    """``bitstream --json``: stdout is the JSON document (the flow's progress on stderr) and
    describes the files written; ``--json=FILE`` (the flow now cached) keeps the text."""
    out = tmp_path / "kc"
    p = cosynth("bitstream", EX("kcore") + ":kcore", "--family", "ice40", "-o", str(out),
                "--depth", "16", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["output"] == str(out) and d["depth"] == 16
    assert d["bitstream"] == str(out / "top.bin") and (out / "top.bin").stat().st_size > 0
    r = d["report"]
    assert r["family"] == "ice40" and r["device"] == "iCE40HX8K" and r["kernel"] == "kcore"
    assert r["fmax_mhz"] > 0 and 0 < r["luts"] < r["luts_total"] and r["bram"] >= 1
    assert r["edges_per_second"] == pytest.approx(r["fmax_mhz"] * 1e6 * r["edges_per_clock"])
    assert r == json.loads((out / "bitstream.json").read_text())
    assert "  .. ice40 flow: " in p.stderr and p.stdout.rstrip().endswith("}")
    again = tmp_path / "again.json"
    p = cosynth("bitstream", EX("kcore") + ":kcore", "--family", "ice40", "-o", str(out),
                "--depth", "16", f"--json={again}")
    assert p.returncode == 0, p.stderr
    assert "Fmax" in p.stdout and f"JSON written to {again}" in p.stdout
    d2 = json.loads(again.read_text())
    assert d2["report"]["cached"] is True
    assert {k: v for k, v in d2["report"].items() if k not in ("cached", "seconds")} == \
        {k: v for k, v in r.items() if k not in ("cached", "seconds")}


def test_json_data_of_calibrate_and_bitstream_is_plain_json():
    cal = Calibration("c.yaml", {"cpu_edges_per_second_per_core": 1e8}, {"k": {}},
                      {"bfs/par": {"nests": {12: {"cost": 1.5, "label": "for u",
                                                  "runs": {"a": float("inf")}}},
                                   "graphs": ["kron:11"]}},
                      runs=[{"kernel": "bfs", "compute_s": np.float64(0.25)}], notes=["n"])
    d = json.loads(json.dumps(calibration_data(cal, "c.yaml"), allow_nan=False))
    assert d["workloads"]["bfs/par"]["nests"]["12"]["runs"]["a"] == "inf"
    assert d["runs"][0]["compute_s"] == 0.25 and d["output"] == "c.yaml"
    r = BitstreamResult("out", "out/unit.bin", 64, {"fmax_mhz": np.float64(51.5), "luts": 9})
    assert json.loads(json.dumps(bitstream_data(r, "out"))) == {
        "output": "out", "bitstream": "out/unit.bin", "depth": 64,
        "report": {"fmax_mhz": 51.5, "luts": 9}}


def test_result_data():
    a = np.array([3.0, np.inf, 1.0])
    assert result_data("d", a) == {"name": "d", "dtype": "float64", "size": 3, "min": 1.0,
                                   "max": 3.0, "sum": 4.0, "inf": 1,
                                   "head": [3.0, "inf", 1.0]}
    assert result_data("c", np.int64(7)) == {"name": "c", "dtype": "int64", "value": 7}


# ---------------------------------------------------------------------------- simulate

def test_simulate_json_check_choice_and_results(tmp_path):
    """One run: --json --check interp --keep (a relative folder) -o; then the kept build
    directory's binary results through ``cosynth results``."""
    out = tmp_path / "depth.npy"
    p = cosynth("simulate", EX("bfs") + ":bfs", "--graph", "kron:6", "--blades", "2",
                "--check", "interp", "--keep", "kept", "-o", str(out), "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert list(d["seconds"]) == ["graph", "plan", "compile", "run", "gather", "compare",
                                  "check interpreter"]
    assert len(d["checks"]) == 1
    assert d["checks"][0].startswith("blades == IR interpreter: ok (the kernel as written")
    assert d["args"] == {"source": top_vertex("kron:6")}
    assert d["results"][0]["name"] == "depth" and d["results"][0]["size"] == 64
    assert len(d["blades"]) == 2 and d["output"] == str(out)
    assert "note: no --arg source" in p.stderr and ".. running 2 blades" in p.stderr
    depth = np.load(out)

    p = cosynth("results", "kept/build", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "depth: int64[64]" in p.stdout and "wrote kept/build/results/" in p.stdout
    got = np.load(tmp_path / "kept" / "build" / "results" / "depth.npy")
    assert np.array_equal(got, depth)
    summary = json.loads((tmp_path / "kept" / "build" / "results" / "summary.json")
                         .read_text())
    assert summary["results"] == [{"index": 0, "name": "depth", "space": "node",
                                   "dtype": "int64", "size": 64, "file": "depth.npy"}]
    p = cosynth("results", "kept/build", "--json", cwd=tmp_path)  # replaces its own output
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["results"][0]["max"] == int(depth[depth < 2**62].max())


def test_simulate_breakdown_and_no_check():
    p = cosynth("simulate", EX("cc") + ":cc", "--graph", "kron:5", "--blades", "1",
                "--no-check")
    assert p.returncode == 0, p.stderr
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("  time: "))
    assert line.startswith("  time: graph ") and "plan " in line and "compile " in line \
        and "run " in line and "check" not in line
    assert "== IR interpreter" not in p.stdout
    run = next(ln for ln in p.stdout.splitlines() if ln.startswith("  .. running 1 blade "))
    assert run.endswith(" with mpirun, " + run.split(", ")[-1]) and "each" not in run
    p = cosynth("simulate", EX("cc") + ":cc", "--graph", "kron:5", "--check", "all",
                "--no-check")
    assert p.returncode == 2 and "not both" in p.stderr


def test_running_blades_report_elapsed_time_and_supersteps():
    """While mpirun runs, plain mode writes a status line per period (0 here: every tick,
    the first when the job starts); the last one, after the blades ended, counts the
    supersteps their heartbeat files reported, which equal the ones they measured."""
    p = cosynth("simulate", EX("sssp") + ":sssp", "--graph", "kron:6", "--blades", "2",
                "--json", env={"COSYNTH_PROGRESS_PERIOD": "0"})
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("  .. blades running: ")]
    assert lines and lines[0] == "  .. blades running: 0s elapsed, starting", p.stderr
    steps = {len(b["supersteps_s"]) for b in json.loads(p.stdout)["blades"]}
    assert len(steps) == 1 and steps != {0}
    last = lines[-1].split(" elapsed, ")[1]
    assert last == f"{steps.pop()} supersteps done", lines


def test_simulate_vcd_dir_is_checked_before_the_work(tmp_path):
    """``--vcd DIR`` that cosynth did not make is refused before the graph is made, and
    the fix names no --force (simulate has none)."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    p = cosynth("simulate", EX("cc") + ":cc", "--graph", "kron:5", "--fpga", "--vcd",
                str(mine))
    assert p.returncode == 2 and "--vcd" in p.stderr and "did not make" in p.stderr
    assert "--force" not in p.stderr and p.stdout == ""
    assert sorted(os.listdir(tmp_path)) == ["mine"]


def test_version():
    p = cosynth("--version")
    assert p.returncode == 0 and p.stdout.startswith("cosynth, version ")


def test_results_of_a_directory_that_did_not_run(tmp_path):
    p = cosynth("build", EX("bfs") + ":bfs", "--graph", "kron:5", "--arg", "source=0", "-o",
                str(tmp_path / "b"))
    assert p.returncode == 0, p.stderr
    p = cosynth("results", str(tmp_path / "b"))
    assert p.returncode == 2 and "wrote no result 0" in p.stderr and "run.sh" in p.stderr
    p = cosynth("results", str(tmp_path))
    assert p.returncode == 2 and "not a cosynth build directory" in p.stderr


# ---------------------------------------------------------------------------- --arg

def test_source_auto_and_its_default():
    v = top_vertex("kron:7")
    p = cosynth("interpret", EX("bfs") + ":bfs", "--graph", "kron:7", "--arg", "source=auto")
    assert p.returncode == 0, p.stderr
    assert f"arguments: source={v}" in p.stdout and "note:" not in p.stdout
    p = cosynth("interpret", EX("bfs") + ":bfs", "--graph", "kron:7")
    assert p.returncode == 0, p.stderr
    assert f"note: no --arg source: using vertex {v}, the highest-degree one" in p.stdout
    assert f"arguments: source={v}" in p.stdout
    p = cosynth("interpret", EX("pagerank") + ":pagerank", "--graph", "kron:5", "--arg",
                "alpha=auto")
    assert p.returncode == 2 and "alpha=auto: expected a number" in p.stderr


def test_auto_vertex_ties_take_the_lowest_id():
    g = Graph.from_edges([2, 3, 1], [0, 1, 0], num_nodes=4, directed=True)
    assert auto_vertex(g) == 1  # vertices 1, 2 and 3 have out-degree 1
    assert auto_vertex(Graph.from_edges([], [], num_nodes=0, directed=True)) == 0


# ---------------------------------------------------------------------------- plan text

def test_plan_names_why_a_faster_alternative_lost(tmp_path):
    man = tmp_path / "paircost.yaml"
    man.write_text(open(PAIR).read().replace("priority: time", "priority: cost"))
    # pagerank: every vertex every iteration, so a second blade is faster (BFS is not:
    # its hybrid variant on one blade beats two)
    p = cosynth("plan", EX("pagerank") + ":pagerank", "--manifest", str(man), "--graph",
                "uniform:4000:300000")
    assert p.returncode == 0, p.stderr
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("  - blades:"))
    assert "best alternative: 2 blades at" in line and "rejected: cost 2.0x per hour" in line
    assert "more blades would add more traffic" not in line
    assert "(-" in line  # the alternative is faster


def test_rejected_alternative_reasons():
    from cosynth.planner.plan import Choice, Plan

    plan = Plan("k", "k.py:k", "par", [], "m", "m.yaml", {"n": 1, "m": 0}, {}, [], {},
                {"makespan_s": 1.0, "cost_per_hour": 0.8}, {})
    why = lambda t, cost: plan._rejected(Choice("blades", "1", "", "2 blades", t, cost))  # noqa: E731
    assert why(0.9, 1.6) == "rejected: cost 2.0x per hour"
    assert why(1.2, 1.6) == "rejected: slower, and cost 2.0x per hour"
    assert why(1.2, 0.8) == "rejected: slower"
    assert why(1.2, None) == "rejected: slower"
    assert why(0.9, None) == ""  # a plan saved before the costs were recorded
    assert why(1.0, 0.8).startswith("rejected: no faster")


# ---------------------------------------------------------------------------- defects

# a slow case: the default suite's cold CI run was 541 s of its 480
@pytest.mark.parametrize("cmd", [pytest.param("plan", marks=pytest.mark.slow), "simulate"])
def test_blades_zero_and_too_many(cmd):
    base = [cmd, EX("bfs") + ":bfs", "--manifest", PAIR, "--graph", "kron:5"]
    p = cosynth(*base, "--blades", "0")
    assert p.returncode == 2 and "at least one" in p.stderr and "has 2 blades" not in p.stderr
    p = cosynth(*base, "--blades", "3")
    assert p.returncode == 2 and "the manifest has 2 blades" in p.stderr


def test_repeated_arg_is_refused():
    p = cosynth("plan", EX("bfs") + ":bfs", "--manifest", PAIR, "--graph", "kron:5", "--arg",
                "source=1", "--arg", "source=2")
    assert p.returncode == 2 and "--arg source is given twice" in p.stderr


def test_plan_text_has_no_defects():
    p = cosynth("plan", EX("bfs") + ":bfs", "--manifest", PAIR, "--graph", "kron:5",
                "--blades", "1", "--solver", "highs")
    assert p.returncode == 0, p.stderr
    text = p.stdout
    assert "blades: 1 (1 x cpu-fpga)" in text
    for bad in ("1 blades", "1 rewrites", "for for", "0.000000", "Running HiGHS", "HiGHS "):
        assert bad not in text, bad
    assert "for the run" in text and "e-" in text.split("for the run")[0].rsplit(",", 1)[1]


def test_plan_text_counts_and_refusals_read_once():
    """One predicted superstep is "~1 superstep"; the unit's refusal, which names its
    edge loop, is not prefixed with that loop's label a second time."""
    p = cosynth("plan", EX("tc") + ":tc", "--manifest", PAIR, "--graph", "kron:5",
                "--solver", "highs")
    assert p.returncode == 0, p.stderr
    assert " over ~1 superstep (" in p.stdout, p.stdout
    p = cosynth("plan", EX("pagerank") + ":pagerank", "--manifest", PAIR, "--graph",
                "kron:5", "--solver", "highs")
    assert p.returncode == 0, p.stderr
    line = next(ln for ln in p.stdout.splitlines() if "not FPGA-eligible" in ln)
    labels = re.findall(r"for \w+ in [^:]*?\(line \d+\)", line)
    assert labels, line  # the refusal names its loop (whichever variant the plan chose)
    assert len(labels) == len(set(labels)), line


# ---------------------------------------------------------------------------- calibrate

@pytest.mark.slow  # 3 measured builds: 15-45 s (the counting itself: tests/test_progress.py)
def test_calibrate_json_and_counted_progress(tmp_path):
    """The CLI's calibration: plain progress lines count the measurements (with the
    elapsed time, and an ETA once one has finished) on stderr; stdout is the JSON."""
    out = tmp_path / "single.calibrated.yaml"
    p = cosynth("calibrate", "--manifest", os.path.join(ROOT, "manifests", "single.yaml"),
                "-o", str(out), "--kernel", EX("bfs") + ":bfs", "--graph", "kron:6",
                "--repeat", "1", "--no-fpga", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["output"] == str(out) and out.is_file()
    assert {key.split("/")[1] for key in d["workloads"]} == {"par", "pull", "edges", "hybrid"}
    assert d["machine"]["cpu_edges_per_second_per_core"] > 0
    counted = [ln for ln in p.stderr.splitlines() if ln.startswith("  .. [")]
    # one measurement a variant, then the blade's memory without data
    assert len(counted) == 5, p.stderr
    assert counted[0].startswith("  .. [1/5, ") and "bfs (" in counted[0]
    assert counted[2].startswith("  .. [3/5, ") and ", ETA " in counted[2]
    assert "memory without data" in counted[4], p.stderr
