"""Fault injection: every case of "nothing lost, nothing trusted blindly, nothing left running".

Each case runs the real ``cosynth`` command line (the entry point next to this Python), a
build directory's ``run.sh``, or -- for a stage the command line does not reach on its own
schedule (CBC, Verilator, yosys) -- a small Python program that imports cosynth and
installs its signal handlers as the CLI does, with a private TMPDIR, COSYNTH_CACHE and
COSYNTH_CONFIG under one case folder; injects its fault (SIGINT/SIGTERM/SIGKILL to cosynth,
SIGSTOP or kill -9 to one blade, a read-only or full tmpfs, a tampered cache entry or shard
file, a hostile manifest, graph or kernel), and records:

* the exit status and the first line of stderr (the last line for interrupts and hung
  blades, where the first is progress);
* the files left behind that nobody asked for: temporary folders, ``*.tmp``, ``.build-*``,
  ``.trash-*``, ``cosynth-sim-*``, Open MPI session folders;
* the processes left running: any live process whose command line names the case folder,
  or whose environment points TMPDIR or COSYNTH_CACHE into it (every blade, mpirun and
  compiler of the case inherits them);
* what remained on disk where it matters (the user's folders, the saved result).

Invariant: a case never touches anything outside its own folder (tmpfs mounts are made
inside it and unmounted afterwards), and the compile cache each signal case starts from is a
copy of one warmed once, so only one case (SIGTERM during compile) compiles from scratch.

Two rows are measurements, not faults: what the blades' stall watch costs a run that does
not hang, and what the guard of ``cosynth.procs`` costs per command.

Writes ``bench/results/faults.json`` and ``bench/results/faults.md`` (the table).  Needs
Linux ``/proc``; the tmpfs cases need root (they are skipped with the reason otherwise).

    .venv/bin/python bench/bench_faults.py
"""

from __future__ import annotations

import errno
import glob
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from common import ROOT, machine, write_json

from cosynth import procs

__all__ = ["main", "CASES"]

BIN = os.path.dirname(sys.executable)
COSYNTH = os.path.join(BIN, "cosynth")
EX = os.path.join(ROOT, "examples")
MAN = os.path.join(ROOT, "manifests")
BFS = os.path.join(EX, "bfs.py") + ":bfs"
PAGERANK = os.path.join(EX, "pagerank.py") + ":pagerank"
KCORE = os.path.join(EX, "kcore.py") + ":kcore"
SSSP = os.path.join(EX, "sssp.py") + ":sssp"
CC = os.path.join(EX, "cc.py") + ":cc"
PAIR = os.path.join(MAN, "pair.yaml")
# two blades iterating until max_iter (tol=0): runs for minutes unless stopped
LONG_RUN = ["simulate", PAGERANK, "--graph", "kron:10", "--no-fpga", "--blades", "2",
            "--arg", "tol=0", "--arg", "max_iter=100000000"]
LEFTOVER = ("tmp", ".build-", ".trash-", "cosynth-sim-", "ompi.", "prte.", "pmix")


class Skip(Exception):
    """The case cannot run on this machine; the message says why."""


class Case:
    """One case's private folders (``root``: tmp, cache, config, work) and its record."""

    def __init__(self, base: str, name: str, seed: str | None = None):
        self.name = name
        self.root = os.path.join(base, name)
        self.tmp, self.cache, self.config, self.work = (
            os.path.join(self.root, d) for d in ("tmp", "cache", "config", "work"))
        for d in (self.tmp, self.work):
            os.makedirs(d)
        if seed:  # the seed's cache and the key that signed its proofs
            shutil.copytree(os.path.join(seed, "cache"), self.cache, symlinks=True)
            shutil.copytree(os.path.join(seed, "config"), self.config, symlinks=True)
        else:
            os.makedirs(self.cache)
            os.makedirs(self.config)
        self.mounts: list[str] = []
        self.row: dict = {"case": self.name}

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMPI_")
               and k not in ("COSYNTH_STALL_TIMEOUT", "HOSTFILE", "MCA", "MPIRUN")}
        env.update(TMPDIR=self.tmp, COSYNTH_CACHE=self.cache, COSYNTH_CONFIG=self.config,
                   PATH=BIN + os.pathsep + env.get("PATH", ""), OMP_NUM_THREADS="1")
        env.update(extra)
        return env

    def run(self, *args, timeout=600, cwd=None, **extra) -> subprocess.CompletedProcess:
        return subprocess.run([COSYNTH, *args], capture_output=True, text=True,
                              timeout=timeout, cwd=cwd or self.work, env=self.env(**extra),
                              stdin=subprocess.DEVNULL)

    def script(self, body: str, *argv: str) -> tuple[subprocess.Popen, str]:
        """A Python program that imports cosynth, installs its signal handlers (as the CLI
        does) and runs ``body``, in the background; returns it and its stderr file."""
        code = (f"import sys\nsys.path.insert(0, {ROOT!r})\nfrom cosynth import procs\n"
                "procs.install_signal_handlers()\ntry:\n"
                + "".join(f"    {line}\n" for line in body.strip().splitlines())
                + "except procs.Interrupted as exc:\n"
                "    print(f'cosynth: {exc}', file=sys.stderr)\n"
                "    sys.exit(procs.exit_status(exc))\n")
        log = os.path.join(self.root, "stderr.txt")
        with open(log, "w") as err:
            proc = subprocess.Popen([sys.executable, "-c", code, *argv], env=self.env(),
                                    cwd=self.work, stdout=subprocess.DEVNULL, stderr=err,
                                    stdin=subprocess.DEVNULL)
        return proc, log

    def start(self, *args) -> tuple[subprocess.Popen, str]:
        """cosynth in the background; returns it and the file its stderr goes to."""
        log = os.path.join(self.root, "stderr.txt")
        with open(os.path.join(self.root, "stdout.txt"), "w") as out, open(log, "w") as err:
            proc = subprocess.Popen([COSYNTH, *args], env=self.env(), cwd=self.work,
                                    stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        return proc, log

    def tmpfs(self, name: str, state: str) -> str:
        """A 64 KiB tmpfs in the case folder: "ro" (read-only) or "full"."""
        d = os.path.join(self.root, name)
        os.makedirs(d)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d],
                           capture_output=True, text=True)
        if r.returncode:
            raise Skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
        self.mounts.append(d)
        if state == "ro":
            subprocess.run(["mount", "-o", "remount,ro", d], check=True)
        else:
            with open(os.path.join(d, "filler"), "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 4096)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
        return d

    def outcome(self, code: int, err: str, **more) -> None:
        """Record the exit status, stderr's first line (and its last, if it differs)."""
        lines = [ln.replace(self.root, "$CASE") for ln in err.splitlines() if ln.strip()]
        self.row.update(exit=code, message=lines[0] if lines else "")
        if len(lines) > 1:
            self.row["last_line"] = lines[-1]
        self.row.update(traceback="Traceback" in err, **more)

    def finish(self) -> None:
        """Record leftover processes and files, then unmount and stop strays."""
        left = _wait_gone(self)
        self.row["processes_left"] = sorted(left.values())
        for pid in left:  # never leave a stray running past the benchmark
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.row["files_left"] = _leftover_files(self)
        for d in self.mounts:
            self.row.setdefault("mounted_left", sorted(os.listdir(d)))
            subprocess.run(["umount", "-l", d], capture_output=True)


# ------------------------------------------------------------------ /proc scanning

def _live_pids() -> list[int]:
    return list(procs.running())


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _environ(pid: int) -> dict[bytes, bytes]:
    raw = _read(f"/proc/{pid}/environ")
    return dict(v.split(b"=", 1) for v in raw.split(b"\0") if b"=" in v)


def _processes(case: Case) -> dict[int, str]:
    """pid -> command line of every live process of the case (see the module docstring)."""
    root = case.root.encode()
    me = os.getpid()
    found = {}
    for pid in _live_pids():
        if pid == me:
            continue
        cmd = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ")
        env = _environ(pid)
        mine = root in cmd or any(env.get(k, b"").startswith(root)
                                  for k in (b"TMPDIR", b"COSYNTH_CACHE"))
        if mine:
            found[pid] = cmd.decode(errors="replace").strip()
    return found


def _blades(case: Case) -> dict[int, int]:
    """rank -> pid of the case's running blades."""
    out = {}
    for pid, cmd in _processes(case).items():
        if "/blade run.cfg" in cmd and "prterun" not in cmd and "mpirun" not in cmd:
            env = _environ(pid)
            for name in (b"OMPI_COMM_WORLD_RANK", b"PMIX_RANK"):
                if name in env:
                    out[int(env[name])] = pid
                    break
    return out


def _wait_gone(case: Case, timeout: float = 5.0) -> dict[int, str]:
    end = time.monotonic() + timeout
    left = _processes(case)
    while left and time.monotonic() < end:  # a process being reaped right now
        time.sleep(0.1)
        left = _processes(case)
    return left


def _leftover_files(case: Case) -> list[str]:
    out = []
    for d, dirs, files in os.walk(case.root):
        if d in case.mounts:
            dirs[:] = []
        for name in dirs + files:
            if name.startswith(LEFTOVER) or name.endswith(".tmp"):
                rel = os.path.relpath(os.path.join(d, name), case.root)
                if rel not in ("tmp", "config"):
                    out.append(rel)
    return sorted(out)


def _tree(path: str) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), path)
                  for d, _, files in os.walk(path) for f in files)


def _wait(pred, timeout: float, what: str, proc=None, log=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.1)
    text = open(log).read()[-2000:] if log else ""
    raise RuntimeError(f"timed out waiting for {what}\n{text}")


def _finish(proc, timeout=60.0) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return -9


# ------------------------------------------------------------------ the cases

def build_user_dir(c: Case, force: bool) -> None:
    x = os.path.join(c.work, "x")
    os.makedirs(os.path.join(x, "d"))
    os.makedirs(os.path.join(x, "d.old"))
    open(os.path.join(x, "d", "mine.txt"), "w").write("a\n")
    open(os.path.join(x, "d.old", "backup.txt"), "w").write("b\n")
    p = c.run("build", BFS, "--graph", "kron:8", "--arg", "source=0",
              "-o", os.path.join(x, "d"), *(["--force"] if force else []))
    aside = [ln for ln in p.stdout.splitlines() if "aside" in ln]
    c.outcome(p.returncode, p.stderr if p.stderr.strip() else "\n".join(aside or ["-"]),
              on_disk=[t for t in _tree(x) if not t.startswith("d/") or t == "d/mine.txt"
                       or t == "d/run.sh"])


def _blade_run(c: Case, *extra):
    proc, log = c.start(*LONG_RUN, *extra)
    blades = _wait(lambda: (b := _blades(c)) and len(b) == 2 and b, 400, "the blades",
                   proc, log)
    return proc, log, blades


def signal_simulate(c: Case, sig: signal.Signals) -> None:
    proc, log, blades = _blade_run(c)
    time.sleep(0.5)
    os.kill(proc.pid, sig)
    code = _finish(proc)
    c.outcome(code, open(log).read())


def sigterm_compile(c: Case) -> None:
    proc, log = c.start("simulate", BFS, "--graph", "kron:8", "--no-fpga", "--arg", "source=0")
    _wait(lambda: any("cc1plus" in cmd for cmd in _processes(c).values()), 300,
          "cc1plus to run", proc, log)
    os.kill(proc.pid, signal.SIGTERM)
    c.outcome(_finish(proc), open(log).read())


def blade_fault(c: Case, sig: signal.Signals) -> None:
    extra = ["--stall-timeout", "3"] if sig == signal.SIGSTOP else []
    proc, log, blades = _blade_run(c, *extra)
    _wait(lambda: len(glob.glob(os.path.join(c.tmp, "cosynth-sim-*", "build", ".heartbeat",
                                             "beat.*"))) == 2, 60, "both heartbeats", proc, log)
    t0 = time.monotonic()
    os.kill(blades[1], sig)
    code = _finish(proc)
    took = round(time.monotonic() - t0, 1)
    c.outcome(code, open(log).read(), seconds_to_exit=took)


def simulate_readonly(c: Case) -> None:
    ro = c.tmpfs("ro", "ro")
    p = c.run("simulate", BFS, "--graph", "kron:8", "--arg", "source=0",
              "-o", os.path.join(ro, "r.npy"))
    c.outcome(p.returncode, p.stderr, ran="running" in p.stdout)


def simulate_full(c: Case) -> None:
    full = c.tmpfs("full", "full")
    p = c.run("simulate", BFS, "--graph", "kron:8", "--arg", "source=3",
              "-o", os.path.join(full, "depth.npy"))
    c.outcome(p.returncode, p.stderr, ran_ok="blades == networkx: ok" in p.stdout,
              saved_elsewhere=sorted(os.listdir(c.work)))


def plan_full(c: Case) -> None:
    full = c.tmpfs("full", "full")
    p = c.run("plan", BFS, "--manifest", PAIR, "--graph", "kron:8", "--arg", "source=0",
              "-o", os.path.join(full, "p.yaml"))
    c.outcome(p.returncode, p.stderr, saved_elsewhere=sorted(os.listdir(c.work)))


def garbage_binary(c: Case) -> None:
    args = ("simulate", BFS, "--graph", "kron:8", "--no-fpga", "--arg", "source=0")
    first = c.run(*args)
    if first.returncode:
        raise RuntimeError(f"the first run failed: {first.stderr}")
    blades = [p for p in glob.glob(os.path.join(c.cache, "cpp", "*", "*"))
              if os.access(p, os.X_OK) and os.path.isfile(p)]
    for b in blades:
        with open(b, "wb") as f:
            f.write(b"\x7fELF garbage")
    p = c.run(*args)
    c.outcome(p.returncode, p.stderr, garbled=len(blades),
              result_ok="blades == networkx: ok" in p.stdout)


def tampered_proofs(c: Case) -> None:
    first = c.run("rewrite", KCORE)
    path = os.path.join(c.cache, "proofs.json")
    table = json.load(open(path))
    for entry in table.values():  # every refutation rewritten as a proof, signature kept
        entry["status"], entry["cex"] = "proved", None
    open(path, "w").write(json.dumps(table))
    p = c.run("rewrite", KCORE)
    c.outcome(p.returncode, p.stderr, first_exit=first.returncode,
              add_refuted="idempotent of add on i64: refuted" in p.stdout)


def wrong_proofs(c: Case) -> None:
    open(os.path.join(c.cache, "proofs.json"), "w").write("[1, 2]")
    p = c.run("rewrite", KCORE)
    c.outcome(p.returncode, p.stderr,
              add_refuted="idempotent of add on i64: refuted" in p.stdout)


def wrong_costs(c: Case) -> None:
    open(os.path.join(c.cache, "rtl-costs.json"), "w").write('{"abc:ICE40HX8K": 5}')
    p = c.run("plan", BFS, "--manifest", PAIR, "--graph", "kron:8", "--arg", "source=0")
    c.outcome(p.returncode, p.stderr or "(no stderr)", planned="plan for" in p.stdout)


def _manifest(c: Case, text: str, *kernel) -> None:
    path = os.path.join(c.work, "m.yaml")
    open(path, "w").write(text)
    t0 = time.monotonic()
    p = c.run("plan", *(kernel or (BFS, "--arg", "source=0")), "--manifest", path,
              "--graph", "kron:8")
    c.outcome(p.returncode, p.stderr, seconds=round(time.monotonic() - t0, 2))


def alias_bomb(c: Case) -> None:
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        rows.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    _manifest(c, "\n".join(rows) + "\nblades: *i\n")


def pair_with(c: Case, old: str, new: str, *kernel) -> None:
    text = open(PAIR).read()
    assert old in text
    _manifest(c, text.replace(old, new), *kernel)


def relative_hostfile(c: Case) -> None:
    out = os.path.join(c.work, "bfs4")
    b = c.run("build", BFS, "--manifest", os.path.join(MAN, "rack16.yaml"), "--graph",
              "kron:8", "--arg", "source=1", "--blades", "4", "-o", out)
    if b.returncode:
        raise RuntimeError(f"build failed: {b.stderr}")
    open(os.path.join(c.work, "hosts"), "w").write("# the blades' machine\nlocalhost slots=4\n")
    p = subprocess.run([os.path.join(out, "run.sh")], cwd=c.work, capture_output=True,
                       text=True, timeout=600, env=c.env(HOSTFILE="hosts"),
                       stdin=subprocess.DEVNULL)
    c.outcome(p.returncode, p.stderr or p.stdout,
              hostfile_used="--oversubscribe" not in p.stderr,  # its 4 slots hold 4 blades
              outputs=sorted(os.listdir(os.path.join(out, "out")))
              if os.path.isdir(os.path.join(out, "out")) else [])


def huge_vertex(c: Case) -> None:
    path = os.path.join(c.work, "big.el")
    open(path, "w").write("# two edges\n0 1\n1000000000 2\n")
    p = c.run("interpret", BFS, "--graph", path, "--arg", "source=0")
    c.outcome(p.returncode, p.stderr)


def duplicate_edge_sssp(c: Case) -> None:
    path = os.path.join(c.work, "dup.wel")
    open(path, "w").write("0 1 5.0\n0 1 1.0\n1 2 1.0\n")
    p = c.run("interpret", SSSP, "--graph", path, "--arg", "source=0")
    c.outcome(p.returncode, p.stderr or p.stdout.strip().splitlines()[-1])


def sigkill_simulate(c: Case) -> None:
    """SIGKILL of cosynth (no cleanup possible) while its blades run, one of them stopped:
    the guard of cosynth.procs ends prterun's session."""
    proc, log, blades = _blade_run(c)
    os.kill(blades[1], signal.SIGSTOP)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    c.outcome(_finish(proc), open(log).read() or "(killed: no message)")


def sigkill_compile(c: Case) -> None:
    proc, log = c.start("simulate", BFS, "--graph", "kron:8", "--no-fpga", "--arg", "source=0")
    _wait(lambda: any("cc1plus" in cmd for cmd in _processes(c).values()), 300,
          "cc1plus to run", proc, log)
    os.kill(proc.pid, signal.SIGKILL)
    c.outcome(_finish(proc), open(log).read() or "(killed: no message)")


def _script_fault(c: Case, body: str, needle: str, sig: signal.Signals, *argv) -> None:
    proc, log = c.script(body, *argv)
    _wait(lambda: any(needle in cmd for pid, cmd in _processes(c).items() if pid != proc.pid),
          300, f"{needle} to run", proc, log)
    time.sleep(0.3)
    os.kill(proc.pid, sig)
    c.outcome(_finish(proc), open(log).read() or "(killed: no message)")


CBC_SCRIPT = """
import numpy as np
from cosynth.planner.ilp import LpBinary, LpMinimize, LpProblem, LpVariable, lpSum, solve
rng = np.random.default_rng(1)  # a market-split problem: CBC runs into its time limit
a = rng.integers(0, 100, (6, 50))
p = LpProblem("ms", LpMinimize)
x = [LpVariable(f"x{j}", cat=LpBinary) for j in range(50)]
s = [LpVariable(f"s{i}", 0) for i in range(12)]
for i in range(6):
    p += lpSum(int(a[i, j]) * x[j] for j in range(50)) + s[i] - s[6 + i] == int(a[i].sum() // 2)
p += lpSum(s)
solve(p, "cbc", 300.0)
"""

VERILATOR_SCRIPT = """
from cosynth.backends.rtl.verilator import build_model
build_model("module top(input clk, output reg [7:0] q); always @(posedge clk) q <= q + 1;"
            " endmodule\\n", "top")
"""

YOSYS_SCRIPT = """
from cosynth.backends.rtl.flow import run_flow
v = ("module top(input clk, output q); reg [31:0] a = 1, b = 3;"
     " always @(posedge clk) begin a <= a * b + 1; b <= b * a ^ a; end"
     " assign q = ^a; endmodule\\n")
run_flow(v, "top", "ice40", sys.argv[1])
"""


def hung_blade_default(c: Case) -> None:
    """SIGSTOP of a blade with the default stall limit (max(30 s, 20 x predicted))."""
    proc, log, blades = _blade_run(c)
    _wait(lambda: len(glob.glob(os.path.join(c.tmp, "cosynth-sim-*", "build", ".heartbeat",
                                             "beat.*"))) == 2, 60, "both heartbeats", proc, log)
    t0 = time.monotonic()
    os.kill(blades[1], signal.SIGSTOP)
    code = _finish(proc, timeout=300)
    c.outcome(code, open(log).read(), seconds_to_exit=round(time.monotonic() - t0, 1))


_BUILT: dict[str, str] = {}


def _built(c: Case, name: str, *args) -> str:
    """A build directory made (and its blade compiled by run.sh's make) once per run of
    this script, copied into the case's work folder."""
    key = name
    if key not in _BUILT:
        where = os.path.join(os.path.dirname(c.root), "_built", name)
        os.makedirs(os.path.dirname(where), exist_ok=True)
        b = c.run("build", *args, "-o", where)
        if b.returncode:
            raise RuntimeError(f"build failed: {b.stderr}")
        m = subprocess.run(["make"], cwd=where, capture_output=True, text=True,
                           env=c.env(), timeout=900)
        if m.returncode:
            raise RuntimeError(f"make failed: {m.stderr[-1000:]}")
        _BUILT[key] = where
    out = os.path.join(c.work, name)
    shutil.copytree(_BUILT[key], out, symlinks=True)
    shutil.rmtree(os.path.join(out, "out"), ignore_errors=True)
    return out


def _run_sh(c: Case, out: str, **env) -> subprocess.Popen:
    return subprocess.Popen([os.path.join(out, "run.sh")], cwd=c.work, env=c.env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def _sh_blades(c: Case, out: str, proc) -> dict[int, int]:
    """The run.sh blades (cwd ``out``), once both have run a second."""
    def found():
        b = {}
        for pid in procs.running():
            try:
                if os.readlink(f"/proc/{pid}/cwd") != out or \
                        not _read(f"/proc/{pid}/cmdline").startswith(b"./blade"):
                    continue
            except OSError:
                continue
            rank = _environ(pid).get(b"OMPI_COMM_WORLD_RANK")
            if rank is not None:
                b[int(rank)] = pid
        return b if len(b) == 2 else None
    blades = _wait(found, 120, "the run.sh blades", proc)
    time.sleep(1.5)  # past MPI start-up (a blade stopped inside MPI_Init is not watched)
    return blades


PR_BUNDLE = ("pagerank2", PAGERANK, "--manifest", os.path.join(MAN, "rack16.yaml"), "--graph",
             "kron:10", "--blades", "2", "--arg", "tol=0", "--arg", "max_iter=100000000")


def run_sh_blade_fault(c: Case, sig: signal.Signals) -> None:
    """run.sh with a hostfile (nothing of cosynth watching): SIGSTOP or kill -9 one blade."""
    out = _built(c, *PR_BUNDLE)
    open(os.path.join(c.work, "hosts"), "w").write("localhost slots=2\n")
    extra = {"COSYNTH_STALL_TIMEOUT": "3"} if sig == signal.SIGSTOP else {}
    proc = _run_sh(c, out, HOSTFILE="hosts", **extra)
    blades = _sh_blades(c, out, proc)
    t0 = time.monotonic()
    os.kill(blades[1], sig)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        err += "\n(run.sh did not end within 120 s: killed)"
    lines = [ln for ln in err.splitlines() if "stopped making progress" in ln or
             ("signal" in ln and "-----" not in ln)]
    c.outcome(proc.returncode, "\n".join(lines) or err,
              seconds_to_exit=round(time.monotonic() - t0, 1))


BFS_BUNDLE = ("bfs2", BFS, "--manifest", os.path.join(MAN, "rack16.yaml"), "--graph", "kron:8",
              "--blades", "2", "--arg", "source=1")


def shard_damage(c: Case, damage: str) -> None:
    out = _built(c, *BFS_BUNDLE)
    shard = os.path.join(out, "shards", "graph.1.bin")
    if damage == "missing":
        os.remove(shard)
    elif damage == "truncated":
        with open(shard, "r+b") as f:
            f.truncate(os.path.getsize(shard) - 8)
    else:  # blade 0's shard where blade 1's belongs
        shutil.copy(os.path.join(out, "shards", "graph.0.bin"), shard)
    p = subprocess.run([os.path.join(out, "run.sh")], cwd=c.work, env=c.env(),
                       capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    lines = [ln for ln in p.stderr.splitlines() if "error" in ln]
    c.outcome(p.returncode, "\n".join(lines) or p.stderr,
              results=sorted(n for n in os.listdir(os.path.join(out, "out"))
                             if n.startswith("result")))


def run_sh_tcp(c: Case) -> None:
    out = _built(c, *BFS_BUNDLE)
    hosts = os.path.join(c.work, "hosts")
    open(hosts, "w").write("localhost slots=4\n")
    p = subprocess.run([os.path.join(out, "run.sh")], cwd="/", env=c.env(
        HOSTFILE=hosts, MCA="btl tcp,self"), capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL)
    c.outcome(p.returncode, p.stderr or "(no stderr)",
              outputs=sorted(os.listdir(os.path.join(out, "out"))))


def run_sh_help(c: Case) -> None:
    out = _built(c, *BFS_BUNDLE)
    p = subprocess.run([os.path.join(out, "run.sh"), "--help"], capture_output=True,
                       text=True, timeout=60, env=c.env())
    c.outcome(p.returncode, p.stdout.splitlines()[0] if p.stdout else p.stderr,
              mentions=[w for w in ("HOSTFILE", "MCA", "MPIRUN", "COSYNTH_STALL_TIMEOUT",
                                    "--bind-to none", "--oversubscribe", "OMPI_ALLOW_RUN_AS_ROOT")
                        if w in p.stdout])


def full_compile_cache(c: Case) -> None:
    full = c.tmpfs("full", "full")
    p = c.run("simulate", BFS, "--graph", "kron:6", "--arg", "source=0", COSYNTH_CACHE=full)
    c.outcome(p.returncode, p.stderr)


def readonly_tmpdir(c: Case) -> None:
    ro = c.tmpfs("ro", "ro")
    p = c.run("simulate", BFS, "--graph", "kron:6", "--arg", "source=0", TMPDIR=ro)
    c.outcome(p.returncode, p.stderr)


def build_full_fs(c: Case) -> None:
    full = c.tmpfs("full", "full")
    p = c.run("build", BFS, "--graph", "kron:8", "--arg", "source=0",
              "-o", os.path.join(full, "out"))
    c.outcome(p.returncode, p.stderr)


def foreign_binary(c: Case) -> None:
    """The cached pagerank blade copied over the cached bfs blade (its record kept)."""
    entries = {}
    for b in glob.glob(os.path.join(c.cache, "cpp", "*", "blade")):
        src = open(os.path.join(os.path.dirname(b), "blade.cpp")).read() \
            if os.path.exists(os.path.join(os.path.dirname(b), "blade.cpp")) else ""
        entries["bfs" if "bfs" in src.splitlines()[0] else "other"] = b
    if set(entries) != {"bfs", "other"}:
        raise RuntimeError(f"expected a bfs and another blade in the cache: {entries}")
    shutil.copy(entries["other"], entries["bfs"])
    p = c.run("simulate", BFS, "--graph", "kron:8", "--no-fpga", "--arg", "source=0")
    c.outcome(p.returncode, p.stderr,
              result_ok="blades == networkx: ok" in p.stdout)


def rtl_user_dir(c: Case) -> None:
    d = os.path.join(c.work, "mine")
    os.makedirs(d)
    open(os.path.join(d, "notes.txt"), "w").write("keep\n")
    p = c.run("rtl", BFS, "-o", d)
    c.outcome(p.returncode, p.stderr, on_disk=_tree(d))


def _kernel_file(c: Case, name: str, text: str) -> str:
    path = os.path.join(c.work, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(text)
    return path


def shard_name(c: Case) -> None:
    k = _kernel_file(c, "k.py", "import cosynth as cs\n@cs.kernel\n"
                     "def k(g: cs.Graph) -> cs.NodeArray:\n    d = g.node_array(cs.f64, 0.0)\n"
                     "    shard_lo = 1.0\n    d[0] = shard_lo\n    return d\n")
    p = c.run("simulate", f"{k}:k", "--graph", "kron:4")
    c.outcome(p.returncode, p.stderr)


def long_expression(c: Case) -> None:
    expr = " + ".join("d[v]" if i % 2 else "0.5" for i in range(400))
    k = _kernel_file(c, "deep.py", "import cosynth as cs\n@cs.kernel\n"
                     "def deep(g: cs.Graph) -> cs.NodeArray:\n    d = g.node_array(cs.f64, 1.0)\n"
                     f"    for v in g.nodes():\n        d[v] = {expr}\n    return d\n")
    p = c.run("interpret", f"{k}:deep", "--graph", "kron:4")
    c.outcome(p.returncode, p.stderr or "(no stderr)",
              last_stdout=(p.stdout.strip().splitlines() or [""])[-1][:80])


def newline_path(c: Case) -> None:
    src = open(os.path.join(EX, "bfs.py")).read()
    k = _kernel_file(c, "dir\nwith \"quote\"/bfs.py", src)
    p = c.run("simulate", f"{k}:bfs", "--graph", "kron:6", "--no-fpga", "--arg", "source=0")
    c.outcome(p.returncode, p.stderr or "(no stderr)",
              result_ok="blades == networkx: ok" in p.stdout)


def compiler_failure(c: Case) -> None:
    fake = _kernel_file(c, "fakecxx", '#!/bin/sh\nif [ "$1" = --version ]; then echo "fakecxx '
                        '1.0"; exit 0; fi\necho "blade.cpp:1:1: error: this compiler is broken" '
                        '>&2\nexit 1\n')
    os.chmod(fake, 0o755)
    p = c.run("simulate", BFS, "--graph", "kron:6", "--arg", "source=0", OMPI_CXX=fake)
    c.outcome(p.returncode, p.stderr)


def blade_crash(c: Case) -> None:
    k = _kernel_file(c, "bad.py", "import cosynth as cs\n@cs.kernel\n"
                     "def bad(g: cs.Graph) -> cs.NodeArray[cs.i64]:\n"
                     "    d = g.node_array(cs.i64, 0)\n    for v in g.nodes():\n"
                     "        d[v] = 10 // (v - 20)\n    return d\n")
    p = c.run("simulate", f"{k}:bad", "--graph", "kron:6", "--blades", "2")
    c.outcome(p.returncode, p.stderr)


def watch_overhead(c: Case) -> None:
    """What the blades' stall watch costs a run that does not hang: the same 2-blade
    pagerank (200 iterations of kron-10 under run.sh) with the watch on and off, 5 runs
    each, alternating; the median of the slower blade's total and communication seconds."""
    out = _built(c, "pagerank2-200", PAGERANK, "--manifest", os.path.join(MAN, "rack16.yaml"),
                 "--graph", "kron:10", "--blades", "2", "--arg", "tol=0", "--arg",
                 "max_iter=200")
    runs: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
    for _ in range(5):
        for mode, limit in (("on", "30"), ("off", "0")):
            p = subprocess.run([os.path.join(out, "run.sh")], cwd=c.work, capture_output=True,
                               text=True, timeout=300, env=c.env(COSYNTH_STALL_TIMEOUT=limit))
            if p.returncode:
                raise RuntimeError(f"run failed: {p.stderr[-500:]}")
            stats = [json.load(open(os.path.join(out, "out", f"stats.rank{r}.json")))
                     for r in range(2)]
            runs[mode].append((max(s["total"] for s in stats), max(s["comm"] for s in stats)))

    def med(mode, i):
        return round(sorted(r[i] for r in runs[mode])[len(runs[mode]) // 2] * 1000, 2)
    c.outcome(0, f"total ms: watch on {med('on', 0)}, off {med('off', 0)}; comm ms: on "
              f"{med('on', 1)}, off {med('off', 1)}",
              total_ms_on=[round(r[0] * 1000, 2) for r in runs["on"]],
              total_ms_off=[round(r[0] * 1000, 2) for r in runs["off"]])


def guard_overhead(c: Case) -> None:
    """What the guard of cosynth.procs costs per command: ``true`` 20 times through
    procs.run and through plain subprocess.run."""
    def clock(fn):
        t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(20):
            fn(["true"])
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        return (round((time.perf_counter() - t0) / 20 * 1000, 1), round(cpu / 20 * 1000, 1))
    guarded, g_cpu = clock(procs.run)
    plain, p_cpu = clock(lambda cmd: subprocess.run(cmd, capture_output=True))
    load = round(os.getloadavg()[0], 1)
    c.outcome(0, f"per command: {guarded} ms guarded ({g_cpu} ms CPU), {plain} ms plain "
              f"({p_cpu} ms CPU), load average {load}",
              guarded_ms=guarded, guarded_cpu_ms=g_cpu, plain_ms=plain, plain_cpu_ms=p_cpu,
              load=load)


# (name, what is injected, function, needs the warm compile cache)
CASES = [
    ("build-onto-user-dir", "build -o onto a user's dir beside DIR.old",
     lambda c: build_user_dir(c, False), False),
    ("build-onto-user-dir-force", "same with --force",
     lambda c: build_user_dir(c, True), False),
    ("sigint-simulate", "SIGINT to cosynth while 2 blades run",
     lambda c: signal_simulate(c, signal.SIGINT), True),
    ("sigterm-simulate", "SIGTERM to cosynth while 2 blades run",
     lambda c: signal_simulate(c, signal.SIGTERM), True),
    ("sigterm-compile", "SIGTERM to cosynth while cc1plus compiles the blade",
     sigterm_compile, False),
    ("sigstop-blade", "SIGSTOP of blade 1 (--stall-timeout 3)",
     lambda c: blade_fault(c, signal.SIGSTOP), True),
    ("kill9-blade", "kill -9 of blade 1", lambda c: blade_fault(c, signal.SIGKILL), True),
    ("simulate-readonly-fs", "simulate -o onto a read-only 64 KiB tmpfs",
     simulate_readonly, True),
    ("simulate-full-fs", "simulate -o onto a full 64 KiB tmpfs", simulate_full, True),
    ("plan-full-fs", "plan -o onto a full 64 KiB tmpfs", plan_full, False),
    ("garbage-binary", "garbage in the cached blade binary, then simulate",
     garbage_binary, True),
    ("tampered-proofs", "proofs.json refutations rewritten as proofs, then rewrite kcore",
     tampered_proofs, False),
    ("wrong-shaped-proofs", "proofs.json is [1, 2], then rewrite kcore", wrong_proofs, False),
    ("wrong-shaped-rtl-costs", "rtl-costs.json maps a key to 5, then plan with FPGAs",
     wrong_costs, False),
    ("yaml-alias-bomb", "manifest of 9 nested aliases (9^9 strings)", alias_bomb, False),
    ("yaml-self-alias", "manifest 'blades: &b [*b]'",
     lambda c: _manifest(c, "blades: &b\n  - *b\n"), False),
    ("count-10^12", "manifest count: 1000000000000",
     lambda c: pair_with(c, "count: 2", "count: 1000000000000"), False),
    ("dram-1-byte", "manifest dram size: 1 B, plan cc",
     lambda c: pair_with(c, "size: 32 GiB", "size: 1 B", CC), False),
    ("run.sh-relative-hostfile", "HOSTFILE=hosts ./run.sh from the hostfile's folder",
     relative_hostfile, True),
    ("vertex-id-1e9", "edge list with vertex id 1000000000", huge_vertex, False),
    ("duplicate-edge-sssp", "SSSP on parallel edges 5.0 and 1.0", duplicate_edge_sssp, False),
    # issue 13 items 1-7, the cases added since the first table
    ("rtl-onto-user-dir", "rtl -o onto a user's folder", rtl_user_dir, False),
    ("sigkill-simulate", "SIGKILL of cosynth while 2 blades run, blade 1 stopped",
     sigkill_simulate, True),
    ("sigkill-compile", "SIGKILL of cosynth while cc1plus compiles", sigkill_compile, False),
    ("sigterm-cbc", "SIGTERM while CBC solves (planner.ilp.solve)",
     lambda c: _script_fault(c, CBC_SCRIPT, "cbc", signal.SIGTERM), False),
    ("sigkill-cbc", "SIGKILL while CBC solves",
     lambda c: _script_fault(c, CBC_SCRIPT, "cbc", signal.SIGKILL), False),
    ("sigterm-verilator", "SIGTERM while Verilator's make runs",
     lambda c: _script_fault(c, VERILATOR_SCRIPT, "make", signal.SIGTERM), False),
    ("sigkill-verilator", "SIGKILL while Verilator's make runs",
     lambda c: _script_fault(c, VERILATOR_SCRIPT, "make", signal.SIGKILL), False),
    ("sigint-yosys", "SIGINT while yosys synthesizes",
     lambda c: _script_fault(c, YOSYS_SCRIPT, "yosys", signal.SIGINT, "flow-out"), False),
    ("sigkill-yosys", "SIGKILL while yosys synthesizes",
     lambda c: _script_fault(c, YOSYS_SCRIPT, "yosys", signal.SIGKILL, "flow-out"), False),
    ("sigstop-blade-default", "SIGSTOP of blade 1, default stall limit", hung_blade_default,
     True),
    ("run.sh-sigstop-blade", "HOSTFILE=hosts run.sh (COSYNTH_STALL_TIMEOUT=3), SIGSTOP blade 1",
     lambda c: run_sh_blade_fault(c, signal.SIGSTOP), False),
    ("run.sh-kill9-blade", "HOSTFILE=hosts run.sh, kill -9 of blade 1",
     lambda c: run_sh_blade_fault(c, signal.SIGKILL), False),
    ("shard-missing", "run.sh with blade 1's shard file deleted",
     lambda c: shard_damage(c, "missing"), False),
    ("shard-truncated", "run.sh with blade 1's shard file 8 bytes short",
     lambda c: shard_damage(c, "truncated"), False),
    ("shard-foreign", "run.sh with blade 0's shard as blade 1's",
     lambda c: shard_damage(c, "foreign"), False),
    ("run.sh-tcp-absolute-hostfile", "HOSTFILE=/abs/hosts (slots=4) MCA='btl tcp,self' run.sh",
     run_sh_tcp, False),
    ("run.sh-help", "run.sh --help", run_sh_help, False),
    ("full-compile-cache", "COSYNTH_CACHE on a full 64 KiB tmpfs, simulate",
     full_compile_cache, False),
    ("readonly-tmpdir", "TMPDIR on a read-only tmpfs, simulate", readonly_tmpdir, False),
    ("build-full-fs", "build -o onto a full 64 KiB tmpfs (shard writing)", build_full_fs,
     False),
    ("foreign-binary", "another kernel's cached blade in bfs's cache entry, then simulate",
     foreign_binary, True),
    ("count-10^6", "manifest count: 1000000",
     lambda c: pair_with(c, "count: 2", "count: 1000000"), False),
    ("shard_lo-name", "a kernel naming a local shard_lo", shard_name, False),
    ("400-term-expression", "a 400-term sum in a kernel, interpret", long_expression, False),
    ("newline-in-path", "a kernel file whose folder has a newline and a quote, simulate",
     newline_path, False),
    ("compiler-failure", "a C++ compiler that always fails (OMPI_CXX)", compiler_failure,
     False),
    ("blade-crash", "a kernel dividing by zero on a blade", blade_crash, False),
    ("watch-overhead", "(measure) run.sh pagerank kron-10, 200 iterations, watch on vs off",
     watch_overhead, False),
    ("guard-overhead", "(measure) procs.run(['true']) vs subprocess.run", guard_overhead,
     False),
]


def _warm_cache(base: str) -> str:
    """A case folder whose cache holds the pagerank and bfs blades (compiled once, copied)."""
    seed = Case(base, "_seed")
    for args in ([*LONG_RUN[:-1], "max_iter=2"],
                 ["simulate", BFS, "--graph", "kron:8", "--no-fpga", "--arg", "source=0"]):
        p = seed.run(*args)
        if p.returncode:
            raise RuntimeError(f"warming the cache failed: {p.stderr}")
    return seed.root


def _cell(v) -> str:
    text = str(v).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 110 else text[:107] + "..."


def table(rows: list[dict]) -> str:
    out = ["| case | exit | message | files left | processes left | on disk / notes |",
           "|---|---|---|---|---|---|"]
    skip = {"case", "what", "exit", "message", "files_left", "processes_left", "seconds_case",
            "traceback"}
    for r in rows:
        notes = "; ".join(f"{k}={v}" for k, v in r.items() if k not in skip)
        out.append("| " + " | ".join(_cell(x) for x in (
            r["case"], r.get("exit", "-"), r.get("message", ""),
            ", ".join(r.get("files_left", [])) or "none",
            len(r.get("processes_left", [])) if "processes_left" in r else "-",
            notes)) + " |")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if not os.path.isdir("/proc"):
        print("needs Linux /proc", file=sys.stderr)
        return 2
    only = set(argv)
    unknown = only - {case[0] for case in CASES}
    if unknown:
        print(f"unknown case(s): {', '.join(sorted(unknown))}; the cases are: "
              + ", ".join(case[0] for case in CASES), file=sys.stderr)
        return 2
    base = tempfile.mkdtemp(prefix="cosynth-faults-")
    rows = []
    t_all = time.monotonic()
    try:
        chosen = [case for case in CASES if not only or case[0] in only]
        seed = _warm_cache(base) if any(case[3] for case in chosen) else None
        for name, what, fn, warm in chosen:
            c = Case(base, name, seed if warm else None)
            c.row["what"] = what
            t0 = time.monotonic()
            try:
                fn(c)
            except Skip as exc:
                c.row.update(skipped=str(exc))
            except Exception as exc:  # a case that could not be provoked is reported as such
                c.row.update(error=f"{type(exc).__name__}: {exc}".strip()[:500])
            finally:
                c.finish()
            c.row["seconds_case"] = round(time.monotonic() - t0, 1)
            rows.append(c.row)
            print(f"{name}: exit {c.row.get('exit')} ({c.row['seconds_case']} s)",
                  file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    write_json(os.path.join(ROOT, "bench", "results", "faults.json"),
               {"machine": machine(), "seconds": round(time.monotonic() - t_all, 1),
                "cases": rows})
    text = table(rows)
    with open(os.path.join(ROOT, "bench", "results", "faults.md.tmp"), "w") as f:
        f.write(f"# bench_faults ({len(rows)} cases, {round(time.monotonic() - t_all)} s)\n\n"
                + text + "\n")
    os.replace(os.path.join(ROOT, "bench", "results", "faults.md.tmp"),
               os.path.join(ROOT, "bench", "results", "faults.md"))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
