"""Which FPGA unit call a failing check points at, and its waveform.

When the blades' result disagrees with the interpreter (or the reference) on a run whose
loops went to FPGA units, the pipeline runs the same build once more with the units'
waveforms on (Verilator ``--trace``) and with every FPGA blade watching the table entry
of the first wrong vertex (``backends/rtl/runtime/cosynth_host.hpp``: ``UnitHost::watch``).
Each FPGA blade then leaves ``unit.rank<r>.vcd`` and ``unit.rank<r>.calls.json``: the
device cycle each of its unit calls began at, the cycle the waveform starts at, and the
last call that changed the watched entry (or, failing that, streamed an edge to it).

``failing_call`` chooses the call from those logs, in this order (the reason goes into
the error message):

1. the last call that *changed* the wrong vertex's entry, on the blade that owns the
   vertex, else on the lowest-numbered FPGA blade where one did (a remote update);
2. else the last call that streamed an edge to it without changing it (a lost update);
3. else the last call of the owning FPGA blade (or of the lowest-numbered one): no call
   reached the vertex, so the last state of the unit is shown.

It is a pointer for a human with a wave viewer, not a proof of blame: a value can go
wrong in one call and be carried by later ones.  ``cut`` writes that call's stretch of the
waveform as ``fail-call<N>.vcd`` (``backends.rtl.waves.window``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from cosynth.backends.rtl.waves import legal_names, window

__all__ = ["first_wrong", "FailingCall", "failing_call", "cut", "PS_PER_CYCLE"]

#: the unit waveform's time step: 10 ns per cycle in ps units (cosynth_unit.hpp's dumps)
PS_PER_CYCLE = 10


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


@dataclass(frozen=True)
class FailingCall:
    blade: int
    call: int  # numbered from 1 on its blade
    calls: int  # how many calls the blade made
    why: str
    t0: int  # the stretch of the blade's waveform (ps)
    t1: int


def failing_call(logs: dict[int, dict], owner: int | None, what: str) -> FailingCall | None:
    """The call to show (the module's docstring): ``logs`` are the FPGA blades'
    ``calls.json`` by rank, ``owner`` the rank owning the wrong vertex (None: a scalar),
    ``what`` names the entry (``d[5]``).  None when no blade made a call."""
    ranks = sorted(r for r in logs if logs[r].get("starts"))
    if not ranks:
        return None
    order = ([owner] if owner in ranks else []) + [r for r in ranks if r != owner]
    for key, why in (("last_write", f"the last unit call that changed {what}"),
                     ("last_touch", f"the last unit call that streamed an edge to {what} "
                                    "(its value did not change)")):
        for r in order:
            if logs[r].get(key, 0) > 0:
                return _window(r, logs[r], int(logs[r][key]), why)
    r = order[0]
    return _window(r, logs[r], len(logs[r]["starts"]),
                   f"no unit call reached {what}: the blade's last call")


def _window(rank: int, log: dict, call: int, why: str) -> FailingCall:
    starts, origin = log["starts"], int(log["origin"])
    begin = int(starts[call - 1])
    end = int(starts[call]) if call < len(starts) else int(log["end"])
    t0 = PS_PER_CYCLE * (begin - origin)
    t1 = max(t0, PS_PER_CYCLE * (end - origin) - 1)  # up to the next call's first cycle
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


def cut(folder: str, fc: FailingCall, dest_dir: str) -> str:
    """Write the failing call's stretch of blade ``fc.blade``'s waveform in ``folder`` to
    ``dest_dir/fail-call<N>.vcd`` (signal names made legal); returns its path."""
    dest = os.path.join(dest_dir, f"fail-call{fc.call}.vcd")
    window(os.path.join(folder, f"unit.rank{fc.blade}.vcd"), dest, fc.t0, fc.t1)
    legal_names(dest)
    return dest
