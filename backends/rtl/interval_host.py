"""The host side of an interval unit: a whole-graph device made of blocks.

``IntervalDevice(hw, layout)`` answers ``host.UnitHost``'s device protocol (register
reads and writes, ``load``, ``readback``, ``run``) for a graph of ``layout.n`` vertices,
however large, on an ``interval.IntervalUnit`` that holds only two intervals on chip:

* ``load`` / ``readback`` of vertex entries are host transfers into / out of the card's
  memory (the regions of ``layout.MemoryLayout``), counted in ``transfer_bytes``;
* ``run(rule, src, dst, weight)`` writes the edges into the edge region in blocks
  (``layout.encode_edges``, a host transfer too) and walks them: per target interval,
  the first block loads window A, every block whose other interval differs loads window
  B, the last writes window A back; the run's status is the OR of the blocks' ``changed``
  and the sum of their counters, its cycles the blocks' cycles (engine time included).

Invariant: memory regions always hold the current tables between block commands (a
target interval is written back before the next one is loaded), so every block reads
exactly the values a sequential run of the edges in block order would read.  The ID and
DEPTH registers are answered for the whole graph (``DEPTH`` = n): ``UnitHost`` checks them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .host import DeviceError
from .interval import ENGINE_REGS, FLAG_LOAD_A, FLAG_LOAD_B, FLAG_WRITEBACK
from .layout import MemoryLayout, encode_edges
from .memport import WORD_BYTES
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
    writebacks: int = 0
    transfer_bytes: int = 0  # host <-> card memory (vertex entries, edge blocks)


class IntervalDevice:
    def __init__(self, hw, layout: MemoryLayout):
        self.hw = hw  # interval_sim.IntervalSimDevice or interval_verilator.VerilatorIntervalDevice
        self.layout = layout
        self.rm: RegisterMap = hw.unit.regmap
        self.stats = BlockStats()
        self.walks: list[list] = []  # the blocks of every run, in order (the cost model's)
        hw.resize(layout.edge_base)
        bases = [(ENGINE_REGS["MEM_BASE"] + mid, layout.region_base(mid))
                 for mid, _, _ in layout.memories]
        hw.write_regs(bases)

    def write_regs(self, pairs) -> None:
        self.hw.write_regs(pairs)

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
        words, blocks = encode_edges(lay, r.target_end, src, dst, weight)
        self.hw.resize(lay.edge_base + words.size)
        self.hw.fill(lay.edge_base, words)
        self.stats.transfer_bytes += int(words.size) * WORD_BYTES
        self.walks.append(blocks)
        self.hw.write_regs([(self.rm.reg("RULE"), rule)])
        res = {"done": True, "changed": False, "cycles": 0, "edges": 0, "updates": 0,
               "hazards": 0, "stalls": 0}
        names = ("STATUS", "EDGES_DONE", "UPDATES", "HAZARDS", "STALLS")
        R, I = ENGINE_REGS, lay.interval
        for i, (d, s, first, count) in enumerate(blocks):
            flags = 0
            if i == 0 or blocks[i - 1][0] != d:
                flags |= FLAG_LOAD_A
                self.stats.window_loads += 1
            if s != d:
                flags |= FLAG_LOAD_B
                self.stats.window_loads += 1
            if i == len(blocks) - 1 or blocks[i + 1][0] != d:
                flags |= FLAG_WRITEBACK
                self.stats.writebacks += 1
            cyc = self.hw.block([(R["BLK_EDGES"], first), (R["BLK_COUNT"], count),
                                 (R["BLK_A"], d * I), (R["BLK_B"], s * I),
                                 (R["BLK_FLAGS"], flags)])
            status, edges, updates, hazards, stalls = self.hw.read_regs(
                [self.rm.reg(x) for x in names])
            if not status & 2 or edges != count:
                raise DeviceError(f"block ({d}, {s}): the unit consumed {edges} of {count} "
                                  "edges")
            self.stats.blocks += 1
            self.stats.block_cycles += cyc
            res["changed"] |= bool(status & 4)
            res["cycles"] += cyc
            res["edges"] += edges
            res["updates"] += updates
            res["hazards"] += hazards
            res["stalls"] += stalls
        return res
