"""Trials in one process (run.cfg's ``trials``, what ``bench/bench_gap.py`` times like
GAP's ``-n``): each trial declares the tables anew and shares the graph (read once, as
GAP's trials share theirs), except a program that renames the graph inside its clock
(TC's degree order), which reads it again each trial; every trial gives the single run's
result, and the stats file lists every trial's kernel time."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.cpp.bundle import gather
from cosynth.backends.toolchain import mpirun
from cosynth.pipeline import _blade_binary, build
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example

SINGLE = load_manifest(os.path.join(ROOT, "manifests", "single.yaml"))
RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


def _run_trials(b, trials: int) -> list[dict]:
    """Run ``b``'s blades once with ``trials`` trials; the stats of every rank."""
    binary, _ = _blade_binary(b, False, lambda *_: None)
    shutil.copy(binary, os.path.join(b.path, "blade"))
    with open(os.path.join(b.path, "run.cfg")) as f:
        cfg = f.read()
    with open(os.path.join(b.path, "trials.cfg"), "w") as f:
        f.write(cfg + f"trials={trials}\n")
    shutil.rmtree(os.path.join(b.path, "out"), ignore_errors=True)
    os.makedirs(os.path.join(b.path, "out"))
    P = len(b.shards)
    mpirun(os.path.join(b.path, "blade"), "trials.cfg", P, threads=2, timeout=600,
           workdir=b.path)
    stats = []
    for r in range(P):
        with open(os.path.join(b.path, "out", f"stats.rank{r}.json")) as f:
            stats.append(json.load(f))
    return stats


@pytest.mark.parametrize("name, man, blades, args", [
    ("tc", SINGLE, 1, {}),           # relabels the graph inside the clock (relabel=1)
    ("bfs", RACK, 2, {"source": 1}),  # two blades: exchanges, a level queue
    # a convergence loop over float tables; a bucketed frontier with exchanges (slow:
    # two more compiles on a cold cache)
    pytest.param("pagerank", SINGLE, 1, {}, marks=pytest.mark.slow),
    pytest.param("sssp", RACK, 2, {"source": 1}, marks=pytest.mark.slow),
])
def test_every_trial_gives_the_single_runs_result(tmp_path, name, man, blades, args):
    kf = example(name)
    g = cs.Graph.kronecker(8, seed=3)
    _, b = build(kf, man, g, args, str(tmp_path / name), blades=blades)
    with open(os.path.join(b.path, "blade.cpp")) as f:
        blade = f.read()
    # the graph is read inside the trial loop only where the clock renames it
    assert (blade.index("for (int64_t trial") < blade.index("Graph::read")) == (name == "tc")
    if name == "tc":
        with open(os.path.join(b.path, "run.cfg")) as f:
            assert "relabel=1" in f.read().splitlines()
    stats = _run_trials(b, 3)
    want = kf(g, **args)
    want = want if isinstance(want, tuple) else (want,)
    got = gather(b, g)
    assert len(got) == len(want)
    for x, y in zip(got, want):
        if name == "pagerank":
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-9)
        else:
            np.testing.assert_array_equal(x, y)
    for s in stats:
        assert len(s["trials"]) == 3 and all(t > 0 for t in s["trials"])
        assert s["total"] == pytest.approx(s["trials"][-1])
        # the nests' counters are the last trial's, not the sum of three
        runs = {line: rec["runs"] for line, rec in s["nests"].items()}
    one = _run_trials(b, 1)
    assert len(one[0]["trials"]) == 1
    assert {line: rec["runs"] for line, rec in one[-1]["nests"].items()} == runs
