"""The host side of an interval unit: a whole-graph device made of blocks.

``IntervalDevice(hw, layout)`` answers ``host.UnitHost``'s device protocol (register
reads and writes, ``load``, ``readback``, ``run``) for a graph of ``layout.n`` vertices,
however large, on an ``interval.IntervalUnit`` that holds only two intervals on chip:

* ``load`` / ``readback`` of vertex entries are host transfers into / out of the card's
  memory (the regions of ``layout.MemoryLayout``), counted in ``transfer_bytes``;
* ``run(rule, src, dst, weight)`` writes the edges into the edge region in blocks
  (``layout.encode_edges``, a host transfer too) and walks them: per target interval,
  the first block loads window A, every block whose other interval differs loads window
  B (whole, or only the entries its edges read: ``layout.gathers``), the last writes
  window A back; the run's status is the OR of the blocks' ``changed``
  and the sum of their counters, its cycles those from its first register write to its
  last block's results (engine and host time: the blocks go through each PE's command
  queue, ``interval``, so the host's writes and reads overlap the running blocks).

Invariant: memory regions always hold the current tables between block commands (a
target interval is written back before the next one is loaded), so every block reads
exactly the values a sequential run of the edges in block order would read.  The ID and
DEPTH registers are answered for the whole graph (``DEPTH`` = n): ``UnitHost`` checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .host import DeviceError
from .interval import (
    ENGINE_REGS,
    FLAG_DENSE,
    FLAG_DST_B,
    FLAG_GATHER_B,
    FLAG_LOAD_A,
    FLAG_LOAD_B,
    FLAG_PACKED,
    FLAG_SRC_B,
    FLAG_WRITEBACK,
)
from .interval_costs import deal, group_words
from .layout import DENSE, MemoryLayout, encode_run
from .memport import WORD_BYTES
from .multi import PE_SEL
from .regmap import ID_VALUE, RegisterMap

__all__ = ["IntervalDevice", "BlockStats", "virtual_regmap"]

_MASK = (1 << 64) - 1


def virtual_regmap(hw_regmap: RegisterMap, n: int) -> RegisterMap:
    """The register map the host sees: the unit's, holding the whole graph."""
    d = hw_regmap.as_dict()
    d["depth"] = max(2, n)
    d["addr_bits"] = max(1, (max(2, n) - 1).bit_length())
    return RegisterMap.from_dict(d)


@dataclass
class BlockStats:
    blocks: int = 0
    block_cycles: int = 0
    window_loads: int = 0
    gathers: int = 0  # window-B loads that gathered entries (FLAG_GATHER_B)
    gathered: int = 0  # ... the entries they gathered
    writebacks: int = 0
    transfer_bytes: int = 0  # host <-> card memory (vertex entries, edge blocks)
    pe_edges: list = field(default_factory=list)  # per PE: edges it ran
    pe_cycles: list = field(default_factory=list)  # per PE: cycles of its block commands


class IntervalDevice:
    def __init__(self, hw, layout: MemoryLayout, gather: bool = True):
        self.gather = gather  # blocks may gather window B (False: always whole; benchmarks)
        self.hw = hw  # interval_sim.IntervalSimDevice or interval_verilator.VerilatorIntervalDevice
        self.layout = layout
        self.rm: RegisterMap = hw.unit.regmap
        self.pes = len(getattr(hw.unit, "pes", [hw.unit]))
        self.stats = BlockStats(pe_edges=[0] * self.pes, pe_cycles=[0] * self.pes)
        self.walks: list[list] = []  # the blocks of every run, in order (the cost model's)
        self.packed: list[int] = []  # per run: how its edges went (``encode_run``: 0,
        #                                   layout.PACKED or layout.DENSE)
        self.written: list[set] = []  # per run: target intervals a block changed (written back)
        hw.resize(layout.edge_base)
        bases = [(ENGINE_REGS["MEM_BASE"] + mid, layout.region_base(mid))
                 for mid, _, _ in layout.memories]
        self.write_regs(bases)

    def write_regs(self, pairs) -> None:
        """Register writes, to every PE (the block registers go to one: ``run``)."""
        pairs = list(pairs)
        if self.pes == 1:
            self.hw.write_regs(pairs)
        else:
            self.hw.write_regs([x for i in range(self.pes) for x in [(PE_SEL, i)] + pairs])

    def read_regs(self, addrs) -> list[int]:
        out = []
        for a in addrs:
            if a == self.rm.reg("ID"):
                out.append(ID_VALUE if self.hw.read_regs([a])[0] == ID_VALUE else 0)
            elif a == self.rm.reg("DEPTH"):
                out.append(max(2, self.layout.n))
            else:
                out.append(self.hw.read_regs([a])[0])
        return out

    def load(self, mems, addrs, values) -> None:
        mems, addrs = np.asarray(mems, np.int64), np.asarray(addrs, np.int64)
        at = np.array([self.layout.region_base(int(k)) for k in range(len(self.layout.memories))],
                      dtype=np.int64)[mems] + addrs
        self.hw.poke(at, np.asarray(values, dtype=np.int64).astype(np.uint64))
        self.stats.transfer_bytes += int(at.size) * WORD_BYTES

    def readback(self, mems, addrs) -> list[int]:
        mems, addrs = np.asarray(mems, np.int64), np.asarray(addrs, np.int64)
        at = np.array([self.layout.region_base(int(k)) for k in range(len(self.layout.memories))],
                      dtype=np.int64)[mems] + addrs
        self.stats.transfer_bytes += int(at.size) * WORD_BYTES
        return self.hw.peek(at).astype(np.int64).tolist()

    def run(self, rule: int, src, dst, weight=None) -> dict:
        lay = self.layout
        r = self.rm.rules[rule]
        words, blocks, packed = encode_run(lay, r.target_end, src, dst, weight,
                                           gather=self.gather)
        self.packed.append(packed)
        self.hw.resize(lay.edge_base + words.size)
        self.hw.fill(lay.edge_base, words)
        self.stats.transfer_bytes += int(words.size) * WORD_BYTES
        self.walks.append(blocks)
        self.written.append(set())
        self.write_regs([(self.rm.reg("RULE"), rule)])
        res = {"done": True, "changed": False, "cycles": 0, "edges": 0, "updates": 0,
               "hazards": 0, "stalls": 0}
        # per target interval: its blocks with their flags (load A first, write back last)
        groups: list[list] = []
        walks: list[list] = []  # the same groups as ``blocks`` tuples (``pe_queues``')
        for i, (d, s, first, count, gathered) in enumerate(blocks):
            flags = FLAG_PACKED if packed else 0
            if packed == DENSE:  # the other endpoint's window bit: B off the diagonal
                flags = FLAG_DENSE | ((FLAG_SRC_B if r.target_end == "dst" else FLAG_DST_B)
                                      if s != d else 0)
            if i == 0 or blocks[i - 1][0] != d:
                flags |= FLAG_LOAD_A
                self.stats.window_loads += 1
                groups.append([])
                walks.append([])
            walks[-1].append(blocks[i])
            if s != d:
                flags |= FLAG_GATHER_B if gathered else FLAG_LOAD_B
                self.stats.window_loads += 1
                self.stats.gathers += bool(gathered)
                self.stats.gathered += gathered
            if i == len(blocks) - 1 or blocks[i + 1][0] != d:
                flags |= FLAG_WRITEBACK
                self.stats.writebacks += 1
            groups[-1].append(((d, s, first, count), flags))
        # target intervals dealt out to the PEs balanced by their port words
        # (``interval_costs.pe_queues``: the largest first, each to the PE with the
        # fewest so far), each PE walks its own list in rising order through its
        # command queue (``interval``): a block is queued while the one before it
        # runs, and the host reads a finished block's results while the next one
        # runs -- no PE waits for the host between blocks
        owner = deal([group_words(lay, w, packed) for w in walks], self.pes)
        queues: list[list] = [[] for _ in range(self.pes)]
        for k, g in enumerate(groups):
            queues[owner[k]].extend(g)
        given, taken = [0] * self.pes, [0] * self.pes
        t0 = self.hw.now()
        R = ENGINE_REGS

        def select(i: int) -> list:
            return [(PE_SEL, i)] if self.pes > 1 else []

        def give(i: int, ctrl: int) -> list:
            """PE i's next block's registers and a BLK_CTRL write of ``ctrl`` (bit 0:
            queue it), or only the BLK_CTRL write when its list is done."""
            if given[i] == len(queues[i]):
                return [(R["BLK_CTRL"], ctrl & ~1)] if ctrl & ~1 else []
            (d, s, first, count), flags = queues[i][given[i]]
            given[i] += 1
            return self._block_regs(d, s, first, count, flags) + [(R["BLK_CTRL"], ctrl)]

        for i in range(self.pes):  # the first block starts, the second waits behind it
            self.hw.write_regs(select(i) + give(i, 1) + give(i, 1))
        names = ("STATUS", "EDGES_DONE", "UPDATES", "HAZARDS", "STALLS")
        addrs = [R["BLK_CYCLES"]] + [self.rm.reg(x) for x in names]
        while True:
            mask = sum(1 << i for i in range(self.pes) if taken[i] < given[i])
            if not mask:
                break
            ready = self.hw.wait_results(mask) >> 16 & mask
            for i in range(self.pes):
                if ready >> i & 1:
                    (d, s, _first, count), _ = queues[i][taken[i]]
                    if self.pes > 1:
                        self.hw.write_regs(select(i))
                    self._account(res, i, d, s, count, self.hw.read_regs(addrs))
                    taken[i] += 1
                    # read (bit 1), and the next block queued behind the running one
                    self.hw.write_regs(give(i, 3))
        res["cycles"] = self.hw.now() - t0
        return res

    def _block_regs(self, d, s, first, count, flags) -> list:
        R, I = ENGINE_REGS, self.layout.interval
        return [(R["BLK_EDGES"], first), (R["BLK_COUNT"], count), (R["BLK_A"], d * I),
                (R["BLK_B"], s * I), (R["BLK_FLAGS"], flags)]

    def _account(self, res: dict, pe: int, d: int, s: int, count: int, got: list) -> None:
        """Check the finished block of ``pe`` (its kept results ``got``: BLK_CYCLES,
        STATUS, EDGES_DONE, UPDATES, HAZARDS, STALLS) and add its counters."""
        cyc, status, edges, updates, hazards, stalls = got
        if not status & 2 or edges != count:
            raise DeviceError(f"block ({d}, {s}) on PE {pe}: the unit consumed {edges} of "
                              f"{count} edges")
        self.stats.blocks += 1
        self.stats.block_cycles += cyc
        self.stats.pe_edges[pe] += edges
        self.stats.pe_cycles[pe] += cyc
        res["changed"] |= bool(status & 4)
        if status & 8:  # STATUS.wrote: the engine wrote window A back
            self.written[-1].add(d)
        res["edges"] += edges
        res["updates"] += updates
        res["hazards"] += hazards
        res["stalls"] += stalls
