"""The external-memory model of the co-simulation: bandwidth, latency and bursts.

``DramConfig`` holds the three figures in clock cycles of the unit (``from_figures``
converts a manifest's ``memory`` section: bytes per second, seconds, bytes per burst, at
the unit's clock).  ``DramModel`` is the cycle behaviour, the same in the Amaranth
co-simulation (``interval_sim``) and in the Verilator one (``runtime/cosynth_dram.hpp``,
which follows this code line by line):

* bandwidth: a credit of ``bytes_per_clock`` accrues every cycle (capped at two bursts);
  a command is accepted only while the credit covers a whole burst;
* bursts: an access to the word after the previous one, inside the same aligned burst of
  ``burst_words`` words, costs nothing more (the burst was paid for); any other access
  opens a burst and pays ``burst_words`` x 8 bytes -- so random accesses waste the rest
  of their burst, as a DRAM does;
* latency: a read's data come back ``latency`` cycles after its command, in command
  order, one word per cycle; writes take effect in command order (a later read sees them).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .memport import WORD_BYTES

__all__ = ["DramConfig", "DramModel"]


@dataclass(frozen=True)
class DramConfig:
    bytes_per_clock: float
    latency: int  # cycles from a read command to its data
    burst_words: int  # port words in one DRAM burst

    def __post_init__(self):
        if self.bytes_per_clock <= 0 or self.latency < 1 or self.burst_words < 1:
            raise ValueError(f"impossible memory figures {self}")

    @classmethod
    def from_figures(cls, bandwidth: float, latency_s: float, burst_bytes: float,
                     clock_hz: float) -> DramConfig:
        """From bytes/s, seconds and bytes per burst at a unit clock of ``clock_hz``."""
        return cls(bandwidth / clock_hz, max(1, math.ceil(latency_s * clock_hz - 1e-9)),
                   max(1, math.ceil(burst_bytes / WORD_BYTES)))

    @property
    def burst_bytes(self) -> int:
        return self.burst_words * WORD_BYTES

    def as_dict(self) -> dict:
        return {"bytes_per_clock": self.bytes_per_clock, "latency": self.latency,
                "burst_words": self.burst_words}


class DramModel:
    """One memory channel over ``image`` (uint64 words), stepped once per clock."""

    def __init__(self, cfg: DramConfig, image: np.ndarray):
        self.cfg = cfg
        self.image = image
        self.credit = float(cfg.burst_bytes)
        self.last = -2
        self.reads: deque = deque()  # (cycle the data are due, value)
        self.writes: deque = deque()  # addresses of write commands awaiting their data
        self.now = 0
        self.bytes = 0  # bytes the bursts moved (what the bandwidth was spent on)
        self.words = 0  # words the port moved

    # what the model drives in the coming cycle
    def cmd_ready(self) -> bool:
        return self.credit >= self.cfg.burst_bytes

    def rdata(self):
        """(valid, data) for the coming cycle."""
        if self.reads and self.reads[0][0] <= self.now:
            return True, self.reads[0][1]
        return False, 0

    def step(self, cmd_valid, cmd_we, cmd_addr, wdata_valid, wdata, rdata_ready) -> None:
        """The clock edge, given the port's values just before it."""
        cfg = self.cfg
        if cmd_valid and self.cmd_ready():
            a = int(cmd_addr)
            if not (a == self.last + 1 and a % cfg.burst_words):
                self.credit -= cfg.burst_bytes
                self.bytes += cfg.burst_bytes
            self.last = a
            self.words += 1
            if a >= self.image.size:
                raise IndexError(f"memory access at word {a} beyond {self.image.size}")
            if cmd_we:
                self.writes.append(a)
            else:
                self.reads.append((self.now + cfg.latency, int(self.image[a])))
        if wdata_valid:  # wdata.ready is always 1
            if not self.writes:
                raise RuntimeError("write data ahead of its command")
            self.image[self.writes.popleft()] = np.uint64(int(wdata) & ((1 << 64) - 1))
        if self.reads and self.reads[0][0] <= self.now and rdata_ready:
            self.reads.popleft()
        self.now += 1
        self.credit = min(self.credit + cfg.bytes_per_clock,
                          2.0 * max(cfg.burst_bytes, cfg.bytes_per_clock))
