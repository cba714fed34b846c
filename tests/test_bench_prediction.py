"""bench/bench_prediction.py --replay: re-predicting a saved run with the manifest it was
measured with gives the prediction that run saved (same variant, layout and nests), so a
model change can be judged on saved quiet measurements alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers import ROOT

BENCH = os.path.join(ROOT, "bench", "bench_prediction.py")
MANIFEST = os.path.join(ROOT, "manifests", "single.yaml")


def _run(*args):
    r = subprocess.run([sys.executable, BENCH, "--manifest", MANIFEST, *args],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_replay_reproduces_the_saved_prediction(tmp_path):
    saved, again = tmp_path / "saved.json", tmp_path / "replay.json"
    _run("--scales", "8", "--kernels", "cc", "kcore", "--repeat", "1", "--out", str(saved))
    _run("--replay", str(saved), "--out", str(again))
    runs = json.loads(saved.read_text())["runs"]
    rep = json.loads(again.read_text())["runs"]
    assert [(r["kernel"], r["variant"], r["layout"]) for r in rep] == \
        [(r["kernel"], r["variant"], r["layout"]) for r in runs]
    for r, p in zip(runs, rep):
        assert r["measured_cpu_repeats_s"] == [r["measured_cpu_s"]]  # one repeat: the best
        assert p["measured_cpu_s"] == r["measured_cpu_s"]
        assert abs(p["predicted_s"] - r["predicted_s"]) <= 1e-9 * r["predicted_s"]
        assert [n["line"] for n in p["nests"]] == [n["line"] for n in r["nests"]]
        assert [n["measured_runs"] for n in p["nests"]] == \
            [n["measured_runs"] for n in r["nests"]]
