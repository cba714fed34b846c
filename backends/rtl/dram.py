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
  order, one word per cycle; writes take effect in command order (a later read sees them);
* ports: ``ports`` native user ports of the one controller (LiteDRAM's crossbar hands
  out several: ``get_port()``), each a command a clock with its own read queue, write
  queue and burst continuation, all spending the channel's one bandwidth credit.  Each
  cycle the ports are served in order 0, 1, ...; every port sees the same ready (the
  credit covers a burst at the cycle's start), so the credit may go below zero by up to
  ``ports - 1`` bursts in a cycle -- a debt the next cycles' credit repays, so the
  long-run rate stays ``bytes_per_clock``.  Ports see each other's writes in the order
  they are served (the host never lets two ports touch one word in a block command:
  each PE writes only its own target intervals, ``multi``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .memport import WORD_BYTES

__all__ = ["DramConfig", "DramModel", "MAX_PORTS"]

#: native user ports a channel model takes (a LiteDRAM crossbar has a handful)
MAX_PORTS = 8


@dataclass(frozen=True)
class DramConfig:
    bytes_per_clock: float
    latency: int  # cycles from a read command to its data
    burst_words: int  # port words in one DRAM burst
    ports: int = 1  # native user ports sharing the channel (``MAX_PORTS`` at most)

    def __post_init__(self):
        if self.bytes_per_clock <= 0 or self.latency < 1 or self.burst_words < 1 or \
                not 1 <= self.ports <= MAX_PORTS:
            raise ValueError(f"impossible memory figures {self}")

    @classmethod
    def from_figures(cls, bandwidth: float, latency_s: float, burst_bytes: float,
                     clock_hz: float, ports: int = 1) -> DramConfig:
        """From bytes/s, seconds and bytes per burst at a unit clock of ``clock_hz``."""
        return cls(bandwidth / clock_hz, max(1, math.ceil(latency_s * clock_hz - 1e-9)),
                   max(1, math.ceil(burst_bytes / WORD_BYTES)), int(ports))

    @property
    def burst_bytes(self) -> int:
        return self.burst_words * WORD_BYTES

    def as_dict(self) -> dict:
        d = {"bytes_per_clock": self.bytes_per_clock, "latency": self.latency,
             "burst_words": self.burst_words}
        if self.ports != 1:  # one port: the dict (and every key made of it) as before
            d["ports"] = self.ports
        return d


class _Port:
    """One native port's own state: its burst continuation and its queues."""

    def __init__(self):
        self.last = -2
        self.reads: deque = deque()  # (cycle the data are due, value)
        self.writes: deque = deque()  # addresses of write commands awaiting their data
        self.words = 0


class DramModel:
    """One memory channel over ``image`` (uint64 words) behind ``cfg.ports`` native
    ports, stepped once per clock.  ``rdata``, ``step`` and ``words`` are port 0's
    (``rdata_of``, ``step_ports``: every port's)."""

    def __init__(self, cfg: DramConfig, image: np.ndarray):
        self.cfg = cfg
        self.image = image
        self.credit = float(cfg.burst_bytes)
        self.ports = [_Port() for _ in range(cfg.ports)]
        self.now = 0
        self.bytes = 0  # bytes the bursts moved (what the bandwidth was spent on)

    @property
    def words(self) -> int:
        """Words every port moved."""
        return sum(p.words for p in self.ports)

    # what the model drives in the coming cycle
    def cmd_ready(self) -> bool:
        return self.credit >= self.cfg.burst_bytes

    def rdata(self):
        """(valid, data) of port 0 for the coming cycle."""
        return self.rdata_of(0)

    def rdata_of(self, k: int):
        """(valid, data) of port ``k`` for the coming cycle."""
        reads = self.ports[k].reads
        if reads and reads[0][0] <= self.now:
            return True, reads[0][1]
        return False, 0

    def step(self, cmd_valid, cmd_we, cmd_addr, wdata_valid, wdata, rdata_ready) -> None:
        """The clock edge of a one-port model, given the port's values just before it."""
        self.step_ports([(cmd_valid, cmd_we, cmd_addr, wdata_valid, wdata, rdata_ready)])

    def step_ports(self, pins) -> None:
        """The clock edge, given every port's (cmd_valid, cmd_we, cmd_addr, wdata_valid,
        wdata, rdata_ready) just before it, port 0 first."""
        cfg = self.cfg
        ready = self.cmd_ready()
        for port, (cmd_valid, cmd_we, cmd_addr, wdata_valid, wdata, rdata_ready) in \
                zip(self.ports, pins):
            if cmd_valid and ready:
                a = int(cmd_addr)
                if not (a == port.last + 1 and a % cfg.burst_words):
                    self.credit -= cfg.burst_bytes
                    self.bytes += cfg.burst_bytes
                port.last = a
                port.words += 1
                if a >= self.image.size:
                    raise IndexError(f"memory access at word {a} beyond {self.image.size}")
                if cmd_we:
                    port.writes.append(a)
                else:
                    port.reads.append((self.now + cfg.latency, int(self.image[a])))
            if wdata_valid:  # wdata.ready is always 1
                if not port.writes:
                    raise RuntimeError("write data ahead of its command")
                self.image[port.writes.popleft()] = np.uint64(int(wdata) & ((1 << 64) - 1))
            if port.reads and port.reads[0][0] <= self.now and rdata_ready:
                port.reads.popleft()
        self.now += 1
        self.credit = min(self.credit + cfg.bytes_per_clock,
                          2.0 * max(cfg.burst_bytes, cfg.bytes_per_clock))
