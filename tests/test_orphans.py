"""Nothing cosynth started outlives it: a grandchild of each kind -- ``cc1plus`` under
mpicxx/g++, ``make``/g++ under Verilator, yosys -- ends when cosynth is interrupted
(SIGTERM, handled) or killed outright (SIGKILL, not handled: the guard of ``cosynth.procs``
ends the session).  prterun's blades are covered in ``tests/test_faults.py``.

Each case runs a small Python program that imports cosynth and starts one stage with a
private COSYNTH_CACHE and TMPDIR, waits until the grandchild runs, signals the program,
and scans ``/proc`` for any process that inherited those folders.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from cosynth import procs
from tests.helpers import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc; the parent-death signal is Linux")

PRELUDE = """
import sys
sys.path.insert(0, {root!r})
from cosynth import procs
procs.install_signal_handlers()
try:
{body}
except procs.Interrupted as exc:
    sys.exit(procs.exit_status(exc))
"""

STAGES = {
    # the blade runtime header pulls in MPI and OpenMP: cc1plus runs for seconds
    "compiler": ("cc1plus", """
from cosynth.backends.toolchain import compile_program
compile_program('#include "cosynth_rt.hpp"\\n'
                'template <int N> double f(std::vector<double>& v) {'
                ' std::sort(v.begin(), v.end()); return v[N % v.size()] + f<N - 1>(v); }\\n'
                'template <> double f<0>(std::vector<double>& v) { return v[0]; }\\n'
                'int main() { std::vector<double> v(10); return (int)f<600>(v); }\\n')
"""),
    "verilator": ("make", """
from cosynth.backends.rtl.verilator import build_model
build_model("module top(input clk, output reg [7:0] q); always @(posedge clk) q <= q + 1;"
            " endmodule\\n", "top")
"""),
    "yosys": ("yosys", """
from cosynth.backends.rtl.flow import run_flow
# 32-bit multipliers out of LUTs keep yosys busy for a while
v = ("module top(input clk, output q); reg [31:0] a = 1, b = 3;"
     " always @(posedge clk) begin a <= a * b + 1; b <= b * a ^ a; end"
     " assign q = ^a; endmodule\\n")
run_flow(v, "top", "ice40", sys.argv[1])
"""),
}


def _mine(cache: str) -> dict[int, str]:
    """pid -> command line of every live process that inherited COSYNTH_CACHE=cache."""
    out = {}
    key = b"COSYNTH_CACHE=" + cache.encode() + b"\0"
    for pid in procs.running():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read() + b"\0"
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if key in env:
            out[pid] = cmd
    return out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
@pytest.mark.parametrize("stage", sorted(STAGES))
def test_no_grandchild_outlives_cosynth(tmp_path, stage, sig):
    needle, body = STAGES[stage]
    cache, tmp = str(tmp_path / "cache"), str(tmp_path / "tmp")
    os.makedirs(tmp)
    script = PRELUDE.format(root=ROOT, body=textwrap.indent(body.strip(), "    "))
    env = dict(os.environ, COSYNTH_CACHE=cache, TMPDIR=tmp,
               COSYNTH_CONFIG=str(tmp_path / "config"))
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "out")],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 300
        while time.monotonic() < end and parent.poll() is None:
            seen = _mine(cache)
            # a forked copy of the parent shows the parent's command line until its exec
            if any(needle in cmd for pid, cmd in seen.items()
                   if pid != parent.pid and cmd != seen.get(parent.pid)):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"{needle} never ran: {parent.stderr.read().decode()[-2000:]}")
        os.kill(parent.pid, sig)
        code = parent.wait(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert code == (143 if sig == signal.SIGTERM else -9)
    # after a SIGKILL the guard needs its grace (procs.GRACE) to end what ignores SIGTERM;
    # each stage's grandchild would run on for longer than this when orphaned
    end = time.monotonic() + procs.GRACE + 2.0
    while (left := _mine(cache)) and time.monotonic() < end:
        time.sleep(0.1)
    assert not left, f"left running after {sig.name} of cosynth: {left}"


def test_importing_cosynth_starts_no_process():
    """A program that imports cosynth has not installed its signal handlers yet: a child
    started at import time (``ctypes.util.find_library`` runs ``ldconfig -p``) is a window
    in which SIGTERM kills the program outright, and in which the forked child, until its
    exec, looks like the program in ``/proc`` (the cause of a flaky case above)."""
    script = textwrap.dedent(f"""
        import os, subprocess, sys
        sys.path.insert(0, {ROOT!r})
        started = []
        popen = subprocess.Popen.__init__
        def record(self, *args, **kwargs):
            started.append(repr(args[0] if args else kwargs.get("args")))
            return popen(self, *args, **kwargs)
        subprocess.Popen.__init__ = record
        for name in ("fork", "posix_spawn", "posix_spawnp", "system"):
            if hasattr(os, name):
                real = getattr(os, name)
                def spy(*args, _real=real, _name=name, **kwargs):
                    started.append(_name)
                    return _real(*args, **kwargs)
                setattr(os, name, spy)
        import cosynth, cosynth.cli, cosynth.procs, cosynth.backends.toolchain
        import cosynth.backends.rtl.flow, cosynth.backends.rtl.verilator
        print("started:", started)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "started: []" in out.stdout, out.stdout
