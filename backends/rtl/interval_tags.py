"""The interval engine's read-tag queue: a FIFO whose head is a register.

The engine tags every read it issues (``interval``: 0 an edge or window word for the read
FIFO, 1 a gathered entry, 2 a gather-map word) and the port answers in command order, so
the tag at the queue's head says where the next answer goes.  With ``fifo.SyncFIFO`` the
head was the LUT-RAM's asynchronous read at the read pointer, and its decode chose the
write enables of the read FIFOs and of the gather map's memory: read pointer -> LUT-RAM ->
``mem.rdata.valid``'s AND -> the map memory's write port was the P = 1 critical path
after the command queue came in (seed 1, 11.1 ns, 89.98 MHz on ECP5-85F).

``TagQueue(width, depth)`` has ``SyncFIFO``'s interface (``w_en``, ``w_data``, ``w_rdy``,
``r_en``, ``r_data``, ``r_rdy``) but ``r_data`` and ``r_rdy`` are registers: the head
(``head``/``have``) is loaded from the LUT-RAM queue behind it when the head is popped,
or straight from ``w_data`` when the queue behind it is empty.  A tag written at a clock
edge is at the head after that edge -- the same cycle ``SyncFIFO`` would show it (an
answer may come the cycle after its command: the memory model's latency is >= 1) -- so
the engine sees the same tags in the same cycles; only the path is shorter (a register
and a gate in front of the write enables).  ``SyncFIFOBuffered`` would register the head
too, but shows a tag only two edges after it was written.

Invariant: the head is empty only when the queue behind it is (``have == 0`` ->
``inner.level == 0``), so entries leave in the order they came: a write goes to the head
only when nothing is queued before it.
"""

from __future__ import annotations

from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib import fifo

__all__ = ["TagQueue"]


class TagQueue(Elaboratable):
    def __init__(self, *, width: int, depth: int):
        if depth < 2:
            raise ValueError(f"a tag queue of depth {depth} (>= 2: the head and one behind)")
        self.width, self.depth = width, depth
        self.w_en, self.w_data, self.w_rdy = Signal(), Signal(width), Signal()
        self.r_en, self.r_data, self.r_rdy = Signal(), Signal(width), Signal()
        self.level = Signal(range(depth + 1))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = q = fifo.SyncFIFO(width=self.width, depth=self.depth - 1)
        have = self.r_rdy  # the head holds an entry (a register)
        pop = Signal()
        direct = Signal()  # a write goes straight to the head
        m.d.comb += [pop.eq(self.r_en & have),
                     direct.eq(~q.r_rdy & (~have | pop)),
                     self.w_rdy.eq(direct | q.w_rdy),
                     q.w_en.eq(self.w_en & ~direct), q.w_data.eq(self.w_data),
                     q.r_en.eq(pop),
                     self.level.eq(q.level + have)]
        with m.If(self.w_en & direct):
            m.d.sync += [self.r_data.eq(self.w_data), have.eq(1)]
        with m.Elif(pop):
            with m.If(q.r_rdy):
                m.d.sync += self.r_data.eq(q.r_data)
            with m.Else():
                m.d.sync += have.eq(0)
        return m
