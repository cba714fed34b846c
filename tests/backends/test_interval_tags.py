"""The read-tag queue with a registered head (``interval_tags``) answers as ``SyncFIFO``."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import fifo
from amaranth.sim import Simulator

from cosynth.backends.rtl.interval_tags import TagQueue

LATE = pytest.mark.xfail(strict=True, reason="its head is a cycle late")


@pytest.mark.parametrize("queue,depth", [(TagQueue, 3), (TagQueue, 6),
                                         pytest.param(fifo.SyncFIFOBuffered, 6, marks=LATE)])
def test_the_tag_queue_shows_each_tag_the_cycle_syncfifo_does(queue, depth):
    """Random writes and pops (a pop only while a tag is shown, as the engine pops on a
    read answer, which may come the cycle after its command): the head, its valid flag
    and the level equal ``SyncFIFO``'s every cycle, with the LUT-RAM part one place deep
    and four.  A head loaded a cycle late (``SyncFIFOBuffered``'s: the xfail case) or out
    of order fails it."""
    m = Module()
    m.submodules.ref = ref = fifo.SyncFIFO(width=4, depth=depth)
    m.submodules.dut = dut = queue(width=4, depth=depth)
    rng = random.Random(16)
    seen = []

    async def bench(ctx):
        for cycle in range(3000):
            w = rng.random() < 0.55 and ctx.get(ref.w_rdy)
            r = rng.random() < 0.6 and ctx.get(ref.r_rdy)
            data = rng.randrange(16)
            for q in (ref, dut):
                ctx.set(q.w_en, w)
                ctx.set(q.w_data, data)
                ctx.set(q.r_en, r)
            assert ctx.get(dut.r_rdy) == ctx.get(ref.r_rdy), cycle
            assert ctx.get(dut.w_rdy) == ctx.get(ref.w_rdy), cycle
            assert ctx.get(dut.level) == ctx.get(ref.level), cycle
            if ctx.get(ref.r_rdy):
                assert ctx.get(dut.r_data) == ctx.get(ref.r_data), cycle
                seen.append(ctx.get(ref.level))
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    # full and nearly empty both met
    assert max(seen) == depth and seen.count(1) > 100 and seen.count(2) > 100
