"""Progress of long work: the steps of a command, and counted work with an ETA.

Every stage that takes time reports through a callable ``progress(msg)`` (the backends and
the pipeline receive one and know nothing else); a ``Progress`` is such a callable.  Each
call announces a step: the one before it has ended.  ``Progress.counted(what, total)``
wraps work of a known size (calibration's measurements): each ``start(msg)`` begins the
next item, and the display shows the count, the elapsed time and an estimate of the time
left (from the items done so far).

Two renderings, chosen once per ``Progress``:

* plain lines (whenever the stream is not a terminal: pipes, files, CI logs, tests):
  ``  .. msg`` per step and ``  .. [i/N, 1m02s elapsed, ETA 4m10s] msg`` per counted
  item, written and flushed at once, so a log shows how far a run got;
* rich (when the stream is a terminal, or ``fancy=True``): one live line with a spinner,
  the current step and its elapsed time (a compile, a Verilator build, yosys/nextpnr, an
  mpirun job), with a bar, ``i/N`` and the ETA for counted work; each finished step
  stays on the screen as ``  ✓ msg (1.2 s)``.

Work whose size is not known in advance but which reports as it goes (the blades of an
mpirun job, through their heartbeat files) gets a ``ticker(progress, what)``: a
``tick(seconds, supersteps)`` callable that shows the elapsed time and the supersteps
done -- in the rich display's current step, or as a plain line
``  .. blades running: 1m10s elapsed, 52 supersteps done`` every ``period()`` seconds
(``$COSYNTH_PROGRESS_PERIOD``, default 10; 0 prints every tick, which the tests use).

Invariants: nothing is written before the first step, and after ``close()`` (also run
by ``with Progress(...)``) the terminal holds no live display, so the command's report
prints below it; ``note(msg)`` prints a line that is not a step (a notice) in both modes.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, ProgressColumn, SpinnerColumn, TextColumn
from rich.progress import Progress as RichProgress
from rich.text import Text

from .tables import is_terminal

__all__ = ["Progress", "Counter", "Ticker", "duration", "counted", "ticker", "period",
           "PERIOD_ENV"]

#: the environment variable that sets the plain rendering's seconds between status lines
PERIOD_ENV = "COSYNTH_PROGRESS_PERIOD"
DEFAULT_PERIOD = 10.0


def period() -> float:
    """Seconds between the plain status lines of a running job: ``$COSYNTH_PROGRESS_PERIOD``
    when it is a number >= 0, else 10."""
    try:
        value = float(os.environ.get(PERIOD_ENV, ""))
    except ValueError:
        return DEFAULT_PERIOD
    return value if value >= 0 else DEFAULT_PERIOD


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``: a short, stable rendering of a time span."""
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class Counter:
    """Counted work inside a ``Progress``: ``start(msg)`` begins the next of ``total``
    items.  ``eta()`` is the average time of the items done so far times those left
    (None before the first has finished)."""

    def __init__(self, owner: Progress, what: str, total: int, clock=time.monotonic):
        self.owner, self.what, self.total = owner, what, max(0, int(total))
        self.clock = clock
        self.t0 = clock()
        self.started = 0  # items begun; the ones before the current one are done

    @property
    def done(self) -> int:
        return max(0, self.started - 1)

    def elapsed(self) -> float:
        return self.clock() - self.t0

    def eta(self) -> float | None:
        if self.done == 0:
            return None
        return self.elapsed() / self.done * max(0, self.total - self.done)

    def start(self, msg: str) -> None:
        self.started += 1
        self.owner._item(self, msg)

    def label(self) -> str:
        """``3/63, 1m02s elapsed, ETA 4m10s`` (the plain rendering's bracket)."""
        eta = self.eta()
        return (f"{min(self.started, self.total)}/{self.total}, "
                f"{duration(self.elapsed())} elapsed"
                + (f", ETA {duration(eta)}" if eta is not None else ""))


def supersteps_text(done: dict[int, int], blades: int) -> str:
    """``52 supersteps done`` (every blade at the same count), ``50-52 supersteps done``
    (the slowest and the fastest), with ``, 1/2 blades started`` while some blade has not
    reported yet; ``starting`` before any has."""
    if not done:
        return "starting"
    low, high = min(done.values()), max(done.values())
    count = str(low) if low == high else f"{low}-{high}"
    text = f"{count} superstep{'s' * (high != 1)} done"
    if len(done) < blades:
        text += f", {len(done)}/{blades} blades started"
    return text


class Ticker:
    """A running job's status: ``tick(seconds, supersteps)`` (rank -> supersteps done)
    shows ``what: <elapsed> elapsed, <supersteps>``; see the module's docstring.  On a
    plain stream a line is written at the first tick at or after each multiple of
    ``period`` seconds (every tick when ``period`` is 0)."""

    def __init__(self, progress, what: str, blades: int, period_s: float | None = None):
        self.progress, self.what, self.blades = progress, what, blades
        self.period = period() if period_s is None else period_s
        self.next_at = self.period if self.period > 0 else 0.0
        self.lines = 0

    def text(self, seconds: float, done: dict[int, int]) -> str:
        return f"{self.what}: {duration(seconds)} elapsed, " \
            f"{supersteps_text(done, self.blades)}"

    def __call__(self, seconds: float, done: dict[int, int]) -> None:
        if isinstance(self.progress, Progress) and self.progress.fancy:
            self.progress.status(supersteps_text(done, self.blades))  # the step says what
            return
        if seconds < self.next_at:
            return
        if self.period > 0:
            self.next_at = (int(seconds // self.period) + 1) * self.period
        self.lines += 1
        text = self.text(seconds, done)
        if isinstance(self.progress, Progress):
            self.progress._line(f".. {text}")
        elif self.progress is not None:
            self.progress(text)


def ticker(progress, what: str, blades: int) -> Ticker:
    """The ``tick(seconds, supersteps)`` of a running job on any ``progress(msg)``
    callable (a plain callable gets each status line as one message)."""
    return Ticker(progress, what, blades)


class _Counts(ProgressColumn):
    """``i/N`` for counted work, nothing for a step."""

    def render(self, task) -> Text:
        if task.total is None:
            return Text("")
        return Text(f"{int(task.completed)}/{int(task.total)}", style="progress.download")


class _Eta(ProgressColumn):
    """``ETA 4m10s`` for counted work once an item has finished."""

    def render(self, task) -> Text:
        c = task.fields.get("counter")
        eta = c.eta() if c is not None else None
        return Text("" if eta is None else f"ETA {duration(eta)}", style="progress.remaining")


class _Elapsed(ProgressColumn):
    def render(self, task) -> Text:
        return Text(duration(task.elapsed or 0.0), style="progress.elapsed")


class _Bar(BarColumn):
    """A bar for counted work only (a step has no size)."""

    def render(self, task):
        return Text("") if task.total is None else super().render(task)


class Progress:
    """A ``progress(msg)`` callable writing to ``stream`` (default: stdout); rich when
    ``fancy`` (default: when ``stream`` is a terminal).  ``console`` replaces the rich
    console (tests force a terminal with it)."""

    def __init__(self, stream=None, *, fancy: bool | None = None, console: Console | None
                 = None, indent: str = "  "):
        self.stream = stream if stream is not None else sys.stdout
        self.fancy = (console is not None or is_terminal(self.stream)) if fancy is None \
            else fancy
        self.indent = indent
        self.console = console
        self._live = None  # the rich display, started by the first step
        self._step = None  # (task id, message, start time) of the current step
        self._counter_task = None

    # ------------------------------------------------------------------ the protocol
    def __call__(self, msg: str) -> None:
        self.step(msg)

    def step(self, msg: str) -> None:
        """A new step begins (the current one has ended)."""
        if not self.fancy:
            self._line(f".. {msg}")
            return
        live = self._display()
        self._end_step()
        task = live.add_task(msg, total=None)
        self._step = (task, msg, time.monotonic())
        live.refresh()

    def status(self, text: str) -> None:
        """Live status of the current step (rich only: its description becomes ``step —
        text``; the plain rendering writes status lines through a ``Ticker``)."""
        if not self.fancy or self._step is None or self._live is None:
            return
        task, msg, _t0 = self._step
        self._live.update(task, description=f"{msg} — {text}")
        self._live.refresh()

    def note(self, msg: str) -> None:
        """A notice that is not a step (printed above a live display)."""
        if not self.fancy:
            self._line(msg)
        elif self._live is not None:
            self._live.console.print(Text(self.indent + msg), highlight=False)
        else:
            self._rich_console().print(Text(self.indent + msg), highlight=False)

    @contextmanager
    def counted(self, what: str, total: int):
        """Counted work: yields a ``Counter``; its ``start(msg)`` begins each item."""
        c = Counter(self, what, total)
        if self.fancy:
            live = self._display()
            self._end_step()
            self._counter_task = live.add_task(what, total=c.total, counter=c)
        try:
            yield c
        finally:
            if self.fancy and self._counter_task is not None:
                self._end_step()
                self._live.remove_task(self._counter_task)
                self._counter_task = None
                self._live.refresh()
                self._live.console.print(Text(f"{self.indent}✓ {what}: {c.started}/{c.total} "
                                              f"in {duration(c.elapsed())}"), highlight=False)

    def close(self) -> None:
        """End the display; the last step is shown as finished."""
        if self._live is not None:
            self._end_step()
            self._live.stop()
            self._live = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ rendering
    def _item(self, c: Counter, msg: str) -> None:
        if not self.fancy:
            self._line(f".. [{c.label()}] {msg}")
            return
        self._end_step()
        self._live.update(self._counter_task, completed=c.done,
                          description=f"{c.what}: {msg}")
        self._live.refresh()

    def _line(self, text: str) -> None:
        self.stream.write(f"{self.indent}{text}\n")
        self.stream.flush()

    def _rich_console(self) -> Console:
        if self.console is None:
            self.console = Console(file=self.stream, force_terminal=True, highlight=False)
        return self.console

    def _display(self) -> RichProgress:
        if self._live is None:
            self._live = RichProgress(
                TextColumn(self.indent.rstrip() or ""), SpinnerColumn(),
                TextColumn("{task.description}"), _Bar(bar_width=24), _Counts(),
                _Elapsed(), _Eta(), console=self._rich_console(), transient=True)
            self._live.start()
        return self._live

    def _end_step(self) -> None:
        if self._step is None or self._live is None:
            return
        task, msg, t0 = self._step
        self._step = None
        self._live.remove_task(task)
        self._live.refresh()
        self._live.console.print(Text(f"{self.indent}✓ {msg} ({time.monotonic() - t0:.1f} s)"),
                                 highlight=False)


@contextmanager
def counted(progress, what: str, total: int):
    """Counted work on any ``progress(msg)`` callable: a ``Progress``'s own counter, or,
    for a plain callable (a library caller's, or None), one that prefixes each item with
    ``[i/N, elapsed, ETA]``."""
    if isinstance(progress, Progress):
        with progress.counted(what, total) as c:
            yield c
        return
    say = progress or (lambda msg: None)
    c = Counter(_Forward(say), what, total)
    yield c


class _Forward:
    """The owner of a ``Counter`` on a plain callable: each item is one message."""

    def __init__(self, say):
        self.say = say

    def _item(self, c: Counter, msg: str) -> None:
        self.say(f"[{c.label()}] {msg}")
