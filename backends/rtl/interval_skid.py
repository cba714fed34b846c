"""A register stage with a skid place between the block engine's edge stream and the unit.

Without it the engine's edge payload (the read FIFO's output word, a packed pair's half
select, the pad test) fed the unit's input stage combinationally, and the unit's ready
(its same-target bubble compare on that payload) fed back into the FIFO's read enable:
one path through both, the P = 1 critical path after packed pairs (79.6 MHz on
ECP5-85F, ``bench/results/interval_pnr_p1_gather_regload.json``).

``EdgeSkid(payload_shape)``: ``i`` (from the engine) and ``o`` (to the unit) are streams.
``o.valid`` and ``o.payload`` come from registers; ``i.ready`` is a register (the skid
place is empty), so neither side's combinational logic reaches the other.  The skid
place keeps one edge a clock: when the unit stalls while an edge is accepted, that edge
waits in the skid place and ``i.ready`` falls the next cycle.  Order is kept (the skid
entry, when full, always goes out before anything new is accepted), and every accepted
edge goes out exactly once -- so the unit sees the stream the engine produced, one
cycle later.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["EdgeSkid"]


class EdgeSkid(wiring.Component):
    def __init__(self, payload_shape):
        self._shape = payload_shape
        super().__init__({"i": In(stream.Signature(payload_shape)),
                          "o": Out(stream.Signature(payload_shape))})

    def elaborate(self, platform):
        m = Module()
        full = Signal()  # the skid place holds an edge
        skid = Signal(self._shape)
        m.d.comb += self.i.ready.eq(~full)
        advance = ~self.o.valid | self.o.ready  # the output register may take a new edge
        with m.If(advance):
            with m.If(full):
                m.d.sync += [self.o.payload.eq(skid), self.o.valid.eq(1), full.eq(0)]
            with m.Else():
                m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid)]
        with m.Elif(self.i.valid & ~full):
            m.d.sync += [skid.eq(self.i.payload), full.eq(1)]
        return m
