"""The command line, run as a user runs it: output, exit status, and no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import EXAMPLES, ROOT

EX = lambda name: os.path.join(EXAMPLES, f"{name}.py")  # noqa: E731


def cosynth(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "cosynth.cli", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_trace_prints_ir():
    p = cosynth("trace", EX("sssp") + ":sssp")
    assert p.returncode == 0
    assert "dist[e.dst] min= nd -> changed" in p.stdout


def test_trace_whole_file_and_locs():
    p = cosynth("trace", EX("tc"), "--locs")
    assert p.returncode == 0 and "kernel tc()" in p.stdout and "# line" in p.stdout


def test_interpret_checks_against_networkx_and_saves(tmp_path):
    out = tmp_path / "depth.npy"
    p = cosynth("interpret", EX("bfs") + ":bfs", "--graph", "kron:8", "--arg", "source=3",
                "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert "interpreter == networkx: ok" in p.stdout
    depth = np.load(out)
    assert depth[3] == 0 and depth.dtype == np.int64
    assert not any(f.suffix == ".tmp" for f in tmp_path.iterdir())


def test_interpret_multiple_results_to_npz(tmp_path):
    out = tmp_path / "tri.npz"
    p = cosynth("interpret", EX("tc") + ":tc", "--graph", "uniform:50:200", "-o", str(out))
    assert p.returncode == 0, p.stderr
    z = np.load(out)
    assert int(z["count"]) * 3 == int(z["tri"].sum())
    p = cosynth("interpret", EX("tc") + ":tc", "--graph", "uniform:50:200", "-o",
                str(tmp_path / "tri.npy"))
    assert p.returncode == 2 and "save to a .npz file" in p.stderr


def test_interpret_graph_file(tmp_path):
    f = tmp_path / "g.wel"
    f.write_text("0 1 2\n1 2 3\n0 2 9\n")
    p = cosynth("interpret", EX("sssp") + ":sssp", "--graph", str(f), "--arg", "source=0")
    assert p.returncode == 0, p.stderr
    assert "[0, 2, 5]" in p.stdout


def test_demo_runs_the_main_job():
    p = cosynth("demo", "--graph", "kron:8")
    assert p.returncode == 0, p.stderr
    assert "interpreter == plain Python: ok" in p.stdout
    assert "interpreter == networkx: ok" in p.stdout
    assert "      time: graph " in p.stdout  # the breakdown starts with the graph
    assert p.stdout.count("blades == IR interpreter: ok") == 1  # listed once, under [6/6]
    assert not any(ln != ln.rstrip() for ln in p.stdout.splitlines())


@pytest.mark.parametrize("args,msg", [
    (["interpret", EX("bfs") + ":bfs", "--graph", "kron:8", "--arg", "source=999"],
     "is not a vertex of the graph"),
    (["interpret", EX("bfs") + ":bfs", "--graph", "nope.el", "--arg", "source=0"],
     "nope.el: error: no such graph file"),
    (["interpret", EX("bfs") + ":bfs", "--graph", "rmat:3", "--arg", "source=0"],
     "unknown graph generator"),
    (["interpret", EX("bfs") + ":bfs", "--graph", "kron:8", "--arg", "source=zero"],
     "expected an integer"),
    (["interpret", EX("bfs") + ":bfs", "--graph", "kron:8", "--arg", "depth=1"],
     "has no parameter 'depth'"),
    (["interpret", EX("bfs") + ":nothere", "--graph", "kron:8"], "has no kernel named"),
    (["interpret", "missing.py:k", "--graph", "kron:8"], "no such file"),
    (["trace", EX("bfs") + ":bfs", "--unknown-flag"], "No such option"),
])
def test_user_mistakes_exit_2_with_one_paragraph(args, msg):
    p = cosynth(*args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert msg in p.stderr


def test_malformed_graph_file_names_the_line(tmp_path):
    f = tmp_path / "bad.el"
    f.write_text("0 1\n1 2\n2 three\n")
    p = cosynth("interpret", EX("cc") + ":cc", "--graph", str(f))
    assert p.returncode == 2
    assert f"{f}:3:" in p.stderr and "expected an integer vertex id, found 'three'" in p.stderr


def test_unsupported_construct_in_kernel_file(tmp_path):
    f = tmp_path / "k.py"
    f.write_text("import cosynth as cs\n\n@cs.kernel\ndef k(g: cs.Graph) -> int:\n"
                 "    x = 0\n    for v in g.nodes():\n        x += len([v])\n    return x\n")
    for cmd in (["trace", str(f)], ["interpret", f"{f}:k", "--graph", "kron:4"]):
        p = cosynth(*cmd)
        assert p.returncode == 2
        assert f"{f}:7:" in p.stderr and "fix:" in p.stderr


def test_mismatch_against_reference_exits_3(tmp_path):
    f = tmp_path / "wrong.py"
    f.write_text(
        "import cosynth as cs\nfrom cosynth import nxref\n\n"
        "@cs.kernel(reference=nxref.cc)\ndef cc(g: cs.Graph) -> cs.NodeArray[cs.i64]:\n"
        "    label = g.node_array(cs.i64, 0)\n    return label\n")
    p = cosynth("interpret", f"{f}:cc", "--graph", "kron:6")
    assert p.returncode == 3
    assert "differs from networkx" in p.stderr and "first: [" in p.stderr


def test_rewrite_report_is_readable_and_exports_json(tmp_path):
    out = tmp_path / "report.json"
    p = cosynth("rewrite", EX("pagerank") + ":pagerank", "--json", str(out))
    assert p.returncode == 0, p.stderr
    text = p.stdout
    assert "loop 1: while not done (line 21)" in text
    assert "relax -> async: does not apply" in text and "idempotent" in text
    assert "REFUTED" in text and "counterexample: a=" in text
    assert "parallelize: applies" in text
    assert "whole kernel: project (owner-computes on blade shards): applies" in text
    import json
    data = json.loads(out.read_text())
    assert data["kernel"] == "pagerank" and data["as_written"]["loops"]
    assert any(r["laws"] for lp in data["as_written"]["loops"] for r in lp["rules"])


def test_rewrite_variant_and_policy_switch():
    p = cosynth("rewrite", EX("sssp") + ":sssp", "--variant", "pull")
    assert p.returncode == 0 and "in_edges(u) @bsp" in p.stdout and "# relax:" in p.stdout
    p = cosynth("rewrite", EX("pagerank") + ":pagerank", "--variant", "par",
                "--no-reassociate")
    assert p.returncode == 0 and "contrib[e.dst] add= share" in p.stdout
    assert "for e in out_edges(v) @seq" in p.stdout  # float sums stay in order
    p = cosynth("rewrite", EX("sssp") + ":sssp", "--variant", "fastest")
    assert p.returncode == 2 and "unknown variant" in p.stderr


def test_plan_prints_a_table_and_saves(tmp_path):
    out = tmp_path / "plan.yaml"
    p = cosynth("plan", EX("cc") + ":cc", "--manifest", os.path.join(ROOT, "manifests",
                "pair.xml"), "--graph", "kron:10", "-o", str(out), "--solver", "highs")
    assert p.returncode == 0, p.stderr
    for needle in ("plan for cc", "solver: highs optimal", "choices", "baselines",
                   "plan written to"):
        assert needle in p.stdout
    from cosynth.planner import load_plan
    assert load_plan(str(out)).kernel == "cc"


def test_plan_errors(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("blades: []\n")
    p = cosynth("plan", EX("cc") + ":cc", "--manifest", str(bad), "--graph", "kron:6")
    assert p.returncode == 2 and f"{bad}:1:" in p.stderr and "non-empty list" in p.stderr
    p = cosynth("plan", EX("cc") + ":cc", "--manifest", os.path.join(ROOT, "manifests",
                "pair.yaml"), "--graph", "kron:6", "--blades", "5")
    assert p.returncode == 2 and "has 2 blades; cannot use 5" in p.stderr
