"""Device transaction traces: record what a host did to a unit and what it answered, and
replay it against another model of the same Verilog (the test bench of ``cosynth rtl``).

Format (text, one command per line, integers in decimal, register values as unsigned
64-bit, memory values signed)::

    # comment
    W addr value                      register write
    R addr expected                   register read
    L count                           load: count lines "mem addr value" follow
    B count                           readback: count lines "mem addr expected" follow
    X rule count done changed cycles edges updates hazards stalls
                                      a run: count lines "src dst [weight]" follow

The replaying test bench (``runtime/unit_tb.cpp``) drives the Verilator model exactly as
``sim.AmaranthDevice`` drives Amaranth's simulator (the start, then one edge per cycle),
so every expected figure, cycle counts included, must match.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RecordingDevice"]

_MASK = (1 << 64) - 1


class RecordingDevice:
    """Wraps a device and records every command with its answer."""

    def __init__(self, dev, header: str = ""):
        self.dev = dev
        self.lines: list[str] = [f"# {h}" for h in header.splitlines() if h]

    def write_regs(self, pairs) -> None:
        pairs = [(int(a), int(v) & _MASK) for a, v in pairs]
        self.dev.write_regs(pairs)
        self.lines += [f"W {a} {v}" for a, v in pairs]

    def read_regs(self, addrs) -> list[int]:
        out = self.dev.read_regs(addrs)
        self.lines += [f"R {int(a)} {int(v) & _MASK}" for a, v in zip(addrs, out)]
        return out

    def load(self, mems, addrs, values) -> None:
        self.dev.load(mems, addrs, values)
        mems, addrs, values = (np.asarray(x).tolist() for x in (mems, addrs, values))
        self.lines.append(f"L {len(mems)}")
        self.lines += [f"{m} {a} {int(v)}" for m, a, v in zip(mems, addrs, values)]

    def readback(self, mems, addrs) -> list[int]:
        out = self.dev.readback(mems, addrs)
        mems, addrs = np.asarray(mems).tolist(), np.asarray(addrs).tolist()
        self.lines.append(f"B {len(mems)}")
        self.lines += [f"{m} {a} {int(v)}" for m, a, v in zip(mems, addrs, out)]
        return out

    def run(self, rule, src, dst, weight=None) -> dict:
        res = self.dev.run(rule, src, dst, weight)
        src, dst = np.asarray(src).tolist(), np.asarray(dst).tolist()
        w = None if weight is None else np.asarray(weight).tolist()
        self.lines.append(f"X {rule} {len(src)} {int(res['done'])} {int(res['changed'])} "
                          f"{res['cycles']} {res['edges']} {res['updates']} {res['hazards']} "
                          f"{res['stalls']}")
        if w is None:
            self.lines += [f"{s} {d}" for s, d in zip(src, dst)]
        else:
            self.lines += [f"{s} {d} {x}" for s, d, x in zip(src, dst, w)]
        return res

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
