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

``EdgeSkid(payload_shape, gate=passes)``: the edge in the output register goes to the
unit only once ``passes(edge)`` has held in an earlier cycle -- a registered flag ``ok``,
set from ``passes`` of the edge the output register takes (evaluated in the cycle it is
taken) and then ``ok | passes(output edge)`` every cycle it waits.  The interval engine's
gather gate (``gpos``) lives here: before, its comparison sat between the read FIFO's
output word and the FIFO's read enable (the engine held the edge back), the P = 1
critical path of the merged unit (engine state -> the skid's mux -> the ``gpos``
comparison's carry chain -> the FIFO's read enable, 91.9 MHz on ECP5-85F); now the
comparison ends at ``ok`` and the enable sees registers only.  Legality: ``passes``
must be *monotone* while an edge waits (once true for an edge it stays true: ``gpos``
only rises within a block, and a block's edges are all taken before the next block
resets it), so the registered flag is never true for an edge whose ``passes`` is false
now; it answers a cycle late, exactly as the old gate did in front of the register
stage (an edge gated in cycle t reached the unit at t + 1; here it reaches it at t + 1
when ``passes`` held at t), so the unit sees the same edges in the same cycles.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["EdgeSkid"]


class EdgeSkid(wiring.Component):
    def __init__(self, payload_shape, gate=None):
        self._shape = payload_shape
        self._gate = gate  # payload -> 1-bit Value, monotone while an edge waits
        super().__init__({"i": In(stream.Signature(payload_shape)),
                          "o": Out(stream.Signature(payload_shape))})

    def elaborate(self, platform):
        m = Module()
        full = Signal()  # the skid place holds an edge
        skid = Signal(self._shape)
        held = Signal()  # the output register holds an edge
        ok = Signal()  # ... which ``gate`` passed in an earlier cycle
        m.d.comb += self.i.ready.eq(~full)
        if self._gate is None:
            m.d.comb += [self.o.valid.eq(held), ok.eq(1)]
        else:
            m.d.comb += self.o.valid.eq(held & ok)
        # the output register may take a new edge: empty, or its edge goes out
        advance = ~held | (self.o.valid & self.o.ready)
        with m.If(advance):
            with m.If(full):
                m.d.sync += [self.o.payload.eq(skid), held.eq(1), full.eq(0)]
            with m.Else():
                m.d.sync += [self.o.payload.eq(self.i.payload), held.eq(self.i.valid)]
        with m.Elif(self.i.valid & ~full):
            m.d.sync += full.eq(1)
        # the skid place copies the input in every cycle it is empty, so its enable is
        # ``~full`` alone: the input's valid (an engine's command arbitration, P = 1's
        # path into the command stage's 90 skid bits) reaches only ``full`` and ``held``
        with m.If(~full):
            m.d.sync += skid.eq(self.i.payload)
        if self._gate is not None:
            g = self._gate
            # each compare on a register or the input payload, the choice after them
            g_skid, g_in, g_out = Signal(), Signal(), Signal()
            m.d.comb += [g_skid.eq(g(skid)), g_in.eq(g(self.i.payload)),
                         g_out.eq(g(self.o.payload))]
            with m.If(advance):
                m.d.sync += ok.eq(Mux(full, g_skid, g_in))
            with m.Else():
                m.d.sync += ok.eq(ok | g_out)
        return m
