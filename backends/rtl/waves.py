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
"""

from __future__ import annotations

import os
import re
import shutil

__all__ = ["legal_names", "window"]

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
