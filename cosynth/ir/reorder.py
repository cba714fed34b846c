"""The reordering oracle: seeded iteration orders and the stale reads ``async`` allows.

The interpreter normally runs every loop in program order, which is one legal execution
of a ``par``, ``bsp`` or ``async`` loop but never exercises the others.  With a seed
(``interpret(..., order=seed)``) it runs them the way the IR permits and no further:

* ``par`` / ``bsp`` / ``async`` node and edge loops run their iterations in an order drawn
  from ``random.Random(seed)`` (a fresh permutation each time the loop is entered);
* inside the outermost ``async`` loop of a nest, a read of a node/edge table that the
  loop writes with a plain store or a reduction may see any *prefix* of the writes other
  iterations made since the loop was entered (``AsyncWindow``): possibly none of them,
  possibly all.  An iteration always sees its own writes, and the prefixes its reads see
  never shrink (a value, once seen, is not unseen).  Reductions are atomic
  read-modify-writes of the current entry, as the IR's "reductions combine" says.

The same seed gives the same execution, so a failure is reproducible.  A rewrite whose
proof is wrong (a ``par`` loop with a carried dependence, an ``async`` fixed point that is
not monotone) gives a different result under some order: the differential harness runs
every variant under several seeds.
"""

from __future__ import annotations

import bisect
import random

__all__ = ["Reorder", "AsyncWindow"]


class Reorder:
    """The seeded source of every order and every prefix of one interpreter run."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def perm(self, seq) -> list:
        """The items of ``seq`` in a random order."""
        out = list(seq)
        self.rng.shuffle(out)
        return out

    def window(self, tables: set[str]) -> AsyncWindow:
        return AsyncWindow(self.rng, tables)


class _History:
    """The writes to one entry since the loop was entered: positions in the window's log,
    the values written and the iterations that wrote them; ``original`` is the value
    before the first."""

    __slots__ = ("original", "positions", "values", "writers")

    def __init__(self, original):
        self.original = original
        self.positions: list[int] = []
        self.values: list = []
        self.writers: list[int] = []


class AsyncWindow:
    """The writes of one execution of an ``async`` loop, in the order they happened.

    Invariants: ``count`` writes are logged; ``iteration`` numbers the running iteration
    (iterations run one after another, so the last writer of an entry is the running
    iteration exactly when that iteration wrote it); ``seen`` is the longest prefix a
    read of the running iteration has seen.
    """

    def __init__(self, rng: random.Random, tables: set[str]):
        self.rng = rng
        self.tables = tables
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.iteration = 0
        self.seen = 0
        self.hist: dict[tuple[str, int], _History] = {}

    def begin(self) -> None:
        """A new iteration starts: it has seen no other iteration's write yet."""
        self.iteration += 1
        self.seen = 0

    def record(self, table: str, i: int, old, new) -> None:
        h = self.hist.get((table, i))
        if h is None:
            h = self.hist[(table, i)] = _History(old)
        h.positions.append(self.count)
        h.values.append(new)
        h.writers.append(self.iteration)
        self.count += 1

    def read(self, table: str, i: int, current):
        """The value a read of ``table[i]`` sees; ``current`` is the entry's value now."""
        h = self.hist.get((table, i))
        if h is None or h.writers[-1] == self.iteration:
            return current  # never written in this loop, or written by this iteration
        k = self.rng.randint(self.seen, self.count)
        self.seen = k
        j = bisect.bisect_left(h.positions, k)  # writes at positions < k are visible
        return h.original if j == 0 else h.values[j - 1]
