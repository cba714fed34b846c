"""The interval engine's read-tag queue: a FIFO whose head is a register.

The engine tags every read it issues (``interval``: 0 an edge or window word for the read
FIFO, 1 a gathered entry, 2 a gather-map word) and the port answers in command order, so
the tag at the queue's head says where the next answer goes.  With ``fifo.SyncFIFO`` the
head was the LUT-RAM's asynchronous read at the read pointer, and its decode chose the
write enables of the read FIFOs and of the gather map's memory: read pointer -> LUT-RAM ->
``mem.rdata.valid``'s AND -> the map memory's write port was the P = 1 critical path
after the command queue came in (seed 1, 11.1 ns, 89.98 MHz on ECP5-85F).

``TagQueue(width, depth)`` has ``SyncFIFO``'s interface (``w_en``, ``w_data``, ``w_rdy``,
``r_en``, ``r_data``, ``r_rdy``, ``level``) but ``r_data`` and ``r_rdy`` are registers,
and so is the place a write goes to: the queue is three parts, oldest first --

    head   (``r_data``/``r_rdy``) the tag shown;
    inner  a LUT-RAM ``SyncFIFO`` of ``depth - 2``;
    inreg  one register (``last``/``last_v``), the newest tag, which moves into ``inner``
           the next cycle (or straight to the head when ``inner`` is empty).

A write goes to the head when the queue is empty or the head is popped with nothing
behind it, else to ``inreg`` -- never into the LUT-RAM, whose write enable (a decode of
its write pointer per 16-entry block) was P = 1 seed 3's critical path with the head
alone registered (the engine's port arbitration -> ``issue`` -> the LUT-RAM's write
enable, 9.75 ns).  A popped head is refilled from ``inner``, else ``inreg``, else the
write of this cycle.  So a tag written at a clock edge is at the head after that edge
when it is the only one -- the same cycle ``SyncFIFO`` would show it (an answer may come
the cycle after its command: the memory model's latency is >= 1) -- and otherwise after
the tags before it, as in any FIFO: the engine sees the same tags in the same cycles
(``tests/backends/test_interval_tags.py`` compares every cycle).  ``SyncFIFOBuffered``
registers its head too, but shows a tag only two edges after it was written.

Invariants: the parts hold the queue in order (head oldest, ``inreg`` newest); the head
is empty only when the rest is; ``inreg`` stays put only while ``inner`` is full (then
the queue is full and takes no write).
"""

from __future__ import annotations

from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib import fifo

__all__ = ["TagQueue"]


class TagQueue(Elaboratable):
    def __init__(self, *, width: int, depth: int):
        if depth < 3:
            raise ValueError(f"a tag queue of depth {depth} (>= 3: head, LUT-RAM, last)")
        self.width, self.depth = width, depth
        self.w_en, self.w_data, self.w_rdy = Signal(), Signal(width), Signal()
        self.r_en, self.r_data, self.r_rdy = Signal(), Signal(width), Signal()
        self.level = Signal(range(depth + 1))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = q = fifo.SyncFIFO(width=self.width, depth=self.depth - 2)
        have = self.r_rdy  # the head holds a tag (a register)
        last, last_v = Signal(self.width), Signal()  # ``inreg``
        refill = Signal()  # the head takes a new tag (it is popped or empty)
        last_up = Signal()  # ... from ``inreg`` (``inner`` is empty)
        direct = Signal()  # ... from this cycle's write (everything else is empty)
        moved = Signal()  # ``inreg``'s tag leaves it (to the head or ``inner``)
        m.d.comb += [refill.eq(~have | self.r_en),
                     last_up.eq(refill & ~q.r_rdy & last_v),
                     direct.eq(refill & ~q.r_rdy & ~last_v),
                     q.r_en.eq(refill),
                     q.w_en.eq(last_v & ~last_up), q.w_data.eq(last),
                     moved.eq(last_up | (last_v & q.w_rdy)),
                     self.w_rdy.eq(~(have & last_v & ~q.w_rdy)),
                     self.level.eq(q.level + have + last_v)]
        with m.If(q.r_rdy & refill):
            m.d.sync += self.r_data.eq(q.r_data)
        with m.Elif(last_up):
            m.d.sync += self.r_data.eq(last)
        with m.Elif(direct & self.w_en):
            m.d.sync += [self.r_data.eq(self.w_data), have.eq(1)]
        with m.Elif(refill):
            m.d.sync += have.eq(0)
        with m.If(self.w_en & self.w_rdy & ~direct):
            m.d.sync += [last.eq(self.w_data), last_v.eq(1)]
        with m.Elif(moved):
            m.d.sync += last_v.eq(0)
        return m
