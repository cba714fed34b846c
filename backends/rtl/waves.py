"""Waveform files of an edge unit: the one fix-up both simulators' VCD files need.

Amaranth names a signal it could not name after a Python variable ``$signal$N``, and the
Verilog it emits through yosys keeps yosys's internal wires (``$1``, ``$auto$...``), which
Verilator's ``--trace`` dumps under those names.  A VCD identifier must not start with
``$`` (it reads as a keyword: pyvcd rejects the file, some viewers skip the rest of the
header), so ``legal_names`` renames them ``_signal$N``, ``_1``, ``_auto$...``: the same
name with ``_`` for the leading ``$``; nothing else in the file changes.
"""

from __future__ import annotations

import os
import re
import shutil

__all__ = ["legal_names"]

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
