"""Offload hooks: a device runs some loops of a kernel in the interpreter's place.

``interpret(k, graph, args, offload={id(loop): handler})`` keeps the interpreter as the
host program; each time it reaches one of those loops it calls ``handler(view)`` instead
of running the loop, with a ``HostView`` of its state at that point (how a simulated FPGA
unit, ``cosynth.backends.rtl.host.UnitHost``, takes over the loops placed on it).

Invariants: a handler sees and changes the interpreter's own tables and frame (no copies:
its writes are the loop's effect); a loop holding an offloaded loop never runs vectorised,
so the device is called exactly where and as often as the host reaches the loop.
"""

from __future__ import annotations

from collections.abc import Callable

from .nodes import Expr, Loop
from .walk import iter_stmts

__all__ = ["HostView", "offloaded", "holds_offloaded"]

Fn = Callable[[list], object]


class HostView:
    """What an offloaded loop sees of the running interpreter: the tables (NumPy arrays
    or Python lists, shared: writes are visible to the host), scalars and loop variables
    by name, the graph, and expression evaluation in the current frame.

    ``comp`` is the interpreter's compiler (``cosynth.ir.interp``), ``F`` its frame.
    """

    def __init__(self, comp, F: list):
        self._c = comp
        self._F = F
        self.graph = comp.g
        self.tables = comp.data
        self.blade = comp.blade

    def get(self, name: str):
        return self._F[self._c.slots[name]]

    def set(self, name: str, value) -> None:
        self._F[self._c.slots[name]] = value

    def eval(self, e: Expr):
        return self._c.expr(e)(self._F)

    def outbox(self, table: str) -> dict:
        """Remote reductions buffered for the next exchange of ``table`` (blade runs)."""
        side = self._c.side
        if side is None:
            raise ValueError("an outbox exists only in a blade program's run "
                             "(cosynth.ir.blades.run_blades)")
        return side.box(table)

    @property
    def shard(self) -> tuple[int, int] | None:
        """The vertices this blade owns, or None outside a blade run."""
        side = self._c.side
        return (side.lo, side.hi) if side is not None else None


def offloaded(comp, loop: Loop, offload: dict) -> Fn | None:
    """The closure calling ``loop``'s handler in ``offload`` (None: the loop is not
    offloaded and the interpreter runs it)."""
    handler = offload.get(id(loop))
    if handler is None:
        return None

    def run_offloaded(F):
        handler(HostView(comp, F))
    return run_offloaded


def holds_offloaded(loop: Loop, offload: dict) -> bool:
    """Whether a loop nested in ``loop`` is offloaded (then ``loop`` must run scalar)."""
    return bool(offload) and any(id(x) in offload for x, _ in iter_stmts(loop.body))
