"""Waveform files of an edge unit: the one fix-up both simulators' VCD files need, and
cutting one stretch of time out of a long waveform.

Amaranth names a signal it could not name after a Python variable ``$signal$N``, and the
Verilog it emits through yosys keeps yosys's internal wires (``$1``, ``$auto$...``), which
Verilator's ``--trace`` dumps under those names.  A VCD identifier must not start with
``$`` (it reads as a keyword: pyvcd rejects the file, some viewers skip the rest of the
header), so ``legal_names`` renames them ``_signal$N``, ``_1``, ``_auto$...``: the same
name with ``_`` for the leading ``$``; nothing else in the file changes.

``window(src, dst, t0, t1)`` writes the part of ``src`` from time ``t0`` to ``t1`` as a VCD
file of its own: the same header, then at ``t0`` a ``$dumpvars`` block with every
signal's value at that time (the last change at or before it), then the changes after
``t0`` up to and including ``t1``.  Times keep their values (a viewer shows the stretch
where it was in the whole run).  It reads ``src`` once, line by line, keeping only the
current value of each signal.

Which call a failing check points at
    When the result of a run on a unit disagrees with the interpreter, the run is made
    again with the waveform on and with a log of the unit's calls (``CallLog`` around a
    Python-driven device; ``UnitHost::watch`` in ``runtime/cosynth_host.hpp`` for the
    blade programs' Verilator models): the cycle each call began at, the cycle the
    waveform starts at, and the last call that changed the first wrong vertex's entry
    (its read-back value differed from what the unit held) or, failing that, read it
    back.  ``failing_call`` chooses, in this order, the reason going into the message:

    1. the last call that *changed* the wrong vertex's entry, on the blade that owns the
       vertex, else on the lowest-numbered unit blade where one did (a remote update);
    2. else the last call that read it back without a change (a lost update);
    3. else the last call of the owning blade (or the lowest-numbered one): no call
       reached the vertex, so the unit's last state is shown.

    It is a pointer for a human with a wave viewer, not a proof of blame: a value can go
    wrong in one call and be carried by later ones.  ``cut`` writes the call's stretch as
    ``fail-call<N>.vcd``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass

import numpy as np

__all__ = ["legal_names", "window", "first_wrong", "CallLog", "FailingCall", "failing_call",
           "read_logs", "cut", "units_per_cycle", "VERILATOR_UNITS_PER_CYCLE",
           "AMARANTH_PERIOD_S"]

#: time units per unit cycle in the Verilator waveforms: cosynth_unit.hpp dumps each
#: cycle at 10 x its number (inputs) and + 5 (the rising edge), whatever the timescale
VERILATOR_UNITS_PER_CYCLE = 10
#: the clock period of the unit in Amaranth's simulator (``sim.AmaranthDevice``: 100 MHz)
AMARANTH_PERIOD_S = 1e-8

_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "fs": 1e-15}
_TIMESCALE = re.compile(rb"\$timescale\s*(\d+)\s*(s|ms|us|ns|ps|fs)\s*\$end")


def units_per_cycle(path: str, period_s: float) -> int:
    """How many time units of the VCD file ``path`` (its ``$timescale``) one clock period
    of ``period_s`` seconds spans (Amaranth writes ``1 fs``: 10 ns is 10**7 units)."""
    with open(path, "rb") as f:
        head = b""
        for line in f:
            head += line
            if b"$enddefinitions" in line:
                break
    m = _TIMESCALE.search(b" ".join(head.split()))
    if m is None:
        raise ValueError(f"{path}: no $timescale in the header")
    unit = int(m.group(1)) * _UNITS[m.group(2).decode()]
    return round(period_s / unit)

_VAR = re.compile(rb"^(\s*\$var\s+\S+\s+\d+\s+\S+\s+)\$")


def legal_names(path: str) -> None:
    """Rewrite the header of the VCD file ``path`` in place (atomically: a temporary file
    renamed over it), the value changes copied unread."""
    tmp = path + ".tmp"
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            for line in src:
                dst.write(_VAR.sub(rb"\1_", line))
                if line.lstrip().startswith(b"$enddefinitions"):
                    shutil.copyfileobj(src, dst)
                    break
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def window(src: str, dst: str, t0: int, t1: int) -> None:
    """Write the stretch [t0, t1] of the VCD file ``src`` to ``dst`` (see the module's
    docstring); ``dst`` is written to a temporary file and renamed."""
    if t1 < t0:
        raise ValueError(f"an empty window: {t0} to {t1}")
    tmp = dst + ".tmp"
    try:
        with open(src, "rb") as f, open(tmp, "wb") as out:
            for line in f:  # the header, as it is
                out.write(line)
                if line.lstrip().startswith(b"$enddefinitions"):
                    break
            values: dict[bytes, bytes] = {}  # identifier -> its last change line
            opened = False  # the dump at t0 is written once a later time begins
            for line in f:
                text = line.strip()
                if not text or text.startswith(b"$"):
                    continue  # $dumpvars, $end, $comment ...: markers only
                if text.startswith(b"#"):
                    now = int(text[1:])
                    if now > t0 and not opened:
                        _open(out, t0, values)
                        opened = True
                    if now > t1:
                        break
                    if opened:
                        out.write(text + b"\n")
                elif opened:
                    out.write(text + b"\n")
                else:
                    values[_ident(text)] = text
            if not opened:
                _open(out, t0, values)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _open(out, t0: int, values: dict[bytes, bytes]) -> None:
    """The window's first time: every signal's value then."""
    out.write(b"#%d\n$dumpvars\n" % t0)
    for text in values.values():
        out.write(text + b"\n")
    out.write(b"$end\n")


def _ident(change: bytes) -> bytes:
    """The identifier a value change line sets: ``b0101 !`` and ``r1.5 !`` name it after
    the space, a scalar change ``1!`` after its first character."""
    if change[:1] in (b"b", b"B", b"r", b"R"):
        return change.split(None, 1)[1]
    return change[1:]


def first_wrong(names: list[str], got: tuple, want: tuple, rtol: float = 0.0,
                atol: float = 0.0) -> tuple[str, int | None] | None:
    """(name, vertex) of the first differing entry of the first result that differs, in
    the results' order; the vertex is None for a scalar result; None when all agree."""
    for name, a, b in zip(names, got, want):
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 0 or a.shape != b.shape:
            same = a.shape == b.shape and bool(_close(a, b, rtol, atol))
            if not same:
                return name, None
            continue
        bad = np.flatnonzero(~_close(a, b, rtol, atol))
        if bad.size:
            return name, int(bad[0])
    return None


def _close(a, b, rtol: float, atol: float):
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return np.isclose(a.astype(float), b.astype(float), rtol=rtol, atol=atol,
                          equal_nan=True)
    return a == b


class CallLog:
    """A device wrapper (the ``write_regs``/``read_regs``/``load``/``readback``/``run``
    protocol, around a device with a ``cycles`` count) that logs the unit's calls and
    which last changed or read back entry ``watch`` of any memory, like ``UnitHost::watch``
    of the C++ host: ``log()`` has the shape of its ``calls.json``."""

    def __init__(self, dev, watch: int | None):
        self.dev, self.watch = dev, watch
        self.starts: list[int] = []
        self.last_write = self.last_touch = 0
        self._ran, self._read = True, False
        self._held: dict[tuple[int, int], int] = {}  # (mem, addr) -> the value it holds

    def _begin(self, after_run: bool = True) -> None:
        """A call is parameters, loads, runs, read-backs (``backends.rtl.host``): a write
        or a load after a run or a read-back begins the next, and so does a run after a
        read-back (a call that had nothing to write or load); ``runtime/unit_tb.cpp``
        numbers the calls of a replayed trace the same way."""
        if (after_run and self._ran) or self._read:
            self._ran = self._read = False
            self.starts.append(int(self.dev.cycles))

    def write_regs(self, pairs) -> None:
        self._begin()
        self.dev.write_regs(pairs)

    def read_regs(self, addrs):
        return self.dev.read_regs(addrs)

    def load(self, mems, addrs, values) -> None:
        self._begin()
        self.dev.load(mems, addrs, values)
        for m, a, v in zip(np.asarray(mems).tolist(), np.asarray(addrs).tolist(),
                           np.asarray(values).tolist()):
            self._held[(m, a)] = int(v)

    def readback(self, mems, addrs):
        out = self.dev.readback(mems, addrs)
        self._read = True
        for m, a, v in zip(np.asarray(mems).tolist(), np.asarray(addrs).tolist(), out):
            if a == self.watch:
                self.last_touch = len(self.starts)
                if self._held.get((m, a)) != int(v):
                    self.last_write = self.last_touch
            self._held[(m, a)] = int(v)
        return out

    def run(self, rule, src, dst, weight=None):
        self._begin(after_run=False)
        self._ran = True
        return self.dev.run(rule, src, dst, weight)

    def log(self) -> dict:
        return {"origin": 0, "end": int(self.dev.cycles), "starts": list(self.starts),
                "last_write": self.last_write, "last_touch": self.last_touch}


@dataclass(frozen=True)
class FailingCall:
    blade: int
    call: int  # numbered from 1 on its blade
    calls: int  # how many calls the blade made
    why: str
    t0: int  # the stretch of the blade's waveform (its time units)
    t1: int


def failing_call(logs: dict[int, dict], owner: int | None, what: str,
                 per_cycle: int = VERILATOR_UNITS_PER_CYCLE) -> FailingCall | None:
    """The call to show (the module's docstring): ``logs`` are the unit blades' call logs
    by rank, ``owner`` the rank owning the wrong vertex (None: a scalar), ``what`` names
    the entry (``d[5]``), ``per_cycle`` the waveform's time units per cycle.  None when no
    blade made a call."""
    ranks = sorted(r for r in logs if logs[r].get("starts"))
    if not ranks:
        return None
    order = ([owner] if owner in ranks else []) + [r for r in ranks if r != owner]
    for key, why in (("last_write", f"the last unit call that changed {what}"),
                     ("last_touch", f"the last unit call that read back {what} "
                                    "(its value did not change)")):
        for r in order:
            if logs[r].get(key, 0) > 0:
                return _window(r, logs[r], int(logs[r][key]), why, per_cycle)
    r = order[0]
    return _window(r, logs[r], len(logs[r]["starts"]),
                   f"no unit call reached {what}: the blade's last call", per_cycle)


def _window(rank: int, log: dict, call: int, why: str, per_cycle: int) -> FailingCall:
    starts, origin = log["starts"], int(log["origin"])
    begin = int(starts[call - 1])
    end = int(starts[call]) if call < len(starts) else int(log["end"])
    t0 = per_cycle * (begin - origin)
    t1 = max(t0, per_cycle * (end - origin) - 1)  # up to the next call's first cycle
    return FailingCall(rank, call, len(starts), why, t0, t1)


def read_logs(folder: str, ranks: list[int]) -> dict[int, dict]:
    """The ``unit.rank<r>.calls.json`` files the traced run left (missing ones skipped)."""
    out = {}
    for r in ranks:
        try:
            with open(os.path.join(folder, f"unit.rank{r}.calls.json")) as f:
                out[r] = json.load(f)
        except (OSError, ValueError):
            continue
    return out


def cut(src: str, fc: FailingCall, dest_dir: str) -> str:
    """Write the failing call's stretch of the waveform ``src`` to
    ``dest_dir/fail-call<N>.vcd`` (signal names made legal); returns its path."""
    dest = os.path.join(dest_dir, f"fail-call{fc.call}.vcd")
    window(src, dest, fc.t0, fc.t1)
    legal_names(dest)
    return dest
