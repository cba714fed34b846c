"""The collectives of a blade program: the network between blades and one blade's side.

A blade program (the projection rule's output) runs on several blades, blade ``r`` owning
the vertices ``shards[r] = (shard_lo, shard_hi)`` and the edges leaving them.  Its three
collective statements (``cosynth.ir.nodes``) mean:

* ``Exchange(table, op, flag)``: every blade sends the remote reductions of ``table`` it
  buffered since the last exchange to their owners, which apply them with ``op``; the
  flag is set on a blade when one of its own entries changed;
* ``Refresh(table)``: every blade's mirror of ``table`` gets each owner's slice (an edge
  table's slices are the CSR ranges of the owners' vertices);
* ``AllReduce(table, op)``: the scalar ``table`` becomes the ``op``-combination of every
  blade's value.

``InProcessNetwork`` carries them between the threads of one process (what
``cosynth.ir.blades.run_blades`` connects its blades with): each collective meets at a
barrier, combines the contributions in blade order, so a run is deterministic whatever
the thread timing, and logs the messages and bytes a real network would carry.

``BladeSide`` is one blade's end inside the interpreter: its shard, its outbox, and the
collective statements and remote reductions compiled into closures over the frame ``F``.

Invariants: an outbox entry holds the ``op``-combination of every contribution to that
entry since the table's last exchange, in the order they were made; an entry the blade
owns never enters its outbox (it is reduced in place).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import ops
from ..dtypes import DType
from .changed import changed
from .nodes import AllReduce, Exchange, Loop, Refresh, Var
from .walk import iter_exprs

__all__ = ["Collective", "InProcessNetwork", "BladeSide", "projected"]

Fn = Callable[[list], object]


def projected(loop: Loop) -> bool:
    """A loop the projection rule distributed (its range starts at ``shard_lo``): its
    reductions into node tables may land on entries another blade owns."""
    return loop.start is not None and any(
        isinstance(x, Var) and x.name == "shard_lo" for x in iter_exprs(loop.start))


# ------------------------------------------------------------------------- network
@dataclass
class Collective:
    """One collective as the network log records it."""

    kind: str
    table: str
    messages: int
    bytes: int


class InProcessNetwork:
    """The collectives of a blade program, between threads in one process."""

    def __init__(self, shards: list[tuple[int, int]], itemsize: dict[str, int]):
        self.shards = shards
        self.P = len(shards)
        self.barrier = threading.Barrier(self.P)
        self.slots: list = [None] * self.P
        self.itemsize = itemsize
        self.log: list[Collective] = []
        self._starts = np.array([lo for lo, _ in shards])

    def abort(self):
        self.barrier.abort()

    def _gather(self, rank: int, value) -> list:
        self.slots[rank] = value
        self.barrier.wait()
        values = list(self.slots)
        self.barrier.wait()
        return values

    def owner(self, v: int) -> int:
        r = int(np.searchsorted(self._starts, v, side="right")) - 1
        while self.shards[r][0] == self.shards[r][1] or not (
                self.shards[r][0] <= v < self.shards[r][1]):
            r -= 1
        return r

    def exchange(self, rank: int, table: str, outbox: dict) -> list[tuple[int, object]]:
        """Every blade's buffered contributions for entries ``rank`` owns, in blade order."""
        boxes = self._gather(rank, outbox)
        lo, hi = self.shards[rank]
        incoming = []
        for r in range(self.P):
            if r == rank:
                continue
            incoming.extend((i, v) for i, v in sorted(boxes[r].items()) if lo <= i < hi)
        if rank == 0:
            count = sum(len(b) for b in boxes)
            self.log.append(Collective("exchange", table, count,
                                       count * (8 + self.itemsize.get(table, 8))))
        return incoming

    def refresh(self, rank: int, table: str, owned: np.ndarray, ranges) -> list:
        """Every blade's owned slice of ``table``, in blade order."""
        parts = self._gather(rank, owned)
        if rank == 0:
            count = sum(len(p) for p in parts) * (self.P - 1)
            self.log.append(Collective("refresh", table, count,
                                       count * self.itemsize.get(table, 8)))
        return parts

    def allreduce(self, rank: int, table: str, value, combine) -> object:
        values = self._gather(rank, value)
        out = values[0]
        for v in values[1:]:
            out = combine(out, v)
        if rank == 0:
            self.log.append(Collective("allreduce", table, 2 * (self.P - 1),
                                       2 * (self.P - 1) * self.itemsize.get(table, 8)))
        return out


# ---------------------------------------------------------------- one blade's side
class BladeSide:
    """One blade's end of the collectives inside an interpreter.

    ``blade`` (a ``cosynth.ir.blades.Blade``) names the rank, the shards and the network;
    ``lo``/``hi`` are the vertices this blade owns; ``outbox`` maps a table to its
    buffered remote reductions ``{entry: combined contribution}``.
    """

    def __init__(self, blade, lo: int, hi: int):
        self.blade = blade
        self.lo, self.hi = lo, hi
        self.outbox: dict[str, dict] = {}

    def box(self, table: str) -> dict:
        """The outbox of ``table`` (created empty on first use)."""
        return self.outbox.setdefault(table, {})

    # ------------------------------------------------------------ remote reductions
    def remote_reduce(self, table: str, T, get, index: Fn, value: Fn, red,
                      flag: int | None) -> Fn:
        """A reduction inside a distributed loop: applied in place if this blade owns the
        entry (setting the frame slot ``flag`` when it changed), else combined into the
        outbox until the table's next exchange."""
        lo, hi = self.lo, self.hi
        box = self.box(table)

        def reduce_remote(F):
            i = index(F)
            v = value(F)
            if lo <= i < hi:
                old = get(i)
                new = red(old, v)
                if changed(new, old):
                    T[i] = new
                    if flag is not None:
                        F[flag] = True
            elif i in box:
                box[i] = red(box[i], v)
            else:
                box[i] = v
        return reduce_remote

    def buffer(self, table: str, idx: np.ndarray, vals: np.ndarray, op: str, d: DType):
        """The vectorised form of the outbox half of ``remote_reduce``: contributions
        ``vals`` to the entries ``idx`` (none of them this blade's), combined per entry in
        lane order, then into the outbox."""
        box = self.box(table)
        order = np.argsort(idx, kind="stable")
        idx, vals = idx[order], vals[order]
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
        r = ops.reduction(op)
        combined = r.ufunc.reduceat(vals, starts)
        red = r.scalar_fn(d)
        for i, v in zip(idx[starts].tolist(), combined.tolist()):
            if i in box:
                box[i] = red(box[i], v)
            else:
                box[i] = v

    # ------------------------------------------------------------ the collectives
    def allreduce(self, s: AllReduce, slot: int, red) -> Fn:
        """``s`` on the scalar held in the frame slot ``slot``."""
        net, rank, table = self.blade.net, self.blade.rank, s.table

        def allreduce(F):
            F[slot] = net.allreduce(rank, table, F[slot], red)
        return allreduce

    def exchange(self, s: Exchange, T, get, red, flag: int | None) -> Fn:
        """``s`` on the table ``T`` (``get`` reads an entry as a Python value)."""
        net, rank, table = self.blade.net, self.blade.rank, s.table
        box = self.box(table)

        def exchange(F):
            incoming = net.exchange(rank, table, dict(box))
            box.clear()
            any_changed = False
            for i, v in incoming:
                old = get(i)
                new = red(old, v)
                if changed(new, old):
                    T[i] = new
                    any_changed = True
            if any_changed and flag is not None:
                F[flag] = True
        return exchange

    def refresh(self, s: Refresh, T, space: str, indptr) -> Fn:
        """``s`` on the table ``T`` of ``space``; ``indptr`` is the graph's CSR offsets
        (an edge belongs to the owner of its source)."""
        blade = self.blade
        net, rank, table = blade.net, blade.rank, s.table
        if space == "node":
            ranges = list(blade.shards)
        else:
            ranges = [(indptr[lo], indptr[hi]) for lo, hi in blade.shards]
        mine = ranges[rank]

        def refresh(F):
            parts = net.refresh(rank, table, T[mine[0]:mine[1]], ranges)
            for (a, b), part in zip(ranges, parts):
                T[a:b] = part
        return refresh
