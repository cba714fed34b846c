"""Nothing left running, nothing trusted blindly: interrupts, hung blades, verified caches.

The signal tests run ``cosynth simulate`` as a user does (``python -m cosynth.cli``) with a
private TMPDIR and COSYNTH_CACHE, signal it while its blades run (or while it compiles),
and then scan ``/proc`` for any process whose command line names those folders.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import types

import pytest

from cosynth import cache, pipeline, procs
from cosynth.backends.rtl import costs, flow, verilator
from cosynth.backends.toolchain import compile_program
from cosynth.errors import ArgumentError
from cosynth.frontend.rewrite import variant
from tests.helpers import EXAMPLES, ROOT, example

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux /proc")

PAGERANK = os.path.join(EXAMPLES, "pagerank.py") + ":pagerank"
KCORE = os.path.join(EXAMPLES, "kcore.py") + ":kcore"
# two blades iterating until max_iter (tol=0): runs for minutes unless stopped
LONG_RUN = ["simulate", PAGERANK, "--graph", "kron:10", "--no-fpga", "--blades", "2",
            "--arg", "tol=0", "--arg", "max_iter=100000000"]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One compile cache for the simulate tests (the first one compiles the blade)."""
    return str(tmp_path_factory.mktemp("cache"))


def _env(tmp, cache_root, config=None):
    env = dict(os.environ)
    env.update(TMPDIR=str(tmp), COSYNTH_CACHE=str(cache_root),
               COSYNTH_CONFIG=str(config or os.path.join(cache_root, "config")),
               PYTHONPATH=ROOT)
    env.pop("COSYNTH_STALL_TIMEOUT", None)
    return env


def _start(args, env, log):
    out = open(log, "w")
    try:
        return subprocess.Popen([sys.executable, "-m", "cosynth.cli", *args], env=env,
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    finally:
        out.close()


def _processes(needle: str) -> dict[int, str]:
    """pid -> command line of every live (non-zombie) process naming ``needle``."""
    found = {}
    for pid in _live_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd:
            found[pid] = cmd
    return found


def _live_pids() -> list[int]:
    return list(procs.running())


def _rank(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    except OSError:
        return None
    for name in (b"OMPI_COMM_WORLD_RANK", b"PMIX_RANK"):
        if name in env:
            return int(env[name])
    return None


def _blades(tmp) -> dict[int, int]:
    """rank -> pid of the blades running under ``tmp``."""
    out = {}
    for pid, cmd in _processes(str(tmp)).items():
        if "/blade run.cfg" in cmd and "prterun" not in cmd and "mpirun" not in cmd:
            rank = _rank(pid)
            if rank is not None:
                out[rank] = pid
    return out


def _wait(pred, timeout: float, what: str, proc=None, log=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.1)
    text = open(log).read() if log else ""
    pytest.fail(f"timed out waiting for {what}\n{text}")


def _finish(proc, timeout=60.0) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("cosynth did not exit after the signal")


def _assert_nothing_left(tmp, *needles):
    for needle in (str(tmp), *needles):
        left = _wait_gone(needle)
        assert not left, f"processes left running: {left}"
    assert not [n for n in os.listdir(tmp) if n.startswith("cosynth-sim-")], \
        os.listdir(tmp)


def _wait_gone(needle, timeout=5.0):
    end = time.monotonic() + timeout
    left = _processes(needle)
    while left and time.monotonic() < end:  # a process being reaped right now
        time.sleep(0.1)
        left = _processes(needle)
    return left


def _run_blades(tmp_path, shared_cache, extra=()):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    log = str(tmp_path / "out.txt")
    proc = _start([*LONG_RUN, *extra], _env(tmp, shared_cache), log)
    blades = _wait(lambda: (b := _blades(tmp)) and len(b) == 2 and b, 400,
                   "the blades to run", proc, log)
    return tmp, log, proc, blades


@pytest.mark.parametrize("sig, status, word", [(signal.SIGINT, 130, "interrupted"),
                                               (signal.SIGTERM, 143, "terminated")])
def test_signal_during_simulate_stops_everything(tmp_path, shared_cache, sig, status, word):
    tmp, log, proc, blades = _run_blades(tmp_path, shared_cache)
    if sig == signal.SIGINT:  # Ctrl-C on a job with a hung blade: nothing may spin on
        os.kill(blades[1], signal.SIGSTOP)
    time.sleep(0.5)
    os.kill(proc.pid, sig)
    assert _finish(proc) == status
    text = open(log).read()
    assert "Traceback" not in text, text
    assert text.strip().splitlines()[-1].startswith(f"cosynth: {word}"), text
    _assert_nothing_left(tmp)
    left = [n for n in os.listdir(tmp) if n.startswith(("ompi.", "prte."))]
    assert not left, [os.path.relpath(p, tmp) for n in left
                      for p in glob.glob(str(tmp / n / "**"), recursive=True)]


def test_hung_blade_is_named_within_seconds(tmp_path, shared_cache):
    tmp, log, proc, blades = _run_blades(tmp_path, shared_cache, ["--stall-timeout", "3"])
    _wait(lambda: len(beats := glob.glob(str(tmp / "cosynth-sim-*" / "build" / ".heartbeat"
                                                / "beat.*"))) == 2 and beats, 60,
          "both blades' heartbeats", proc, log)
    t0 = time.monotonic()
    os.kill(blades[1], signal.SIGSTOP)
    code = _finish(proc)
    took = time.monotonic() - t0
    text = open(log).read()
    assert code == 4, text  # a hung blade is a blade failure (README: exit statuses)
    assert "blade 1 stopped making progress" in text, text
    assert "Traceback" not in text
    # the stall detector (not the run's 10-minute timeout) ended the job: the message says
    # so; how long it took is a wall-clock figure, reported by bench/bench_faults.py
    print(f"the hung blade was detected after {took:.1f} s")
    _assert_nothing_left(tmp)


def test_sigterm_during_compile_leaves_no_compiler_or_build_folder(tmp_path):
    tmp, cache_root = tmp_path / "tmp", tmp_path / "cache"
    tmp.mkdir()
    log = str(tmp_path / "out.txt")
    proc = _start(["simulate", os.path.join(EXAMPLES, "bfs.py") + ":bfs", "--graph",
                   "kron:6", "--no-fpga", "--arg", "source=0"],
                  _env(tmp, cache_root), log)
    _wait(lambda: any("cc1plus" in c for c in _processes(str(cache_root)).values()), 300,
          "cc1plus to run", proc, log)
    os.kill(proc.pid, signal.SIGTERM)
    assert _finish(proc) == 143
    _assert_nothing_left(tmp, str(cache_root))
    assert not [n for n in os.listdir(cache_root / "cpp") if n.startswith(".build-")]


def test_stop_ends_the_whole_session_even_a_suspended_member():
    script = ("import subprocess, time; "
              "subprocess.Popen(['sleep', '300']); "
              "p = subprocess.Popen(['sleep', '301'], process_group=0); "
              "print(p.pid, flush=True); time.sleep(300)")
    child = procs.Child([sys.executable, "-c", script])
    line = child.proc.stdout.readline()
    grandchild = int(line)
    os.kill(grandchild, signal.SIGSTOP)  # in another process group, and suspended
    # the guard, the python it runs, its two sleeps
    assert len(procs.session_members(child.pid)) == 4
    assert child in procs.live()
    child.stop()
    assert procs.session_members(child.pid) == []
    assert child not in procs.live()


def _signal_masks(pid: int) -> tuple[int, int]:
    """(blocked, ignored) signal masks of process ``pid`` from /proc."""
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return int(fields["SigBlk"], 16), int(fields["SigIgn"], 16)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_a_child_can_receive_sigterm():
    # SIGINT/SIGTERM are blocked around Popen (so an interrupt cannot fall between start
    # and registration); a blocked mask survives exec, so the child must get it restored,
    # or its session could only be ended by SIGKILL (no graceful mpirun shutdown).
    child = procs.Child(["sleep", "300"])
    try:
        command = [pid for pid in procs.session_members(child.pid) if pid != child.pid]
        assert len(command) == 1  # the guard's only child
        for pid in (child.pid, *command):
            blocked, ignored = _signal_masks(pid)
            for sig in (signal.SIGINT, signal.SIGTERM):
                assert not blocked & (1 << (sig - 1)), f"{sig.name} blocked in {pid}"
        _, ignored = _signal_masks(command[0])  # the guard's Python ignores SIGPIPE
        assert not ignored & (1 << (signal.SIGPIPE - 1)), "SIGPIPE ignored in the command"
    finally:
        child.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_children_end_when_cosynth_is_killed(tmp_path):
    # A SIGKILLed cosynth cannot clean up; the kernel's parent-death signal ends its
    # direct children (mpirun then ends its blades) instead of leaving them running.
    script = ("import sys, time; sys.path.insert(0, sys.argv[1]); "
              "from cosynth import procs; c = procs.Child(['sh', '-c', 'sleep 300; :']); "
              "print(c.pid, flush=True); time.sleep(300)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(procs.__file__)))
    parent = subprocess.Popen([sys.executable, "-c", script, root], stdout=subprocess.PIPE,
                              text=True)
    try:
        guard = int(parent.stdout.readline())
        for _ in range(100):  # the guard, sh and sleep (a grandchild of the guard)
            if len(session := procs.session_members(guard)) == 3:
                break
            time.sleep(0.05)
        assert len(session) == 3, session
    finally:
        parent.kill()
        parent.wait()
    for _ in range(200):
        if not procs.session_members(guard):
            break
        time.sleep(0.05)
    assert not procs.session_members(guard), "the session outlived its SIGKILLed parent"


def test_sigkill_of_cosynth_ends_its_blades_even_a_suspended_one(tmp_path, shared_cache):
    # prterun's blades are grandchildren: the guard ends the session when cosynth dies
    tmp, log, proc, blades = _run_blades(tmp_path, shared_cache)
    os.kill(blades[1], signal.SIGSTOP)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    assert _finish(proc) == -9
    left = _wait_gone(str(tmp), timeout=procs.GRACE + 5)
    assert not left, f"processes left running: {left}"


def test_sigterm_during_a_solve_leaves_no_solver():
    # CBC runs through procs: a SIGTERM to cosynth while it solves ends CBC too.
    script = """
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
from cosynth import procs
from cosynth.planner.ilp import LpBinary, LpMinimize, LpProblem, LpVariable, lpSum, solve
procs.install_signal_handlers()
rng = np.random.default_rng(1)  # market split: CBC runs into its time limit
a = rng.integers(0, 100, (6, 50))
p = LpProblem("ms", LpMinimize)
x = [LpVariable(f"x{j}", cat=LpBinary) for j in range(50)]
s = [LpVariable(f"s{i}", 0) for i in range(12)]
for i in range(6):
    p += lpSum(int(a[i, j]) * x[j] for j in range(50)) + s[i] - s[6 + i] == int(a[i].sum() // 2)
p += lpSum(s)
try:
    solve(p, "cbc", 300.0)
except procs.Interrupted:
    sys.exit(143)
"""
    root = os.path.dirname(os.path.dirname(os.path.abspath(procs.__file__)))
    parent = subprocess.Popen([sys.executable, "-c", script, root])
    try:
        cbc = None
        for _ in range(600):
            cbc = [pid for pid in procs.running()
                   if _command(pid).endswith("cbc")  # under its guard (procs)
                   and _parent(_parent(pid) or 0) == parent.pid]
            if cbc:
                break
            time.sleep(0.1)
        assert cbc, "CBC never started"
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 143
    finally:
        parent.kill()
    assert not [pid for pid in cbc if pid in procs.running()], "CBC outlived the SIGTERM"


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rpartition(b")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return ""


def test_run_times_out_and_stops_the_session(tmp_path):
    pids = tmp_path / "pids"
    with pytest.raises(subprocess.TimeoutExpired):
        procs.run(["sh", "-c", f"sleep 300 & echo $! $$ > {pids}; sleep 300"], timeout=0.5)
    assert not procs.live()
    # the shell and its background child (same session) are gone, not left to sleep on;
    # no clock is read: the test tells "stopped" from "left running" by the pids alone
    for pid in map(int, pids.read_text().split()):
        _wait(lambda pid=pid: not _alive(pid), 30, f"process {pid} to end")


def test_exit_status_of_interrupts():
    assert procs.exit_status(procs.Interrupted(signal.SIGTERM)) == 143
    assert procs.exit_status(procs.Interrupted(signal.SIGINT)) == 130
    assert procs.exit_status(KeyboardInterrupt()) == 130
    assert procs.exit_status(ValueError()) is None


# ------------------------------------------------------------------ the compile cache

PROGRAM = '#include "cosynth_rt.hpp"\nint main() { std::puts("%s"); return 0; }\n'


def _output(binary):
    return subprocess.run([binary], capture_output=True, text=True, timeout=60).stdout.strip()


def test_garbage_and_foreign_binaries_in_the_compile_cache_are_rebuilt(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.setenv("COSYNTH_CACHE", str(tmp_path))
    a, cached = compile_program(PROGRAM % "first", name="prog")
    b, _ = compile_program(PROGRAM % "second", name="prog")
    assert not cached and _output(a) == "first" and _output(b) == "second"
    assert compile_program(PROGRAM % "first", name="prog") == (a, True)
    assert capsys.readouterr().err == ""

    with open(a, "wb") as f:  # garbage: "Exec format error" if it were run
        f.write(b"\x7fELF garbage")
    again, cached = compile_program(PROGRAM % "first", name="prog")
    assert again == a and not cached and _output(a) == "first"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fails verification" in err and "rebuilt" in err

    shutil.copy(b, a)  # another program's binary under this program's key
    again, cached = compile_program(PROGRAM % "first", name="prog")
    assert not cached and _output(again) == "first"
    assert "fails verification" in capsys.readouterr().err

    os.remove(os.path.join(os.path.dirname(a), cache.RECORD))  # no record: not trusted
    _, cached = compile_program(PROGRAM % "first", name="prog")
    assert not cached and "fails verification" in capsys.readouterr().err
    assert not [n for n in os.listdir(tmp_path / "cpp") if n.startswith((".build-",
                                                                          ".trash-"))]


# ------------------------------------------------------------------ the proof cache

def _rewrite_kcore(env):
    p = subprocess.run([sys.executable, "-m", "cosynth.cli", "rewrite", KCORE], env=env,
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    return p


def _verdicts(text: str) -> list[str]:
    """The report's verdicts in order (counterexamples Z3 picks may differ between runs)."""
    return re.findall(r"\b(proved|refuted|REFUTED|unknown|assumed)\b", text)


def test_tampered_proofs_do_not_make_kcore_add_idempotent(tmp_path):
    env = _env(tmp_path, tmp_path / "cache", tmp_path / "config")
    first = _rewrite_kcore(env)
    assert "idempotent of add on i64: refuted" in first.stdout
    assert "notice" not in first.stderr
    key = tmp_path / "config" / "key"
    assert key.is_file() and (key.stat().st_mode & 0o777) == 0o600
    path = tmp_path / "cache" / "proofs.json"
    table = json.loads(path.read_text())
    assert {e["status"] for e in table.values()} == {"proved", "refuted"}

    for entry in table.values():  # every refutation rewritten as a proof, signature kept
        entry["status"], entry["cex"] = "proved", None
    path.write_text(json.dumps(table))
    second = _rewrite_kcore(env)
    assert "idempotent of add on i64: refuted" in second.stdout
    assert "proved  commutative, associative, idempotent: add" not in second.stdout
    assert "not signed by this installation" in second.stderr
    assert "Z3 finds refuted" in second.stderr
    assert _verdicts(second.stdout) == _verdicts(first.stdout)

    third = _rewrite_kcore(env)  # the re-proved entries are signed again: no notice
    assert third.stderr == "" and _verdicts(third.stdout) == _verdicts(first.stdout)

    other = _env(tmp_path, tmp_path / "cache", tmp_path / "config2")  # another key
    fourth = _rewrite_kcore(other)
    assert "not signed by this installation" in fourth.stderr
    assert _verdicts(fourth.stdout) == _verdicts(first.stdout)


@pytest.mark.parametrize("text", ["[1, 2]", '"proved"', "{not json", '{"k": ["proved"]}',
                                  '{"k": {"status": "proved", "cex": 3, "sig": 1}}'])
def test_wrong_shaped_proofs_json_is_ignored_with_a_notice(tmp_path, text):
    env = _env(tmp_path, tmp_path / "cache", tmp_path / "config")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "proofs.json").write_text(text)
    p = _rewrite_kcore(env)
    assert "idempotent of add on i64: refuted" in p.stdout
    assert p.stderr.count("cosynth: notice:") == 1, p.stderr
    assert json.loads((tmp_path / "cache" / "proofs.json").read_text())  # rewritten


@pytest.mark.parametrize("text", ["[]", "{oops", '{"abc:ICE40HX8K": 5}',
                                  '{"abc:ICE40HX8K": {"luts": "many"}}'])
def test_wrong_shaped_cost_table_is_ignored_with_a_notice(tmp_path, monkeypatch, capsys,
                                                          text):
    monkeypatch.setenv("COSYNTH_CACHE", str(tmp_path))
    monkeypatch.setattr(costs, "_WARNED", set())
    (tmp_path / "rtl-costs.json").write_text(text)
    kv, _ = variant(example("bfs").ir, "async")
    prof = costs.fpga_profile(kv, "async")
    assert prof.eligible
    assert prof.figures("iCE40HX8K") is None
    assert costs.lookup(prof.spec, "iCE40HX8K") is None
    err = capsys.readouterr().err
    assert err.count("cosynth: notice:") == 1 and "FPGA cost table" in err, err
    report = {"luts": 10, "ffs": 5, "dsp": 0, "bram": 1, "fmax_mhz": 99.0, "depth": 64}
    costs.record(prof.spec, "ice40", "iCE40HX8K", report)
    assert costs.lookup(prof.spec, "iCE40HX8K")["luts"] == 10
    assert json.loads((tmp_path / "rtl-costs.json").read_text())


# ------------------------------------------------------------------ Verilator and flow caches

ACC = """\
module acc (input wire clk, input wire en, input wire [7:0] in, output reg [7:0] out);
    always @(posedge clk) if (en) out <= out + in;
endmodule
"""


@pytest.mark.slow  # 43 s cold; the compile cache and flow cache checks stay in the default suite
def test_tampered_verilator_models_and_runtimes_are_rebuilt(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COSYNTH_CACHE", str(tmp_path))
    first = verilator.build_model(ACC, "acc")
    assert not first.cached and verilator.build_model(ACC, "acc").cached
    assert capsys.readouterr().err == ""

    archive = first.libraries[0]
    with open(archive, "ab") as f:  # the model's archive changed after it was built
        f.write(b"garbage")
    again = verilator.build_model(ACC, "acc")
    assert not again.cached and "fails verification" in capsys.readouterr().err
    assert verilator.build_model(ACC, "acc").cached

    with open(os.path.join(first.dir, "model.json"), "w") as f:  # valid JSON, wrong shape
        f.write('{"top": 3}')
    again = verilator.build_model(ACC, "acc")
    err = capsys.readouterr().err
    assert not again.cached and err.count("\n") == 1 and "model.json" in err

    runtime = first.libraries[-1]
    with open(runtime, "wb") as f:  # garbage in the shared runtime archive
        f.write(b"!<arch>\ngarbage")
    again = verilator.build_model(ACC, "acc")
    err = capsys.readouterr().err
    assert not again.cached and "runtime" in err and "fails verification" in err
    assert cache.digest(runtime) == cache.read_record(os.path.dirname(runtime))["files"][
        "libverilated.a"]
    assert not [n for n in os.listdir(tmp_path / "verilator") if n.startswith(".")]


def test_a_cached_flow_run_is_verified_before_use(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    report = {f.name: 0 for f in dataclasses.fields(flow.FlowReport)}
    report.update(family="ice40", device="d", package="p", top="top", fmax_mhz=None,
                  timing_met=True, cells={}, seconds={}, cached=False, bitstream="",
                  log="")
    (run / "report.json").write_text(json.dumps(report))
    (run / "top.bin").write_bytes(b"bits")
    assert flow._unverified_run(str(run), "k") == "no valid record"
    cache.write_record(str(run), {"format": flow._FORMAT, "key": "k",
                                  "files": cache.folder_digests(str(run))})
    assert flow._unverified_run(str(run), "k") is None
    assert "another run" in flow._unverified_run(str(run), "other")
    (run / "top.bin").write_bytes(b"other bits")
    assert "top.bin" in flow._unverified_run(str(run), "k")
    (run / "top.bin").write_bytes(b"bits")
    (run / "report.json").write_text("[]")
    assert "report.json" in flow._unverified_run(str(run), "k")


def test_stall_deadline_from_the_plan_an_option_or_the_environment(monkeypatch):
    monkeypatch.delenv("COSYNTH_STALL_TIMEOUT", raising=False)
    plan = types.SimpleNamespace(makespan=0.01)
    assert pipeline.stall_deadline(plan) == pipeline.STALL_FLOOR
    plan.makespan = 100.0
    assert pipeline.stall_deadline(plan) == 100.0 * pipeline.STALL_FACTOR
    assert pipeline.stall_deadline(plan, 2.5) == 2.5
    monkeypatch.setenv("COSYNTH_STALL_TIMEOUT", "7")
    assert pipeline.stall_deadline(plan) == 7.0 and pipeline.stall_deadline(plan, 3) == 3.0
    for bad in ("soon", "0", "-1", "nan"):
        monkeypatch.setenv("COSYNTH_STALL_TIMEOUT", bad)
        with pytest.raises(ArgumentError):
            pipeline.stall_option(None)


def test_a_stopped_mpiruns_session_folder_is_removed_and_no_other(tmp_path):
    """prterun sometimes exits on SIGTERM leaving ``$TMPDIR/ompi.<its pid>`` (PMIx files of
    its blades): the launcher removes that folder once the process is gone, never one that
    existed before the launch, and never one of a process still running."""
    from cosynth.backends import toolchain
    env = {"TMPDIR": str(tmp_path)}
    dead = subprocess.Popen(["true"])
    dead.wait()
    older = tmp_path / f"ompi.{dead.pid}"
    (older / "1").mkdir(parents=True)
    toolchain._remove_session_folder(env, dead.pid, toolchain._session_folders(env))
    assert older.is_dir()  # there before the launch: another job's
    before = toolchain._session_folders(env)
    shutil.rmtree(older)
    (older / "1" / "0").mkdir(parents=True)
    (older / "1" / "pmix-gds-shmem2.jobdata").write_text("x")
    live = tmp_path / f"ompi.{os.getpid()}"
    live.mkdir()
    toolchain._remove_session_folder(env, os.getpid(), before)
    assert live.is_dir()  # its process still runs
    toolchain._remove_session_folder(env, dead.pid, before - {older.name})
    assert not older.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_the_command_ends_when_its_guard_is_killed_outright():
    # A guard SIGKILLed by pid cannot end its session; the command must not be left running
    # under init (seen once with a nextpnr whose guard was killed): the kernel sends it the
    # parent-death signal the guard set before exec.
    child = procs.Child(["sleep", "300"])
    try:
        command = child.command_pid
        assert command is not None
        os.kill(child.pid, signal.SIGKILL)
        end = time.monotonic() + 10
        while command in procs.running() and time.monotonic() < end:
            time.sleep(0.05)
        assert command not in procs.running(), "the command outlived its SIGKILLed guard"
    finally:
        child.stop()


def test_another_installations_binary_is_not_taken_from_the_compile_cache(tmp_path,
                                                                          monkeypatch):
    # A binary links the MPI libraries of the installation whose mpicxx built it: one
    # built by another venv (since deleted) failed to start with "libmpi.so.40: cannot
    # open" when a later run took it from the shared cache.
    from cosynth.backends import toolchain
    monkeypatch.setenv("COSYNTH_CACHE", str(tmp_path / "cache"))
    a, _ = compile_program(PROGRAM % "mine", name="prog")
    real = toolchain.find_tool("mpicxx")
    other = tmp_path / "other-venv" / "bin" / "mpicxx"  # another installation's compiler
    other.parent.mkdir(parents=True)
    other.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
    other.chmod(0o755)
    find = toolchain.find_tool
    monkeypatch.setattr(toolchain, "find_tool",
                        lambda name: str(other) if name == "mpicxx" else find(name))
    b, cached = compile_program(PROGRAM % "mine", name="prog")
    assert not cached and os.path.dirname(a) != os.path.dirname(b)
    assert _output(b) == "mine"
