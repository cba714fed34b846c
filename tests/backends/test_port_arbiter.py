"""The shared port's registered boundary (``port_arbiter``) neither drops, duplicates,
reorders nor misroutes a command or a read answer, on random traffic."""

import random
from collections import deque

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from cosynth.backends.rtl.interval_skid import EdgeSkid
from cosynth.backends.rtl.port_arbiter import SharedPort


class _DropStage(wiring.Component):
    """A register stage without a skid place whose ready is a register: the command taken
    in the cycle its output stalls is lost."""

    def __init__(self, shape):
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.i.ready.eq(1)
        with m.If(~self.o.valid | self.o.ready | self.i.valid):
            m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid)]
        return m


class _DupStage(wiring.Component):
    """A register stage that keeps its command after the port took it (until a new one
    comes): a command goes out twice."""

    def __init__(self, shape):
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        held = Signal()
        m.d.comb += [self.i.ready.eq(~held | self.o.ready), self.o.valid.eq(held)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [self.o.payload.eq(self.i.payload), held.eq(1)]
        return m


BROKEN = pytest.mark.xfail(strict=True, reason="a broken command stage")


@pytest.mark.parametrize("stage,pes,seed", [
    (EdgeSkid, 2, 1), (EdgeSkid, 3, 2), (EdgeSkid, 4, 3),
    pytest.param(_DropStage, 3, 2, marks=BROKEN), pytest.param(_DupStage, 3, 2, marks=BROKEN)])
def test_every_command_and_answer_passes_once_in_order_to_its_pe(stage, pes, seed):
    """PEs issue random reads and writes (an address encodes the PE and a sequence
    number; a write's data too), each PE keeping at most ``D`` reads in flight as an
    engine does; the memory's command and write-data readies are random (a write's data
    may be taken after its command) and it answers reads in order after random delays.
    Every PE's commands reach the memory exactly once, in its order, each write with its
    own data and never ahead of its command; every answer reaches the PE that read it,
    in order, once.  A stage that loses a command (``_DropStage``) or sends one twice
    (``_DupStage``) fails it."""
    D, n_cmds = 4, 120
    arb = SharedPort(pes, burst=3, tag_depth=pes * D + 2, addr_width=20, stage=stage)
    rng = random.Random(seed)
    issued = [[] for _ in range(pes)]  # (we, addr, data) a PE's port accepted
    got_cmds = [[] for _ in range(pes)]  # ... as the memory took them (data when taken)
    want_ans = [[] for _ in range(pes)]
    got_ans = [[] for _ in range(pes)]

    def value(addr):
        return (addr * 2654435761) & ((1 << 64) - 1)

    async def bench(ctx):
        nxt = [0] * pes  # a PE's next command number
        cur = [None] * pes  # the command it presents
        inflight = [0] * pes
        writes = deque()  # memory: write commands taken, their data not yet
        reads = deque()  # (due cycle, pe, addr)
        mem_ans = None
        for cycle in range(6000):
            # the PEs present commands
            for i, pe in enumerate(arb.pes):
                if cur[i] is None and nxt[i] < n_cmds and rng.random() < 0.7:
                    we = rng.random() < 0.3
                    if we or inflight[i] < D:
                        addr = i << 12 | nxt[i]
                        cur[i] = (int(we), addr, value(addr) ^ 0x5A if we else 0)
                        nxt[i] += 1
                        if not we:
                            inflight[i] += 1  # the place reserved
                c = cur[i]
                ctx.set(pe.cmd.valid, c is not None)
                ctx.set(pe.cmd.we, c[0] if c else 0)
                ctx.set(pe.cmd.addr, c[1] if c else 0)
                ctx.set(pe.wdata.valid, bool(c and c[0]))
                ctx.set(pe.wdata.data, c[2] if c else 0)
            # the memory
            cr, wr = rng.random() < 0.6, rng.random() < 0.7
            ctx.set(arb.mem.cmd.ready, cr)
            ctx.set(arb.mem.wdata.ready, wr)
            mem_ans = reads[0] if reads and reads[0][0] <= cycle else None
            ctx.set(arb.mem.rdata.valid, mem_ans is not None)
            ctx.set(arb.mem.rdata.data, value(mem_ans[2]) if mem_ans else 0)
            # what the clock edge takes
            for i, pe in enumerate(arb.pes):
                if cur[i] is not None and ctx.get(pe.cmd.ready):
                    assert not cur[i][0] or ctx.get(pe.wdata.ready)  # a write with its data
                    issued[i].append(cur[i])
                    cur[i] = None
                if ctx.get(pe.rdata.valid):
                    got_ans[i].append(ctx.get(pe.rdata.data))
                    inflight[i] -= 1
            m = arb.mem
            if ctx.get(m.cmd.valid) and cr:
                addr, we = ctx.get(m.cmd.addr), ctx.get(m.cmd.we)
                pe = addr >> 12
                if we:
                    writes.append(addr)
                else:
                    got_cmds[pe].append((0, addr, 0))
                    want_ans[pe].append(value(addr))
                    reads.append((cycle + rng.randrange(1, 9), pe, addr))
            if ctx.get(m.wdata.valid) and wr:
                assert writes, f"cycle {cycle}: write data ahead of its command"
                addr = writes.popleft()
                got_cmds[addr >> 12].append((1, addr, ctx.get(m.wdata.data)))
            if mem_ans is not None:
                assert ctx.get(m.rdata.ready)
                reads.popleft()
            await ctx.tick()
        assert not writes and not reads

    sim = Simulator(arb)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    for i in range(pes):
        assert len(issued[i]) == n_cmds  # every PE got all its commands through
        assert got_cmds[i] == issued[i], i
        assert got_ans[i] == want_ans[i], i


def test_a_shared_port_passes_a_command_a_clock():
    """One PE presenting a read every cycle gets one through every cycle once its stage
    is primed (the stage's skid place: no bubble every other cycle)."""
    arb = SharedPort(2, burst=8, tag_depth=40, addr_width=16)
    taken = []

    async def bench(ctx):
        ctx.set(arb.mem.cmd.ready, 1)
        ctx.set(arb.mem.wdata.ready, 1)
        ctx.set(arb.pes[0].cmd.valid, 1)
        for cycle in range(30):
            ctx.set(arb.pes[0].cmd.addr, cycle)
            if ctx.get(arb.mem.cmd.valid):
                taken.append(ctx.get(arb.mem.cmd.addr))
            await ctx.tick()

    sim = Simulator(arb)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert taken == list(range(len(taken))) and len(taken) >= 30 - 3
