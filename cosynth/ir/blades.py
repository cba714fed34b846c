"""Running a blade program on several blades in one process (a simulated network).

``run_blades(kernel, graph, args, shards)`` starts one interpreter per blade, each with
its ``shard_lo``/``shard_hi``, connected by ``InProcessNetwork``: the collectives
``exchange``, ``refresh`` and ``allreduce`` meet at a barrier, combine the blades'
contributions in blade order (so runs are deterministic whatever the thread timing), and
count the messages and bytes that would cross the network.  A blade that fails stops the
others and its error is raised; no partial result is returned.

Node tables are assembled from each owner's entries; scalars must agree on every blade.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ..errors import CosynthError
from .interp import interpret
from .nodes import Kernel, TableRef

__all__ = ["Blade", "InProcessNetwork", "run_blades", "even_shards", "BladeRun"]


def even_shards(n: int, blades: int) -> list[tuple[int, int]]:
    """``blades`` contiguous vertex ranges of (almost) equal size covering ``0..n``."""
    bounds = np.linspace(0, n, blades + 1).round().astype(int)
    return [(int(bounds[i]), int(bounds[i + 1])) for i in range(blades)]


@dataclass
class Blade:
    rank: int
    shards: list[tuple[int, int]]
    net: InProcessNetwork
    edge_shards: list[tuple[int, int]] = field(default_factory=list)

    @property
    def lo(self) -> int:
        return self.shards[self.rank][0]

    @property
    def hi(self) -> int:
        return self.shards[self.rank][1]

    def owner(self, v: int) -> int:
        for r, (lo, hi) in enumerate(self.shards):
            if lo <= v < hi:
                return r
        raise IndexError(v)


@dataclass
class Collective:
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


@dataclass
class BladeRun:
    results: tuple
    collectives: list[Collective]

    @property
    def messages(self) -> int:
        return sum(c.messages for c in self.collectives)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.collectives)


def run_blades(k: Kernel, graph, args: dict, shards: list[tuple[int, int]], *,
               while_limit: int | None = None, vectorize: bool = True) -> BladeRun:
    """Run the blade program ``k`` on ``len(shards)`` blades; shards must tile ``0..n``."""
    _check_shards(shards, graph.n)
    if not any(p.kind == "shard" for p in k.params):
        raise ValueError(f"kernel {k.name} is not a blade program (no shard parameters)")
    itemsize = {t.name: t.dtype.np.itemsize for t in k.tables}
    net = InProcessNetwork(shards, itemsize)
    results: list = [None] * len(shards)
    errors: list = [None] * len(shards)

    def work(rank: int):
        lo, hi = shards[rank]
        blade = Blade(rank, shards, net)
        try:
            results[rank] = interpret(k, graph, {**args, "shard_lo": lo, "shard_hi": hi},
                                      while_limit=while_limit, blade=blade,
                                      vectorize=vectorize)
        except threading.BrokenBarrierError:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported below, others stopped
            errors[rank] = exc
            net.abort()

    threads = [threading.Thread(target=work, args=(r,), name=f"blade-{r}")
               for r in range(len(shards))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for rank, exc in enumerate(errors):
        if exc is not None:
            if isinstance(exc, CosynthError):
                exc.message = f"blade {rank}: {exc.message}"
                exc.args = (exc.format(),)
            raise exc
    if any(r is None for r in results):  # pragma: no cover - a barrier broke without error
        raise RuntimeError("a blade stopped without a result")
    return BladeRun(_assemble(k, results, shards, graph), list(net.log))


def _check_shards(shards, n: int):
    pos = 0
    for lo, hi in shards:
        if lo != pos or hi < lo:
            raise ValueError(f"shards must tile 0..{n} in order: {shards}")
        pos = hi
    if pos != n:
        raise ValueError(f"shards cover 0..{pos}, the graph has {n} vertices")


def _assemble(k: Kernel, results: list, shards, graph) -> tuple:
    out = []
    for j, r in enumerate(k.returns):
        if isinstance(r, TableRef) and k.table_map[r.table].space == "node":
            arr = results[0][j].copy()
            for rank, (lo, hi) in enumerate(shards):
                arr[lo:hi] = results[rank][j][lo:hi]
            out.append(arr)
            continue
        first = results[0][j]
        for rank in range(1, len(results)):
            other = results[rank][j]
            if not np.array_equal(np.asarray(first), np.asarray(other), equal_nan=True):
                raise RuntimeError(f"blades disagree on result {j} of {k.name}: "
                                   f"blade 0 has {first!r}, blade {rank} has {other!r}")
        out.append(first)
    return tuple(out)
