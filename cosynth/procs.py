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
* If cosynth itself dies without a chance to clean up (SIGKILL, the OOM killer), the
  whole session still ends.  Every command runs under a small **guard** (``_GUARD``, a
  Python process with no site packages, the session leader): the kernel sends the guard
  SIGTERM when cosynth dies (Linux ``PR_SET_PDEATHSIG``; only for children started from
  the main thread, since the kernel signals when the *thread* that forked exits), and the
  guard also notices a new parent twice a second.  It then ends the session as ``stop``
  does -- TERM+CONT, KILL after ``GRACE`` -- so that ``cc1plus`` under ``mpicxx``/g++,
  ``make`` and g++ under Verilator, and prterun's blades end too (a parent-death signal
  reaches only a direct child, and ``mpicxx`` dies on SIGTERM leaving g++ running).  The
  guard passes its command's exit status (or death by a signal) on as its own, and a
  command that cannot be started raises ``OSError`` here as ``subprocess.Popen`` does.
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
        ready, status = os.pipe()
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            guard = [sys.executable, "-I", "-S", "-c", _GUARD, str(status), str(os.getpid()),
                     repr(GRACE), *self.cmd]
            self.proc = subprocess.Popen(guard, cwd=cwd, env=env, stdin=stdin,
                                         stdout=stdout, stderr=stderr, text=text,
                                         start_new_session=True, preexec_fn=_preexec(old),
                                         pass_fds=(status,))
            _LIVE[self.proc.pid] = self
        except BaseException:
            os.close(ready)
            raise
        finally:
            os.close(status)
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        try:  # the guard says whether the command started ("" or "errno strerror")
            with os.fdopen(ready, "rb") as f:
                started = f.read().decode(errors="replace")
        except BaseException:
            self.stop()
            raise
        if started:
            self.stop()
            code, _, why = started.partition(" ")
            raise OSError(int(code) if code.isdigit() else 0, why, self.cmd[0])

    @property
    def pid(self) -> int:
        """The guard's pid, which is also the session and process group id of the child
        (the command is the guard's only child)."""
        return self.proc.pid

    @property
    def command_pid(self) -> int | None:
        """The command's own pid (the guard's only child), read from ``/proc`` while it
        runs; None once it has exited or where there is no ``/proc``."""
        for pid in session_members(self.pid):
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    fields = f.read().rpartition(b")")[2].split()
            except OSError:
                continue
            if len(fields) > 1 and int(fields[1]) == self.pid:
                return pid
        return None

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


#: The guard every command runs under (``python -I -S -c _GUARD STATUS_FD PARENT GRACE
#: CMD...``), the leader of the command's session: it starts CMD (writing nothing to
#: STATUS_FD on success, "errno strerror" when it cannot be started), waits for it, and
#: exits as it did (its status, or the same signal).  On SIGTERM, SIGINT or SIGHUP (the
#: parent-death signal among them), or when its parent is no longer PARENT, it ends every
#: other member of the session: TERM and CONT, then KILL after GRACE seconds.  Should the
#: guard itself be killed outright (SIGKILL by pid), the command gets SIGTERM from the
#: kernel (its own parent-death signal, Linux): it is not left running under init.
_GUARD = r"""
import os, signal, sys, time
fd, parent, grace, cmd = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
me = os.getpid()
class End(BaseException):
    pass
def on_signal(signum, frame):
    raise End
def on_alarm(signum, frame):
    if os.getppid() != parent:
        raise End
def members():
    out = []
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if name.isdigit() and int(name) != me:
            try:
                with open("/proc/%s/stat" % name, "rb") as f:
                    fields = f.read().rpartition(b")")[2].split()
            except OSError:
                continue
            if len(fields) > 3 and fields[0] not in (b"Z", b"X") and int(fields[3]) == me:
                out.append(int(name))
    return out
def send(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
def reap(child):
    if child:
        try:
            os.waitpid(child, os.WNOHANG)
        except OSError:
            pass
def end_session(child):
    for sig in (signal.SIGTERM, signal.SIGCONT):
        try:
            os.killpg(me, sig)  # the group: this guard ignores them from now on
        except OSError:
            pass
        send(members(), sig)
    end = time.monotonic() + grace
    while time.monotonic() < end:
        reap(child)
        if not members():
            break
        time.sleep(0.05)
    for _ in range(50):
        left = members()
        if not left:
            break
        send(left, signal.SIGKILL)
        reap(child)
        time.sleep(0.02)
ENDS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
try:
    import ctypes
    prctl = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None
except (ImportError, OSError, AttributeError):
    prctl = None
for sig in ENDS:
    signal.signal(sig, on_signal)
child = None
try:
    r, w = os.pipe()  # close-on-exec: EOF when the command started
    signal.pthread_sigmask(signal.SIG_BLOCK, ENDS)
    child = os.fork()
    if child == 0:
        try:
            os.close(r)
            os.close(fd)
            for sig in ENDS + (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores SIGPIPE
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, ENDS)
            if prctl is not None:  # SIGTERM to the command if this guard is killed outright
                prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
                if os.getppid() != me:
                    os._exit(127)
            os.execvp(cmd[0], cmd)
        except OSError as exc:
            os.write(w, ("%d %s" % (exc.errno or 0, exc.strerror or exc)).encode())
        finally:
            os._exit(127)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, ENDS)
    os.close(w)
    failed = os.read(r, 512)
    os.close(r)
    if failed:
        os.write(fd, failed)
        os.waitpid(child, 0)
        os._exit(127)
    os.close(fd)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.5, 0.5)
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    signal.setitimer(signal.ITIMER_REAL, 0)
except End:
    for sig in ENDS + (signal.SIGALRM,):
        signal.signal(sig, signal.SIG_IGN)
    end_session(child)
    os._exit(143)
if code < 0:
    if -code not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(-code, signal.SIG_DFL)
    os.kill(me, -code)
    time.sleep(1)
os._exit(code & 0xFF)
"""

_PR_SET_PDEATHSIG = 1


def _libc():
    """The C library (for ``prctl``), or None where it cannot be loaded (not Linux).

    It is the process's own global symbols (``dlopen(NULL)``), never
    ``ctypes.util.find_library``: that runs ``ldconfig -p`` in a child, at import time,
    before the program has installed its signal handlers.  A SIGTERM in that window killed
    the program outright instead of ending it with status 143, and the forked child looked
    like the program itself in ``/proc`` until its exec (the flaky orphans test)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
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
