"""A four-pin I/O shell that turns any Amaranth component into a complete design.

A generated component has as many ports as its signature says (hundreds of bits for a
stream of edges); a package has a few hundred pins and place and route refuses a design
that does not fit.  ``io_shell`` wraps the component in a top module with four pins:

* ``clk`` (input) clocks the ``sync`` domain, the component's included;
* ``sin`` (input) enters the top of the input shift register, which shifts down one bit
  every cycle (so a vector sent LSB first ends with its bit 0 at bit 0);
* ``sload`` (input), when high, copies the input shift register into the *input latch*
  and the *output capture* into the output shift register;
* ``sout`` (output) is bit 0 of the output shift register, which shifts down one bit every
  cycle it is not loaded (outputs leave LSB first).

A scan is: shift the input vector in, pulse ``sload`` (the component sees it from the
next cycle), wait as many cycles as the component needs, pulse ``sload`` again (outputs
captured the cycle before are loaded, and the next input vector latched), shift out.

Invariants the flow relies on:

* every component input is driven by a flip-flop of the input latch, and every component
  output is sampled by a flip-flop of the output capture every cycle, so every path of the
  component is register to register and the Fmax nextpnr reports is the component's own
  (the shell adds only a 2:1 mux before each shift-register flip-flop);
* every input bit can be set from ``sin`` and every output bit reaches ``sout``, so
  synthesis cannot optimise any of the component's logic away;
* the component's ports are found with ``signature.flatten`` (members ``In`` and ``Out`` of
  any shape and width, arrays, nested and flipped signatures such as streams), the input
  bits in flatten order starting at bit 0 of the latch, the output bits likewise;
* ``sync`` is reset by a four-cycle power-on reset (a reset-less shift register with
  initial value ones), so the component's reset logic is synthesized as in real use; the
  shell's own registers are reset-less.

>>> from amaranth.lib import wiring
>>> from amaranth.lib.wiring import In, Out
>>> class Acc(wiring.Component):
...     x: In(8)
...     y: Out(8)
...     def elaborate(self, platform):
...         m = Module()
...         m.d.sync += self.y.eq(self.y + self.x)
...         return m
>>> "module top" in shell_verilog(Acc())
True
"""

from amaranth.back import verilog
from amaranth.hdl import (
    Cat,
    ClockDomain,
    ClockSignal,
    Elaboratable,
    Module,
    ResetSignal,
    Signal,
    Value,
)
from amaranth.lib import wiring

__all__ = ["IOShell", "io_shell", "shell_verilog", "POR_CYCLES"]

POR_CYCLES = 4  # cycles of reset after configuration


class IOShell(Elaboratable):
    """The top module around ``component``; its ports are ``clk``, ``sin``, ``sload``,
    ``sout``.  ``in_width`` / ``out_width`` are the number of component input / output bits
    (the lengths of the two shift registers)."""

    def __init__(self, component: wiring.Component):
        self.component = component
        self.clk = Signal()
        self.sin = Signal()
        self.sload = Signal()
        self.sout = Signal()
        try:
            self._inputs, self._outputs = _split_ports(component)
        except Exception:
            self._MustUse__silence = True  # never built: no "created but never used" warning
            raise
        self.in_width = sum(len(v) for v in self._inputs)
        self.out_width = sum(len(v) for v in self._outputs)

    @property
    def ports(self) -> list[Signal]:
        return [self.clk, self.sin, self.sload, self.sout]

    def elaborate(self, platform):
        m = Module()
        m.submodules.component = self.component

        m.domains.sync = ClockDomain("sync")
        m.domains.por = ClockDomain("por", reset_less=True)
        m.d.comb += [ClockSignal("sync").eq(self.clk), ClockSignal("por").eq(self.clk)]
        por = Signal(POR_CYCLES, init=(1 << POR_CYCLES) - 1, reset_less=True)
        m.d.por += por.eq(por >> 1)
        m.d.comb += ResetSignal("sync").eq(por[0])

        if self.in_width:
            shift = Signal(self.in_width, reset_less=True)
            latch = Signal(self.in_width, reset_less=True)
            if self.in_width == 1:
                m.d.sync += shift.eq(self.sin)
            else:
                m.d.sync += shift.eq(Cat(shift[1:], self.sin))
            with m.If(self.sload):
                m.d.sync += latch.eq(shift)
            m.d.comb += Cat(*self._inputs).eq(latch)

        if self.out_width:
            capture = Signal(self.out_width, reset_less=True)
            shift_out = Signal(self.out_width, reset_less=True)
            m.d.sync += capture.eq(Cat(*self._outputs))
            with m.If(self.sload):
                m.d.sync += shift_out.eq(capture)
            with m.Else():
                m.d.sync += shift_out.eq(shift_out >> 1)
            m.d.comb += self.sout.eq(shift_out[0])
        return m


def io_shell(component: wiring.Component) -> IOShell:
    """The four-pin top module around ``component`` (see the module docstring)."""
    return IOShell(component)


def shell_verilog(component: wiring.Component, name: str = "top") -> str:
    """Verilog text of ``io_shell(component)`` with top module ``name``."""
    shell = io_shell(component)
    return verilog.convert(shell, name=name, ports=shell.ports)


def _split_ports(component: wiring.Component) -> tuple[list[Value], list[Value]]:
    """The component's input and output port values, in ``signature.flatten`` order."""
    if not isinstance(getattr(component, "signature", None), wiring.Signature):
        raise TypeError(f"io_shell needs an amaranth.lib.wiring.Component, not "
                        f"{type(component).__name__}")
    inputs, outputs = [], []
    for _path, member, value in component.signature.flatten(component):
        value = Value.cast(value)
        if len(value) == 0:
            continue
        (inputs if member.flow == wiring.In else outputs).append(value)
    if not outputs:
        raise ValueError(f"{type(component).__name__} has no output bits: synthesis would "
                         f"remove all of its logic")
    return inputs, outputs
