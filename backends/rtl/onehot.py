"""A state machine kept as one flag register per state (one-hot), for control paths.

``with OneHot(m, "engine", ["IDLE", "LAUNCH", ...]) as fsm:`` is used like Amaranth's
``with m.FSM():``

    with fsm.state("IDLE"):          # with m.State("IDLE"):
        with m.If(go):
            fsm.goto("LAUNCH")       #     m.next = "LAUNCH"

and ``fsm["EDGES"]`` is the flag of a state (``fsm.ongoing("EDGES")``), a register.

Why not ``m.FSM``: Amaranth encodes its state in binary, and yosys's FSM pass does not
re-encode it ("Register has an initialization value": every Amaranth register has one),
so each use of "the machine is in state S" starts with a decode of the state bits -- a
LUT and a route before any logic that depends on the state.  With a flag a state the
decode is the flag's flip-flop itself (the interval engine's remaining critical paths on
ECP5 all began at its 3-bit state: state -> decode -> the read issue -> the command
address / the gather's map word, 10.2-11.2 ns).

A ``goto`` assigns every flag (the target's 1, the others 0), so of several ``goto`` in
one cycle the last one wins, as with ``m.next``.  Writing instead only the flags of a
state's own transitions (a combinational "to" bit per transition, the flags written from
those when the machine ends) was measured slower on ECP5: the interval engine's P = 1 CC
fell from 97.7 / 102.0 / 100.9 MHz (seeds 1 / 2 / 3) to 80.9 / 79.9 / 90.4 -- the "to"
bits carry each state's nest of conditions into every flag they touch.

Invariants: exactly one flag is set in every cycle (the first state's after reset); a
state block is a plain ``m.If`` of its flag, so the blocks of one machine never overlap;
``goto`` is only called inside a state block.
"""

from __future__ import annotations

from contextlib import contextmanager

from amaranth.hdl import Signal

__all__ = ["OneHot"]


class OneHot:
    """States ``states`` of machine ``name`` in module ``m``, starting in the first."""

    def __init__(self, m, name: str, states: list[str]):
        if len(set(states)) != len(states) or not states:
            raise ValueError(f"the states of {name!r} must be distinct and not empty")
        self._m = m
        self._name = name
        self.flags = {s: Signal(init=int(i == 0), name=f"{name}_{s.lower()}")
                      for i, s in enumerate(states)}
        self._current: str | None = None
        self._closed = False

    def __getitem__(self, state: str):
        """The flag of ``state``: 1 in the cycles the machine is in it."""
        return self.flags[state]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self._close()
        return False

    @contextmanager
    def state(self, state: str):
        """The statements of ``state`` (``with m.State(state)``)."""
        if self._current is not None or self._closed:
            raise RuntimeError(f"{self._name}: a state block inside another, or after "
                               f"the machine's end")
        self._current = state
        try:
            with self._m.If(self.flags[state]):
                yield
        finally:
            self._current = None

    def goto(self, state: str) -> None:
        """The next state is ``state`` (``m.next = state``)."""
        if state not in self.flags:
            raise KeyError(f"no state {state!r}")
        if self._current is None:
            raise RuntimeError(f"{self._name}: goto({state!r}) outside a state block")
        self._m.d.sync += [f.eq(int(s == state)) for s, f in self.flags.items()]

    def _close(self) -> None:
        self._closed = True
