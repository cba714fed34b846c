"""Several PEs on one memory port: the arbiter of ``multi.MultiUnit``'s shared ports.

``SharedPort(pes, burst=8, tag_depth=..., addr_width=32)`` has one LiteDRAM native port
(``memport``) towards each PE (``pe0``, ``pe1``, ...: the PE is the master) and one towards
the memory (``mem``).  Its boundary is registered both ways, so that no net runs from one
PE's logic through the arbiter into another PE's (P = 4's critical paths on ECP5-85F
crossed the chip that way: the owner's combinational command valid -- its engine state
decode -- to the grant and the port, and the port's ready into every PE's issue logic):

* **commands** -- each PE's pass a register stage of their own (``interval_skid.EdgeSkid``
  without a gate: an output register and a skid place, one command a clock): the PE's
  ``cmd.ready`` (and ``wdata.ready``, the same register) is the stage's registered
  ``~full``, and the arbiter sees registers only.  A write enters its stage with its data
  (the PE shows write data with its command or after it, never before -- ``memport``'s
  invariant -- and with both readies equal both go in the same cycle) and leaves it when
  the port has taken both (``sent``: the command went out in an earlier cycle than the
  data).  ``COMMAND_STAGES`` = 1 clock more between a PE's command and the port.
* **grant** -- a register (``owner``): the port shows the owner's stage's command.  The
  owner keeps the port while it presents commands, for up to ``burst`` in a row (a PE's
  accesses are sequential: interleaving two PEs word by word would open a DRAM burst per
  word); then, or when it presents none, the next owner is the first PE after it
  presenting one (round robin), taken at the clock edge: a change of owner costs the
  cycle the old one stops presenting.  The owner keeps the port while a write of its
  waits for its data to be taken, so data never cross PEs.
* **read data** -- the port answers in command order, so the PE of each read the port
  took is queued (``interval_tags.TagQueue``: a FIFO whose head is a register, so the
  head's compare starts at a flop; ``tag_depth`` places: at least every PE's reads in
  flight together -- each PE reserves a place before it issues a read, so the queue
  cannot overflow) and each word goes to the PE at its head through a register of that
  PE's (``RETURN_STAGES`` = 1 clock).

``CommandStage(addr_width=32)`` is the same register stage for a PE with a port of its
own (``interval.IntervalUnit(command_stage=True)``: P = 1, and every PE of a unit with a
port a PE): the engine's ``cmd.ready`` / ``wdata.ready`` is the stage's registered
``~full`` and the memory port sees registers only; read data pass straight back.  So
every engine meets exactly one command stage between it and the memory, its own or the
arbiter's, and in both its two readies are one register (the engine presents a write
with its data and both go in the same cycle).  Why: with the engine wired to the port,
its issue logic (state -> command valid -> the port's ready -> the read counters, the
gather machine's ``rem``, ``left`` / ``areg``) was one path into the controller and back,
P = 4's critical path (83.8 MHz, C = 4, stop 27) and a P = 1 path.

Invariants (``tests/backends/test_port_arbiter.py`` checks them on random traffic):
every command a PE's port accepts reaches the memory port exactly once, in the PE's
order, a write with its own data; every read answer reaches exactly the PE that issued
the read, in the order of its reads; ``rdata.ready`` towards the memory is 1.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .interval_skid import EdgeSkid
from .interval_tags import TagQueue
from .memport import NativePortSignature

__all__ = ["SharedPort", "CommandStage", "COMMAND_STAGES", "RETURN_STAGES"]

#: register stages between a PE's command and the shared port
COMMAND_STAGES = 1
#: ... and between the port's read data and the PE
RETURN_STAGES = 1


class SharedPort(wiring.Component):
    def __init__(self, pes: int, *, burst: int = 8, tag_depth: int = 64,
                 addr_width: int = 32, stage=EdgeSkid):
        if pes < 2:
            raise ValueError(f"a shared port of {pes} PE(s) (2 or more)")
        self.n, self.burst, self.tag_depth = pes, max(1, burst), max(3, tag_depth)
        self._stage = stage  # the command stage's class (a test swaps in a broken one)
        sig = {f"pe{i}": In(NativePortSignature(addr_width, 64)) for i in range(pes)}
        sig["mem"] = Out(NativePortSignature(addr_width, 64))
        super().__init__(sig)
        self.pes = [getattr(self, f"pe{i}") for i in range(pes)]

    def elaborate(self, platform):
        m = Module()
        P, port = self.n, self.mem
        aw = len(port.cmd.addr)

        # ------------------------------------------------------------ command stages
        stages = [_stage(m, f"cmd{i}", self._stage, pe, aw) for i, pe in enumerate(self.pes)]

        # ------------------------------------------------------------ grant
        owner = Signal(range(max(2, P)))
        run = Signal(range(self.burst + 1))  # commands the owner had in a row
        mine = Signal()  # the owner's stage holds a command (or a write waiting for its data)
        for i, o in enumerate(stages):
            with m.If(owner == i):
                m.d.comb += [mine.eq(o.valid), port.cmd.we.eq(o.payload.we),
                             port.cmd.addr.eq(o.payload.addr), port.wdata.data.eq(o.payload.data)]
        we = port.cmd.we
        done = _drive(m, port, mine)
        for i, o in enumerate(stages):
            m.d.comb += o.ready.eq(done & (owner == i))
        with m.If(done):
            m.d.sync += run.eq(run + 1)
        with m.If(~mine | (done & (run == self.burst - 1))):
            # round robin from the PE after the owner; the owner itself last
            m.d.sync += run.eq(0)
            for off in reversed(range(P)):  # the last assignment wins: off 0 is first
                for base in range(P):
                    i = (base + 1 + off) % P
                    with m.If((owner == base) & stages[i].valid):
                        m.d.sync += owner.eq(i)

        # ------------------------------------------------------------ read data
        tags = m.submodules.tags = TagQueue(width=max(1, (P - 1).bit_length()),
                                            depth=self.tag_depth)
        m.d.comb += [tags.w_en.eq(port.cmd.valid & port.cmd.ready & ~we),
                     tags.w_data.eq(owner),
                     port.rdata.ready.eq(1), tags.r_en.eq(port.rdata.valid)]
        for i, pe in enumerate(self.pes):
            m.d.sync += [pe.rdata.valid.eq(port.rdata.valid & (tags.r_data == i)),
                         pe.rdata.data.eq(port.rdata.data)]
        return m



class CommandStage(wiring.Component):
    """A PE's commands through a register stage to a memory port of its own (module
    docstring): ``pe`` towards the engine, ``mem`` towards the memory; one command a
    clock, one clock later; read data straight through."""

    def __init__(self, *, addr_width: int = 32, stage=EdgeSkid):
        self._stage = stage
        super().__init__({"pe": In(NativePortSignature(addr_width, 64)),
                          "mem": Out(NativePortSignature(addr_width, 64))})

    def elaborate(self, platform):
        m = Module()
        pe, port = self.pe, self.mem
        o = _stage(m, "stage", self._stage, pe, len(port.cmd.addr))
        m.d.comb += [port.cmd.we.eq(o.payload.we), port.cmd.addr.eq(o.payload.addr),
                     port.wdata.data.eq(o.payload.data)]
        m.d.comb += o.ready.eq(_drive(m, port, o.valid))
        m.d.comb += [pe.rdata.valid.eq(port.rdata.valid), pe.rdata.data.eq(port.rdata.data),
                     port.rdata.ready.eq(pe.rdata.ready)]
        return m


def _stage(m, name, cls, pe, aw):
    """``pe``'s commands (a write with its data) into a register stage ``name``; its
    output stream."""
    st = m.submodules[name] = cls(data.StructLayout({"we": 1, "addr": aw, "data": 64}))
    m.d.comb += [st.i.valid.eq(pe.cmd.valid), st.i.payload.we.eq(pe.cmd.we),
                 st.i.payload.addr.eq(pe.cmd.addr), st.i.payload.data.eq(pe.wdata.data),
                 pe.cmd.ready.eq(st.i.ready), pe.wdata.ready.eq(st.i.ready)]
    return st.o


def _drive(m, port, mine):
    """``port``'s command and write data from a stage output holding a command
    (``mine``; ``port.cmd.we`` / ``addr`` / ``wdata.data`` already driven from it): a
    write's data go with its command or after it (``sent``: the command went out, its
    data not yet).  Returns ``done``: the command leaves the stage this cycle (a write:
    with its data)."""
    done = Signal()
    sent = Signal()
    we = port.cmd.we
    m.d.comb += [port.cmd.valid.eq(mine & ~sent),
                 port.wdata.valid.eq(mine & we & (sent | port.cmd.ready)),
                 done.eq(mine & Mux(we, port.wdata.valid & port.wdata.ready, port.cmd.ready))]
    with m.If(mine & we & port.cmd.ready & ~port.wdata.ready):
        m.d.sync += sent.eq(1)
    with m.If(done):
        m.d.sync += sent.eq(0)
    return done
