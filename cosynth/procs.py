"""Child processes: the one module that starts them, tracks them and ends them.

Every external program cosynth runs (the C++ compiler, mpirun/prterun and the blades,
Verilator and make, yosys and nextpnr) is started here, and the invariants are:

* A child starts in a **new session** (``start_new_session``): it and everything it spawns
  (``cc1plus`` under ``mpicxx``, the blades under ``prterun``) share its session id, and a
  terminal's Ctrl-C reaches only cosynth, which then decides what to stop.
* While it runs, a child is in ``live()``.  Starting it and registering it happen with
  SIGINT and SIGTERM blocked, so an interrupt cannot fall between the two.
* However its wait ends -- normally, on a timeout, on an error raised by a watcher, on
  ``KeyboardInterrupt`` or on ``Interrupted`` -- a child that has not exited is stopped
  with its **whole session**: SIGTERM and SIGCONT (a suspended process handles the TERM),
  then after ``GRACE`` seconds SIGKILL to whatever is left, and the direct child is reaped.
  The stopping runs with SIGINT and SIGTERM blocked, so a second Ctrl-C does not cut it
  short.  ``stop_all`` (also run at exit) stops whatever is still live.
* If cosynth itself dies without a chance to clean up (SIGKILL, the OOM killer), each
  direct child gets SIGTERM from the kernel (Linux ``PR_SET_PDEATHSIG``), so mpirun/prterun
  ends its blades and a compiler driver its passes instead of running on as orphans.  Only
  children started from the main thread get it: the kernel sends the signal when the
  *thread* that forked exits, not the process.
* ``install_signal_handlers`` (the CLI calls it) turns SIGINT and SIGTERM into the
  exception ``Interrupted``, so ``finally`` blocks remove temporaries; ``exit_status``
  maps it (and a plain ``KeyboardInterrupt``) to 130 or 143.  (Not KeyboardInterrupt
  itself: click turns that into ``Abort`` and prints a blank line.)

``run(cmd, timeout=...)`` is ``subprocess.run`` with these guarantees; ``Child`` is the
long form, whose ``communicate(watch=...)`` calls ``watch()`` every ``interval`` seconds
while the child runs (the blade heartbeat watcher raises from it).
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

__all__ = ["Child", "run", "live", "stop_all", "session_members", "running", "Interrupted",
           "install_signal_handlers", "exit_status", "GRACE"]

GRACE = 2.0  # seconds a session has to end after SIGTERM before SIGKILL
_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_LIVE: dict[int, Child] = {}


class Interrupted(BaseException):
    """SIGINT or SIGTERM, raised where the program was (a BaseException, like
    KeyboardInterrupt, so that ``except Exception`` does not swallow it and ``finally``
    blocks run); ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


def install_signal_handlers() -> dict:
    """SIGINT and SIGTERM raise ``Interrupted`` in the main thread, from the program's
    entry point; returns the previous handlers (for ``signal.signal`` to restore)."""
    def on_signal(signum, _frame):
        raise Interrupted(signum)
    return {sig: signal.signal(sig, on_signal) for sig in _SIGNALS}


def exit_status(exc: BaseException) -> int | None:
    """128 + the signal number for an interrupt (130 SIGINT, 143 SIGTERM), else None."""
    if isinstance(exc, Interrupted):
        return 128 + int(exc.signum)
    if isinstance(exc, KeyboardInterrupt):
        return 128 + int(signal.SIGINT)
    return None


class Child:
    """One external program in its own session (see the module's invariants).

    ``Child(cmd, cwd=..., env=..., stdout=PIPE, stderr=PIPE)``; ``communicate`` and
    ``wait`` stop the session on any exception, ``stop`` ends it explicitly.  Usable as a
    context manager: leaving the block stops a child still running.
    """

    def __init__(self, cmd: list[str], *, cwd: str | None = None, env: dict | None = None,
                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 text: bool = True):
        self.cmd = list(cmd)
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            self.proc = subprocess.Popen(self.cmd, cwd=cwd, env=env, stdin=stdin,
                                         stdout=stdout, stderr=stderr, text=text,
                                         start_new_session=True, preexec_fn=_preexec(old))
            _LIVE[self.proc.pid] = self
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    @property
    def pid(self) -> int:
        """The child's pid, which is also its session and process group id."""
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def communicate(self, timeout: float | None = None, *,
                    watch: Callable[[], None] | None = None, interval: float = 0.25
                    ) -> tuple[str, str]:
        """The child's output once it exits.  Raises ``subprocess.TimeoutExpired`` after
        ``timeout`` seconds, or whatever ``watch`` raises; the session is stopped first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                step = None if watch is None else interval
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise subprocess.TimeoutExpired(self.cmd, timeout)
                    step = left if step is None else min(step, left)
                try:
                    out, err = self.proc.communicate(timeout=step)
                    break
                except subprocess.TimeoutExpired:
                    if watch is not None:
                        watch()
        except BaseException:
            self.stop()
            raise
        self._forget()
        return out, err

    def wait(self, timeout: float | None = None) -> int:
        """The exit status; ``subprocess.TimeoutExpired`` (session stopped) on timeout."""
        try:
            code = self.proc.wait(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        self._forget()
        return code

    def stop(self, grace: float = GRACE) -> None:
        """End the child's whole session (TERM+CONT, then KILL after ``grace`` s) and reap
        the child; runs with SIGINT and SIGTERM blocked.  Idempotent."""
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            if self.proc.poll() is None or session_members(self.pid):
                _end_session(self.pid, self.proc, grace)
            for stream in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
            self._forget()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def _forget(self) -> None:
        _LIVE.pop(self.proc.pid, None)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None or self.pid in _LIVE:
            self.stop()


def run(cmd: list[str], *, timeout: float | None = None, cwd: str | None = None,
        env: dict | None = None, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text: bool = True) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, timeout=...)`` in a new
    session that is stopped whole on timeout or interrupt (``TimeoutExpired`` is raised
    after that).  ``OSError`` when ``cmd[0]`` cannot be started."""
    child = Child(cmd, cwd=cwd, env=env, stdout=stdout, stderr=stderr, text=text)
    if stdout is subprocess.PIPE or stderr is subprocess.PIPE:
        out, err = child.communicate(timeout)
    else:
        child.wait(timeout)
        out = err = None
    return subprocess.CompletedProcess(child.cmd, child.returncode, out, err)


_PR_SET_PDEATHSIG = 1


def _libc():
    """The C library (for ``prctl``), or None where it cannot be loaded (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def _preexec(mask: set):
    """The function the child runs between fork and exec: restore the signal mask the
    parent had before it blocked SIGINT/SIGTERM around the start (a blocked mask survives
    exec, and a child that cannot receive SIGTERM could only be SIGKILLed), and ask the
    kernel for SIGTERM when the parent dies (see the module's invariants; Linux, main
    thread only).  It calls only ``sigprocmask`` and ``prctl``."""
    death = _LIBC is not None and threading.current_thread() is threading.main_thread()
    prctl, parent = (_LIBC.prctl if death else None), os.getpid()

    def in_child() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if death:
            prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os.kill(os.getpid(), signal.SIGTERM)
    return in_child


def live() -> list[Child]:
    """The children started here that are still running (or not yet reaped)."""
    return list(_LIVE.values())


def stop_all() -> None:
    """Stop every live child's session (at exit, and after an interrupt)."""
    for child in list(_LIVE.values()):
        child.stop()


atexit.register(stop_all)


def running() -> dict[int, int]:
    """Every process that has not exited (zombies excluded), pid -> session id, read from
    ``/proc`` (Linux); empty where there is no ``/proc``."""
    out = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rpartition(b")")[2].split()
        # after "pid (comm)": state ppid pgrp session ...
        if len(fields) > 3 and fields[0] not in (b"Z", b"X"):
            out[int(name)] = int(fields[3])
    return out


def session_members(sid: int) -> list[int]:
    """Pids of the processes in session ``sid`` that have not exited (zombies excluded)."""
    return [pid for pid, s in running().items() if s == sid]


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _end_session(sid: int, proc: subprocess.Popen, grace: float) -> None:
    """TERM and CONT to every member of session ``sid`` (its process group first, then
    members that moved to another group), KILL what is left after ``grace``; reap."""
    try:
        os.killpg(sid, signal.SIGTERM)
        os.killpg(sid, signal.SIGCONT)
    except (ProcessLookupError, PermissionError):
        pass
    members = session_members(sid)
    _signal_all(members, signal.SIGTERM)
    _signal_all(members, signal.SIGCONT)
    end = time.monotonic() + grace
    while time.monotonic() < end:
        proc.poll()
        if not session_members(sid):
            break
        time.sleep(0.05)
    for _ in range(50):  # KILL until the session is empty (a member may fork meanwhile)
        left = session_members(sid)
        if not left:
            break
        _signal_all(left, signal.SIGKILL)
        proc.poll()
        time.sleep(0.02)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
        pass
