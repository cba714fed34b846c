"""The blades watch each other, whoever launched them: a blade that stops making progress
under ``run.sh`` (a hostfile, no cosynth watching) is named by the others, which end the
job with status 4 (``cosynth_rt.hpp``, "stall watch"); a killed blade ends the job too.
Nothing of the job is left running afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

import cosynth as cs
from cosynth import procs
from cosynth.backends.toolchain import compile_program, mpirun
from cosynth.errors import ToolError
from cosynth.pipeline import build
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux /proc")

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """Two pagerank blades iterating until max_iter (tol=0): they run until stopped.  The
    binary comes from cosynth's compile cache, so run.sh does not call make."""
    g = cs.Graph.kronecker(6, seed=1)
    out = str(tmp_path_factory.mktemp("watch") / "pr2")
    _, b = build(example("pagerank"), RACK, g, {"tol": 0.0, "max_iter": 10**9}, out,
                 blades=2)
    binary, _ = compile_program(b.source, defines=b.defines)
    shutil.copy(binary, os.path.join(out, "blade"))
    return b


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OMPI_") and k not in ("MPIRUN", "HOSTFILE", "MCA",
                                                      "COSYNTH_STALL_TIMEOUT")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def _blades(folder: str) -> dict[int, int]:
    """rank -> pid of the blades running in ``folder`` (their working directory)."""
    out = {}
    for pid in procs.running():
        try:
            if os.readlink(f"/proc/{pid}/cwd") != folder:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"blade") and b"OMPI_COMM_WORLD_RANK" in env:
            out[int(env[b"OMPI_COMM_WORLD_RANK"])] = pid
    return out


def _steps(beats: str) -> list[int]:
    """The heartbeat steps of the blades (``cosynth_rt.hpp``: "<step> <pid>" per rank)."""
    out = []
    for rank in range(2):
        try:
            with open(os.path.join(beats, f"beat.{rank}")) as f:
                out.append(int(f.read(64).split()[0]))
        except (OSError, ValueError, IndexError):
            out.append(-1)
    return out


def _wait_blades(folder: str, beats: str, proc=None) -> dict[int, int]:
    """The blades, once both are past MPI start-up and a few steps into the run (a blade
    stopped inside MPI_Init is Open MPI's start-up fence, not a collective they watch)."""
    end = time.monotonic() + 120
    while time.monotonic() < end:
        found = _blades(folder)
        if len(found) == 2 and min(_steps(beats)) >= 3:
            return found
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail("the blades did not start")


def _run_sh(bundle, tmp_path, **env):
    (tmp_path / "hosts").write_text("localhost slots=2\n")
    beats = tmp_path / "beats"
    beats.mkdir()
    proc = subprocess.Popen([os.path.join(bundle.path, "run.sh"), "--", "-x",
                             "COSYNTH_HEARTBEAT"], cwd=tmp_path,
                            env=_env(HOSTFILE="hosts", COSYNTH_HEARTBEAT=str(beats), **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    return proc, _wait_blades(bundle.path, str(beats), proc)


def _finish(proc) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("run.sh did not end")
    return proc.returncode, err


def _nothing_left(sid: int, folder: str) -> None:
    end = time.monotonic() + 10
    while (procs.session_members(sid) or _blades(folder)) and time.monotonic() < end:
        time.sleep(0.1)
    assert not procs.session_members(sid), "processes of the job left running"
    assert not _blades(folder)


def test_run_sh_names_a_suspended_blade_and_ends_the_job(bundle, tmp_path):
    proc, blades = _run_sh(bundle, tmp_path, COSYNTH_STALL_TIMEOUT="2")
    os.kill(blades[1], signal.SIGSTOP)
    code, err = _finish(proc)
    assert code == 4, err
    assert "cosynth: blade 1 stopped making progress: blade 0 waited" in err, err
    _nothing_left(proc.pid, bundle.path)


def test_run_sh_ends_when_a_blade_is_killed(bundle, tmp_path):
    proc, blades = _run_sh(bundle, tmp_path)
    os.kill(blades[0], signal.SIGKILL)
    code, err = _finish(proc)
    assert code != 0, err
    assert "stopped making progress" not in err  # mpirun saw the death itself
    _nothing_left(proc.pid, bundle.path)


def test_the_driver_reports_a_hang_its_hostfile_blades_detected(bundle, tmp_path):
    # cosynth's own mpirun with a hostfile cannot read heartbeat files on other machines;
    # the blades' watch ends the job and the driver turns their line into a ToolError
    hosts = tmp_path / "hosts"
    hosts.write_text("localhost slots=2\n")
    beats = tmp_path / "beats"
    beats.mkdir()
    caught = []

    def launch():
        try:
            mpirun(os.path.join(bundle.path, "blade"), "run.cfg", 2, threads=1, timeout=120,
                   workdir=bundle.path, hostfile=str(hosts), stall=2,
                   env_vars={"COSYNTH_HEARTBEAT": str(beats)})
        except ToolError as exc:
            caught.append(exc)

    t = threading.Thread(target=launch)
    t.start()
    try:
        blades = _wait_blades(bundle.path, str(beats))
        os.kill(blades[0], signal.SIGSTOP)
    finally:
        t.join(150)
    assert caught, "the run did not fail"
    assert "error: blade 0 stopped making progress: blade 1 waited" in str(caught[0])
    assert "--stall-timeout" in caught[0].hint
    assert not _blades(bundle.path)


def test_run_cfg_carries_the_plans_stall_limit(bundle):
    with open(os.path.join(bundle.path, "run.cfg")) as f:
        cfg = dict(line.strip().split("=", 1) for line in f if "=" in line)
    assert float(cfg["stall"]) >= 30.0  # launch.STALL_FLOOR


def test_run_sh_exits_4_naming_the_blade_whose_shard_does_not_match(bundle, tmp_path):
    copy = str(tmp_path / "pr2")
    shutil.copytree(bundle.path, copy)
    shard = os.path.join(copy, "shards", "graph.1.bin")
    with open(shard, "r+b") as f:
        f.truncate(os.path.getsize(shard) - 8)
    p = subprocess.run([os.path.join(copy, "run.sh")], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 4, p.stderr  # a blade failure (README: exit statuses)
    assert "error: blade 1: the shard file shards/graph.1.bin" in p.stderr
