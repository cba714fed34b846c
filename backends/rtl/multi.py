"""Several interval units (PEs) sharing memory ports through arbiters.

``MultiUnit(spec, interval, pes, ports=C)`` holds ``pes`` ``interval.IntervalUnit``
engines, each with its own edge pipeline, on-chip windows and read FIFO, and ``C``
LiteDRAM native ports (``memport``; ``mems``, ``mem`` the first) of one controller: PE i
uses port ``i % C``.  With ``C == pes`` every PE has a port of its own, wired straight
through (no arbiter: a PE's cycles are its own, bounded only by the channel's bandwidth
that all ports share -- LiteDRAM's crossbar interleaves its user ports over the banks);
one shared port was the bound of P = 2 and 4 (busy 96-99 % of cycles: an edge is half a
word, a gathered entry a word, and 0.8 edges a clock per PE needs 1.3 and 3 words a
clock).  The PEs of a port share it through ``port_arbiter.SharedPort``: each PE's
commands pass a register stage of their own and each PE's read data a register of its
own (the boundary is registered both ways, so no net runs from one PE's logic through
the arbiter into another's: P = 4's critical paths crossed the chip that way; a read on
a shared port costs ``COMMAND_STAGES + RETURN_STAGES`` clocks more than on its own
port), a PE keeps the port for up to ``burst`` commands in a row, then round robin, the
grant a register; the PE of each read is queued and its answer routed back to it.

Registers: 63 PE_SEL (wo: the PE the rest of the register bus addresses; reads: the
number of PEs), 62 PE_BUSY (ro: bit i, PE i runs a block command; bit 16 + i, PE i's
last results are unread: ``interval``'s command queue); every other address is
the selected PE's (``interval``'s map).

The register bus is pipelined (``READ_LATENCY``): the address, write enable and data go
to each PE through a register of its own, loaded while the host selects that PE (a write
takes effect a cycle later than on one PE), each PE's read answer is registered, and the
selected answer is registered again, so ``csr.r_data`` answers the address presented
``READ_LATENCY`` clock edges before, with every write presented before those edges
seen.  A host holds an address that long before it reads (``interval_sim``,
``runtime/interval_server.cpp``, ``runtime/cosynth_interval.hpp``); a poll of one address
then reads every cycle.  Why: with the bus combinational, the shell's address register ->
a PE's register-read multiplexer -> the multiplexer over the PEs -> the capture register
was P = 4's critical path across the chip (22.1 ns, 19.9 of it routing: 45.2 MHz,
fmax3).  Writes and reads go through the same per-PE register, in order, so a BLK_STATUS
or PE_BUSY read presented in the cycle after a BLK_CTRL write already sees the PE busy.

Collisions: the host gives each PE different target intervals (``interval_host``), so no
two PEs ever reduce into the same entry; a PE's other-interval window may hold values
another PE is still improving, which is why several PEs are used only for rules that
repeat until no change with an idempotent reduction (min, max, or, and): a stale read
can only delay an improvement to a later sweep, never lose it, and a sweep without any
change saw only final values.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .interval import PE_BUSY_ADDR, IntervalUnit, gather_map_bits
from .kernel import NotEligible, UnitSpec, parallel_safe
from .memport import NativePortSignature
from .port_arbiter import COMMAND_STAGES, RETURN_STAGES, SharedPort
from .unit import CsrSignature

__all__ = ["MultiUnit", "PE_SEL", "PE_BUSY", "READ_LATENCY", "COMMAND_STAGES", "RETURN_STAGES",
           "parallel_safe"]

PE_SEL, PE_BUSY = 63, PE_BUSY_ADDR
#: clock edges between presenting a register address and its value on ``csr.r_data``
#: (with P = 1 the engine is the top: ``IntervalUnit.read_latency`` is 0)
READ_LATENCY = 3


class MultiUnit(wiring.Component):
    def __init__(self, spec: UnitSpec, interval: int, pes: int, *, fifo_depth: int = 32,
                 addr_width: int = 32, burst: int = 8, ports: int = 1):
        if pes < 1 or pes > 16:
            raise NotEligible(f"{pes} PEs (1 to 16)")
        if ports < 1 or ports > pes:
            raise NotEligible(f"{ports} memory ports for {pes} PEs (1 to one a PE)")
        self.spec = spec
        self.interval = interval
        # a PE alone on its port has a command stage of its own; a shared port's
        # arbiter has one for each of its PEs (``port_arbiter``)
        self.pes = [IntervalUnit(spec, interval, fifo_depth=fifo_depth, addr_width=addr_width,
                                 command_stage=len(range(i % ports, pes, ports)) == 1)
                    for i in range(pes)]
        self.regmap = self.pes[0].regmap
        self.fifo_depth = fifo_depth
        self.burst = max(1, burst)
        self.read_latency = READ_LATENCY
        sig = {"csr": In(CsrSignature()), "mem": Out(NativePortSignature(addr_width, 64))}
        for k in range(1, ports):
            sig[f"mem{k}"] = Out(NativePortSignature(addr_width, 64))
        super().__init__(sig)
        #: the memory ports, ``mem`` first (PE i on ``mems[i % len(mems)]``)
        self.mems = [self.mem] + [getattr(self, f"mem{k}") for k in range(1, ports)]
        #: each PE's submodule name: a synthesised netlist names PE i's cells (its block
        #: RAMs included) ``<this unit's path>.pe{i}.*`` (a floorplan's groups)
        self.pe_names = [f"pe{i}" for i in range(pes)]

    def elaborate(self, platform):
        m = Module()
        P = len(self.pes)
        for i, pe in enumerate(self.pes):
            m.submodules[self.pe_names[i]] = pe
        csr, port = self.csr, self.mem

        # ------------------------------------------------------------ registers
        sel = Signal(range(max(2, P)))
        with m.If(csr.w_en & (csr.addr == PE_SEL)):
            m.d.sync += sel.eq(csr.w_data)
        # the pipelined bus (module docstring): edge 1 -- each PE's own copy of the
        # address, write enable and data, and the address and PE_SEL for the answer's
        # select; edge 2 -- each PE's answer and busy bit; edge 3 -- the select
        busy = Signal(P)  # edge 2: a PE is busy from its BLK_CTRL write until its engine is done
        unread = Signal(P)  # ... and its last results are unread
        addr1, addr2 = Signal.like(csr.addr), Signal.like(csr.addr)
        sel1, sel2 = Signal.like(sel), Signal.like(sel)
        m.d.sync += [addr1.eq(csr.addr), addr2.eq(addr1), sel1.eq(sel), sel2.eq(sel1)]
        answers = []
        for i, pe in enumerate(self.pes):
            pa, pw, pd = (Signal.like(csr.addr, name=f"pe{i}_addr"),
                          Signal(name=f"pe{i}_w_en"), Signal.like(csr.w_data, name=f"pe{i}_w_data"))
            # a PE's copy follows the bus only while the host selects it (an unselected
            # PE is neither written nor read): copies with equal inputs were one flip-flop
            # after yosys merged them, and the PEs' register decodes behind it one LUT
            # placed between the PEs (P = 4 seed 2: pe0's address -> a decode shared with
            # pe1 -> pe0's register read -> its answer, 10.0 ns, 6 ns of it routing)
            with m.If(sel == i):
                m.d.sync += [pa.eq(csr.addr), pd.eq(csr.w_data)]
            m.d.sync += pw.eq(csr.w_en & (sel == i) & (csr.addr < PE_BUSY))
            m.d.comb += [pe.csr.addr.eq(pa), pe.csr.w_data.eq(pd), pe.csr.w_en.eq(pw)]
            ans = Signal.like(pe.csr.r_data, name=f"pe{i}_r_data")
            m.d.sync += [ans.eq(pe.csr.r_data), busy[i].eq(pe.active), unread[i].eq(pe.unread)]
            answers.append(ans)
        with m.Switch(addr2):
            with m.Case(PE_SEL):
                m.d.sync += csr.r_data.eq(P)
            with m.Case(PE_BUSY):
                m.d.sync += csr.r_data.eq(busy | unread << 16)
            with m.Default():
                for i, ans in enumerate(answers):
                    with m.If(sel2 == i):
                        m.d.sync += csr.r_data.eq(ans)

        C = len(self.mems)
        for k, port in enumerate(self.mems):
            group = self.pes[k::C]
            if len(group) == 1:
                _wire(m, group[0].mem, port)
            else:
                # every PE's reads in flight together: its read FIFOs' and its map's
                arb = m.submodules[f"p{k}_arbiter" if C > 1 else "arbiter"] = SharedPort(
                    len(group), burst=self.burst, addr_width=len(port.cmd.addr),
                    tag_depth=len(group) * (2 * self.fifo_depth +
                                            self.interval // gather_map_bits(self.interval)) + 2)
                for pe, side in zip(group, arb.pes):
                    wiring.connect(m, pe.mem, side)
                _wire(m, arb.mem, port)
        return m

def _wire(m, inner, port) -> None:
    """A PE's port straight to a memory port of its own."""
    m.d.comb += [port.cmd.valid.eq(inner.cmd.valid), port.cmd.we.eq(inner.cmd.we),
                 port.cmd.addr.eq(inner.cmd.addr), inner.cmd.ready.eq(port.cmd.ready),
                 port.wdata.valid.eq(inner.wdata.valid), port.wdata.data.eq(inner.wdata.data),
                 inner.wdata.ready.eq(port.wdata.ready),
                 inner.rdata.valid.eq(port.rdata.valid), inner.rdata.data.eq(port.rdata.data),
                 port.rdata.ready.eq(inner.rdata.ready)]
