"""Running a blade program on several blades in one process (a simulated network).

``run_blades(kernel, graph, args, shards)`` starts one interpreter per blade, each in its
own thread with its ``shard_lo``/``shard_hi``, connected by
``cosynth.ir.collectives.InProcessNetwork``: the collectives ``exchange``, ``refresh``
and ``allreduce`` meet at a barrier, combine the blades' contributions in blade order (so
runs are deterministic whatever the thread timing), and count the messages and bytes
that would cross the network.  A blade that fails stops the others and its error is
raised; no partial result is returned.

Node tables are assembled from each owner's entries; scalars must agree on every blade.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ..errors import CosynthError
from .collectives import Collective, InProcessNetwork
from .interp import interpret
from .nodes import Kernel, TableRef

__all__ = ["Blade", "run_blades", "even_shards", "BladeRun"]


def even_shards(n: int, blades: int) -> list[tuple[int, int]]:
    """``blades`` contiguous vertex ranges of (almost) equal size covering ``0..n``."""
    bounds = np.linspace(0, n, blades + 1).round().astype(int)
    return [(int(bounds[i]), int(bounds[i + 1])) for i in range(blades)]


@dataclass
class Blade:
    """Who a blade is in a run: its ``rank``, every blade's vertex range (``shards``,
    tiling ``0..n`` in rank order) and the network joining them."""

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
