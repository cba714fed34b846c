"""The command line never loses or destroys a user's data, checks every output path before
the work, reports write failures without a traceback (saying where a finished result went),
and exits with the documented status: 2 mistake, 3 mismatch, 4 tool or blade failure,
130/143 interrupted."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cosynth.outputs import MARKER, is_cosynth_dir
from cosynth.resources import manifest_path
from tests.helpers import EXAMPLES, ROOT

BFS = os.path.join(EXAMPLES, "bfs.py") + ":bfs"
BUILD = ["build", BFS, "--graph", "kron:6", "--arg", "source=0"]


def cosynth(*args, cwd=None, env=None, timeout=600):
    proc = subprocess.run([sys.executable, "-m", "cosynth.cli", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=timeout,
                          env=dict(os.environ, **(env or {})))
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _tree(path) -> dict:
    return {os.path.relpath(os.path.join(d, f), path): open(os.path.join(d, f)).read()
            for d, _, files in os.walk(path) for f in files}


# -- data loss ------------------------------------------------------------------------------

def test_build_never_destroys_a_users_directory_or_its_dot_old(tmp_path):
    x = tmp_path / "x"
    (x / "d").mkdir(parents=True)
    (x / "d.old").mkdir()
    (x / "d" / "mine.txt").write_text("a\n")
    (x / "d.old" / "backup.txt").write_text("b\n")
    p = cosynth(*BUILD, "-o", str(x / "d"))
    assert p.returncode == 2, p.stderr
    assert "cosynth did not make" in p.stderr and "--force" in p.stderr
    assert "planning" not in p.stdout  # refused before any work
    assert _tree(x) == {"d/mine.txt": "a\n", "d.old/backup.txt": "b\n"}

    p = cosynth(*BUILD, "-o", str(x / "d"), "--force")
    assert p.returncode == 0, p.stderr
    assert f"aside to {x / 'd'}.bak-1" in p.stdout
    assert (x / "d.bak-1" / "mine.txt").read_text() == "a\n"
    assert (x / "d.old" / "backup.txt").read_text() == "b\n"
    assert is_cosynth_dir(str(x / "d")) and (x / "d" / "run.sh").exists()

    p = cosynth(*BUILD, "-o", str(x / "d"))  # cosynth's own directory: replaced
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(x)) == ["d", "d.bak-1", "d.old"]
    assert (x / "d" / MARKER).exists()


@pytest.mark.parametrize("cmd", [
    ["rtl", BFS, "--no-verilator"],
    ["bitstream", BFS, "--family", "ice40"],
])
def test_rtl_and_bitstream_refuse_before_any_work(tmp_path, cmd):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("mine")
    p = cosynth(*cmd, "-o", str(home), timeout=120)
    assert p.returncode == 2 and "cosynth did not make" in p.stderr
    assert p.stdout == "" and _tree(home) == {".bashrc": "mine"}
    assert os.listdir(tmp_path) == ["home"]


# -- read-only and full filesystems ----------------------------------------------------------

@pytest.fixture
def tmpfs(tmp_path):
    """``make(name, state)``: a 64 KiB tmpfs at tmp_path/name, "ro" (read-only) or "full"."""
    mounted = []

    def make(name: str, state: str):
        d = tmp_path / name
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(d)],
                           capture_output=True, text=True)
        if r.returncode:
            pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): "
                        f"{r.stderr.strip()}")
        mounted.append(d)
        if state == "ro":
            subprocess.run(["mount", "-o", "remount,ro", str(d)], check=True)
        else:
            with open(d / "filler", "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 4096)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
        return d

    yield make
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


@pytest.mark.parametrize("cmd,out", [
    (["simulate", BFS, "--graph", "kron:6", "--arg", "source=0"], "r.npy"),
    (["interpret", BFS, "--graph", "kron:6", "--arg", "source=0"], "r.npy"),
    (["plan", BFS, "--manifest", os.path.join(ROOT, "manifests", "pair.yaml"),
      "--graph", "kron:6", "--arg", "source=0"], "p.yaml"),
    (BUILD, "d"),
    (["rtl", BFS, "--no-verilator"], "d"),
])
def test_a_read_only_output_is_refused_before_the_run(tmpfs, cmd, out):
    ro = tmpfs("ro", "ro")
    p = cosynth(*cmd, "-o", str(ro / out), timeout=120)
    assert p.returncode == 2, p.stderr
    assert f"-o {ro / out}: cannot write in '{ro}': Read-only file system" in p.stderr
    assert "fix: that filesystem is read-only" in p.stderr
    assert "running" not in p.stdout and "planning" not in p.stdout and "kernel" not in p.stdout


def test_a_full_disk_after_the_run_saves_the_result_elsewhere(tmpfs, tmp_path):
    full = tmpfs("full", "full")
    here = tmp_path / "here"
    here.mkdir()
    p = cosynth("simulate", BFS, "--graph", "kron:8", "--arg", "source=3",
                "-o", str(full / "depth.npy"), cwd=str(here))
    assert p.returncode == 2, p.stderr
    assert "blades == networkx: ok" in p.stdout  # the run itself succeeded
    assert f"cannot write the result '{full / 'depth.npy'}': No space left on device" \
        in p.stderr
    assert f"saved to '{here / 'depth.npy'}' instead" in p.stderr
    depth = np.load(here / "depth.npy")
    assert depth[3] == 0 and depth.dtype == np.int64
    assert sorted(os.listdir(full)) == ["filler"]  # no temporary file left


def test_a_full_disk_while_planning_or_building_leaves_nothing_behind(tmpfs, tmp_path):
    full = tmpfs("full", "full")
    here = tmp_path / "here"
    here.mkdir()
    p = cosynth("plan", BFS, "--manifest", os.path.join(ROOT, "manifests", "pair.yaml"),
                "--graph", "kron:6", "--arg", "source=0", "-o", str(full / "p.yaml"),
                cwd=str(here))
    assert p.returncode == 2 and "No space left on device" in p.stderr
    assert f"the plan was saved to '{here / 'p.yaml'}' instead" in p.stderr
    assert "plan for bfs" in (here / "p.yaml").read_text() or (here / "p.yaml").stat().st_size
    p = cosynth(*BUILD, "-o", str(full / "d"))
    assert p.returncode == 2, p.stderr
    assert f"cannot write the build directory '{full / 'd'}'" in p.stderr
    assert "No space left on device" in p.stderr and "fix: free some space" in p.stderr
    assert sorted(os.listdir(full)) == ["filler"]


# -- exit statuses ---------------------------------------------------------------------------

def test_a_compiler_failure_exits_4_and_says_how_to_report_it(tmp_path):
    fake = tmp_path / "fakecxx"
    fake.write_text('#!/bin/sh\nif [ "$1" = --version ]; then echo "fakecxx 1.0"; exit 0; fi\n'
                    'echo "blade.cpp:1:1: error: this compiler is broken" >&2\nexit 1\n')
    fake.chmod(0o755)
    p = cosynth("simulate", BFS, "--graph", "kron:6", "--arg", "source=0",
                env={"OMPI_CXX": str(fake), "COSYNTH_CACHE": str(tmp_path / "cache")})
    assert p.returncode == 4, p.stderr
    assert "this compiler is broken" in p.stderr
    assert "please report it" in p.stderr and "compile.log" in p.stderr


def test_a_crashing_blade_exits_4(tmp_path):
    k = tmp_path / "bad.py"
    k.write_text(textwrap.dedent("""\
        import cosynth as cs

        @cs.kernel
        def bad(g: cs.Graph) -> cs.NodeArray[cs.i64]:
            d = g.node_array(cs.i64, 0)
            for v in g.nodes():
                d[v] = 10 // (v - 20)
            return d
        """))
    p = cosynth("simulate", f"{k}:bad", "--graph", "kron:6", "--blades", "2")
    assert p.returncode == 4, p.stderr
    assert "integer division by zero" in p.stderr and "other blades were stopped" in p.stderr


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_command_exits_130_or_143(tmp_path, sig, code):
    k = tmp_path / "hang.py"
    k.write_text(textwrap.dedent("""\
        import cosynth as cs

        @cs.kernel
        def hang(g: cs.Graph) -> cs.NodeArray[cs.i64]:
            d = g.node_array(cs.i64, 0)
            going = True
            while going:
                for v in g.nodes():
                    d[v] = d[v] + 1
            return d
        """))
    proc = subprocess.Popen([sys.executable, "-m", "cosynth.cli", "interpret", f"{k}:hang",
                             "--graph", "kron:4", "--no-check"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline()  # the header: the interpreter is running
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert "Traceback" not in err


def test_a_full_compile_cache_is_named_not_blamed_on_the_compiler(tmpfs, tmp_path):
    full = tmpfs("full", "full")
    env = dict(os.environ, COSYNTH_CACHE=str(full))
    p = cosynth("simulate", BFS, "--graph", "kron:6", "--arg", "source=0", env=env)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and "cosynth bug" not in p.stderr
    assert f"cannot write under {full}" in p.stderr and "No space left" in p.stderr
    assert "fix: free space there, or point COSYNTH_CACHE at another file system" in p.stderr
    assert not [n for n in os.listdir(full / "cpp") if n.startswith(".build-")] \
        if (full / "cpp").is_dir() else True


def test_a_read_only_tmpdir_is_named_before_mpirun(tmpfs, tmp_path):
    ro = tmpfs("ro", "ro")
    env = dict(os.environ, TMPDIR=str(ro))
    p = cosynth("simulate", BFS, "--graph", "kron:6", "--arg", "source=0", env=env)
    assert p.returncode == 2, p.stderr
    assert f"TMPDIR={ro} is not writable; mpirun keeps its session directory there" \
        in p.stderr
    assert "fix: point TMPDIR at a writable folder" in p.stderr


def test_an_unexpected_exception_is_reported_as_a_bug_with_its_traceback(
        tmp_path, monkeypatch, capsys):
    """The last line of defence: an exception no stage expected (here planted in the
    manifest loader, standing for a bug) ends in one paragraph that blames cosynth, says how
    to report it and names a file holding the traceback; exit 1, no traceback on stderr."""
    from cosynth import cli

    def broken(*args, **kwargs):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(cli, "load_manifest", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("COSYNTH_TRACEBACK", raising=False)
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    with pytest.raises(SystemExit) as got:
        cli.main(["plan", os.path.join(EXAMPLES, "bfs.py") + ":bfs", "--graph", "kron:4",
                  "--manifest", manifest_path("pair.yaml")])
    assert got.value.code == cli.EXIT_INTERNAL == 1
    err = capsys.readouterr().err
    assert "internal error (ZeroDivisionError: planted)" in err, err
    assert "a cosynth bug" in err and "Traceback" not in err, err
    (crash,) = tmp_path.glob("cosynth-crash-*.txt")
    assert crash.name in err
    assert "ZeroDivisionError: planted" in crash.read_text()
