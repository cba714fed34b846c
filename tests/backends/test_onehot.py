"""``onehot.OneHot`` against Amaranth's ``m.FSM``: the same machine written both ways
takes the same states, cycle for cycle, on random inputs -- several ``goto`` in one
cycle (the last wins), a ``goto`` to the same state, states left by nested conditions --
and exactly one flag is set in every cycle."""

import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from cosynth.backends.rtl.onehot import OneHot

STATES = ["A", "B", "C", "D"]


def _machine(m, inp, out, *, onehot):
    """A four-state machine on the 3-bit input ``inp``; ``out`` gets the state's index
    and, in state C, the input (a combinational output of a state)."""
    cm = OneHot(m, "t", STATES) if onehot else m.FSM(name="t")
    fsm = cm.__enter__()
    if onehot:
        state, goto = fsm.state, fsm.goto
    else:

        def state(name):
            return m.State(name)

        def goto(name):
            m.next = name
    with state("A"):
        m.d.comb += out.eq(0)
        with m.If(inp[0]):
            goto("B")
        with m.If(inp[1]):  # a later goto in the same cycle wins
            goto("C")
    with state("B"):
        m.d.comb += out.eq(1)
        with m.If(inp[0] & inp[1]):
            goto("D")
        with m.Elif(inp[2]):
            goto("B")  # to itself
        with m.Else():
            goto("A")
    with state("C"):
        m.d.comb += out.eq(2 | inp << 2)
        with m.If(~inp[2]):
            with m.If(inp[0]):
                goto("A")
            with m.Else():
                goto("D")
    with state("D"):
        m.d.comb += out.eq(3)
        with m.If(inp == 5):
            goto("A")
    cm.__exit__(None, None, None)
    return fsm


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_onehot_machine_takes_the_states_of_the_binary_one(seed):
    m = Module()
    inp = Signal(3)
    out_b, out_h = Signal(8), Signal(8)
    _machine(m, inp, out_b, onehot=False)
    hot = _machine(m, inp, out_h, onehot=True)
    sim = Simulator(m)
    sim.add_clock(1e-6)
    rng = random.Random(seed)
    seen = set()

    async def bench(ctx):
        for _ in range(400):
            ctx.set(inp, rng.randrange(8))
            flags = [ctx.get(hot[s]) for s in STATES]
            assert sum(flags) == 1
            assert ctx.get(out_h) == ctx.get(out_b)
            seen.add(flags.index(1))
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    assert seen == {0, 1, 2, 3}  # every state was visited


def test_a_onehot_machine_refuses_unknown_states_and_misplaced_gotos():
    m = Module()
    with pytest.raises(ValueError):
        OneHot(m, "t", ["A", "A"])
    with OneHot(m, "t", ["A", "B"]) as fsm:
        with pytest.raises(KeyError):
            with fsm.state("A"):
                fsm.goto("C")
        with pytest.raises(RuntimeError):
            fsm.goto("B")  # outside a state block
