"""What an interval unit costs: its size on a part, and its cycles on a memory.

``choose(spec, part, n, dram)`` is the planner's pick of the unit's parameters: the
largest power-of-two interval ``I`` whose on-chip memories (``2 I`` entries per memory,
one copy per read port: ``bitstream.bram_blocks``) plus the two read FIFOs (edges,
gathered entries) and the gather map (``gather_blocks``) fit in
``INTERVAL_BRAM_SHARE`` of the part's block RAM with no PE's memories over
``pe_block_cap`` (one PE: its family's ``PE_BLOCKS``; several: a quarter of the part),
and a FIFO deep enough to cover the memory's
latency at its word rate; the unit's logic (``unit_logic``: ``LOGIC_PER_PE`` cells a PE,
measured by place and route) must fit in ``LOGIC_SHARE`` of the part's logic cells.  A
part on which not even an interval of two fits, or whose logic cannot hold one PE, is
refused (``NoIntervalFits``) with the reason and the smallest known part that would take
it.

``predict_cycles(layout, blocks, dram, fifo_depth)`` is the cycle model of a run of
block commands, phase by phase as ``interval.IntervalUnit`` executes them: the host's
register writes, the window loads and write-backs (``words / rate`` plus the memory's
latency to fill the pipe), the edge stream (the slower of one edge per clock and the
memory's word rate), a window-B gather beside the edge stream (what it adds beyond
it: ``_gather_beside``), the pipeline's drain.  The word rate is the port's one word per
clock, lowered by the memory's bandwidth (``bytes_per_clock / 8``) and by the FIFO
(``fifo_depth / latency`` reads in flight).  The benchmark (``bench/bench_interval.py``)
compares it with the co-simulated cycles.

Host transfers (``host_transfer_bytes``): per unit call the host writes the entries of
the tables that changed and reads back the touched targets (8 bytes each), and writes
each run's edges into the edge region (``layout.bytes_per_edge`` each).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from cosynth import ops
from cosynth.errors import CosynthError
from cosynth.ir.nodes import Store
from cosynth.planner import parts as partlist

from .bitstream import _BLOCK_SHAPE, BRAM_SHARE, bram_blocks
from .costs import FpgaProfile, bits_per_vertex
from .costs import fpga_profile as _base_profile
from .dram import DramConfig
from .kernel import parallel_safe
from .layout import DENSE, MemoryLayout, dense_bits, edges_per_word, gathers, map_words
from .memport import WORD_BYTES
from .multi import COMMAND_STAGES, READ_LATENCY, RETURN_STAGES
from .regmap import RegisterMap

__all__ = ["IntervalChoice", "NoIntervalFits", "choose", "predict_cycles", "predict_parallel",
           "host_transfer_bytes", "fifo_blocks", "BLOCK_OVERHEAD", "DEFAULT_MEMORY",
           "host_block_cycles",
           "memory_for", "whole_fits", "unit_use", "predict_run", "IntervalProfile",
           "fpga_profile", "breakdown", "PHASES", "pe_queues", "group_words", "deal",
           "every_edge_writes",
           "unit_blocks",
           "unit_logic", "logic_fits", "LOGIC_PER_PE", "LOGIC_SHARE",
           "INTERVAL_BRAM_SHARE", "PE_BLOCKS", "pe_block_cap"]

#: cycles a block command costs beyond its phases: the engine's DONE, LAUNCH and START
#: states (EDGE_COUNT is written in LAUNCH) and the unit's pipeline draining after the
#: last edge -- the host's
#: register writes and reads overlap the running block (``interval``'s command queue;
#: measured against the co-simulation: bench/bench_interval.py)
BLOCK_OVERHEAD = 14
#: clocks a read takes beyond the memory's latency: the engine's command stage
#: (``port_arbiter``: every engine meets one, its own or a shared port's) and two of the
#: engine's own (the request register, the read FIFO)
ROUND_TRIP = 2 + COMMAND_STAGES
#: the results a host reads per finished block (``interval_host``: BLK_CYCLES, STATUS,
#: EDGES_DONE, UPDATES, HAZARDS, STALLS) and the registers it writes (the next block's
#: five and BLK_CTRL)
_RESULT_READS, _BLOCK_WRITES = 6, 6
#: words a clock the engine's write-back moves at most: its words pass a two-place
#: ``fifo.SyncFIFOBuffered`` (``interval``'s ``wbq``), whose inner FIFO of one place
#: takes a word only every other cycle (it is not writable while full, even in the
#: cycle it is read) -- measured: a 4,096-word window A takes 8,196 cycles to write
#: back (kron-16 CC P = 1, co-simulated)
WRITEBACK_RATE = 0.5


def host_block_cycles(pes: int) -> float:
    """Register-bus cycles the host spends on one block of a run on ``pes`` PEs: with
    several, each read waits ``multi.READ_LATENCY`` clocks, a PE_SEL write selects the
    PE and the poll of PE_BUSY is presented again; one PE answers at once.  The host
    serves every PE's blocks one after another, so a run takes at least its blocks
    times this (``predict_parallel``, ``predict_run``)."""
    if pes <= 1:
        return float(_BLOCK_WRITES)
    return 1 + _RESULT_READS * READ_LATENCY + _BLOCK_WRITES + READ_LATENCY
_BLOCK_BITS = {"ice40": 4096, "ecp5": 18432, "ultrascale+": 36864}

#: distinct other endpoints of a block over what edges drawn uniformly would give
#: (``I (1 - e^(-k / I))`` for k edges): a skewed graph's blocks read the same hubs
#: again.  Measured on Graph500 R-MAT graphs (kron-14, 16, 18; intervals of 1024 and
#: 4096): 0.38 to 0.56; a graph of uniform degrees is 1.  The planner knows n and m,
#: not the degrees, so it takes the R-MAT figure (the graphs it is benchmarked on).
GATHER_SKEW = 0.42

#: the external memory assumed when a manifest's FPGA has no ``memory`` section, per
#: family: (kind, bytes/s, latency s, burst bytes) of the one channel such boards carry
#: -- iCE40 boards an x16 SDRAM at 100 MHz, ECP5 boards (Versa, OrangeCrab, ULX3S-class)
#: an x16 DDR3-800 (BL8: 16-byte bursts), datacenter cards one DDR4-2400 x64 channel
DEFAULT_MEMORY = {"ice40": ("sdram", 0.2e9, 70e-9, 8), "ecp5": ("ddr3", 1.6e9, 100e-9, 16),
                  "ultrascale+": ("ddr4", 19.2e9, 80e-9, 64)}


#: logic of one PE of an interval unit (its engine, edge pipeline, arbiter share and
#: host registers) in the family's logic cells, as placed and routed: ECP5-85F at P = 1,
#: seed 1, the largest of the examples' units -- CC 6,369 LUT4 (SSSP-int 5,771, BFS
#: 5,559; bench/results/interval_pnr_p1_{cc,sssp_int}_stop20.json,
#: interval_pnr_p1_stop19_s1.json), so a unit of the examples the planner accepts fits; a
#: kernel with wider values may take more (the flow's utilisation error names the part
#: then).  iCE40 HX8K 8,110 logic cells for BFS at P = 1 (a logic cell holds a LUT and a
#: flip-flop: bench/results/interval_pnr_p1_hx8k_stop19.json, 105% of the part: nextpnr
#: could not place it; the other examples' units are larger, so the refusal holds for
#: them).  UltraScale+ is not measured: a LUT6 takes at least what a LUT4 does, so the
#: ECP5 figure bounds it.
LOGIC_PER_PE = {"ice40": 8110, "ecp5": 6369, "ultrascale+": 6369}
#: the share of the part's logic cells a unit may take (placement and routing need the
#: rest)
LOGIC_SHARE = 0.9
#: the share of the part's block RAM an interval unit may take.  A whole-graph unit keeps
#: ``bitstream.BRAM_SHARE`` (0.6); an interval unit's blocks are its PEs' windows, each
#: PE's in a region of its own (``floorplan``), and the measured limit is how far one PE's
#: memories spread (``PE_BLOCKS``), not the total: ECP5-85F BFS P = 4 C = 4 interval 2048
#: (144 blocks estimated, 136 of 208 placed: 65%) routes at 95.5 / 94.8 / 95.0 MHz,
#: seeds 1 / 2 / 3, quadrants, beside interval 1024 (80 / 64 blocks) at 90.3 MHz, seed 1
#: (bench/results/interval_pnr_p4_i{2048,1024_c4}_s26*.json; both end in a PE's gather
#: machine, rem -> map-word select -> gather_state).  0.6 refused 2048.  On the smaller ECP5s
#: one PE at 64% (25F interval 2048: 34 of 56 placed) routes at 104.7 MHz, 45F 4096 (66 of
#: 108) at 103.0 (interval_pnr_p1_{25f,45f}_*_s26.json).
INTERVAL_BRAM_SHARE = 0.7
#: the most block RAMs (``unit_blocks``' estimate) one PE's memories may take, by family,
#: measured by place and route on the ECP5-85F: 68 (P = 1, interval 4096) routes BFS at
#: 102.9 / 104.7 / 100.8 MHz; 132 (interval 8192: 130 DP16KD placed) routes BFS / SSSP-int
#: / CC at 73.7 / 74.8 / 71.6 MHz, seed 1 -- the engine's request path stretched across
#: the windows (13.6 ns, engine state -> cmd_done -> areg;
#: bench/results/interval_pnr_p1_i8192_s26_*.json).  Several PEs: each PE's blocks within
#: a quarter of the part's (``floorplan.quadrants`` gives each PE a quarter of the die):
#: P = 2 at interval 4096 (66 DP16KD a PE, more than a quarter's 54 sites, so no
#: quadrants) routes at 89.7 (bands) / 87.9 (no floorplan) MHz, at 2048 (quadrants)
#: 103.4 / 95.7 / 96.9 (interval_pnr_p2_i4096_s26_*.json, interval_pnr_p2m2_stop22_*).  A
#: family without a figure: no cap.
PE_BLOCKS = {"ecp5": 68}


def pe_block_cap(part, pes: int) -> int | None:
    """The most block RAMs one of ``pes`` PEs may take on ``part`` (``PE_BLOCKS``; None:
    no measured cap for the family)."""
    if part.family not in PE_BLOCKS:
        return None
    return PE_BLOCKS[part.family] if pes <= 1 else _part_blocks(part) // 4


class NoIntervalFits(CosynthError):
    """No interval of the unit fits on the part."""


@dataclass(frozen=True)
class IntervalChoice:
    interval: int
    fifo_depth: int
    bram_blocks: int  # the unit's memories and its FIFO
    part_blocks: int

    def as_dict(self) -> dict:
        return {"interval": self.interval, "fifo_depth": self.fifo_depth,
                "bram_blocks": self.bram_blocks, "part_blocks": self.part_blocks}


def fifo_depth_for(dram: DramConfig) -> int:
    """Reads in flight that keep the port busy: latency x word rate, plus slack, as a
    power of two (at least 8, at most 512)."""
    need = dram.latency * min(1.0, dram.bytes_per_clock / WORD_BYTES) + 8
    return max(8, min(512, 1 << math.ceil(math.log2(need))))


def fifo_blocks(depth: int, family: str) -> int:
    return -(-(depth * 64) // _BLOCK_BITS[family])


def gather_blocks(interval: int, family: str) -> int:
    """Block RAMs of the engine's gather map: two banks of ``I / b`` words of ``b =
    min(64, I)`` bits and a "not empty" bit each (``interval.gather_map_bits``; the next
    block's map comes into one while the running block's gather reads the other).  The
    map is LUT RAM (``ram_style`` distributed, ``interval``) on a family that has it
    (ECP5, UltraScale+): no block RAM.  iCE40 has no LUT RAM (its interval units are
    refused for want of blocks anyway): its map stays counted as the blocks it would
    take."""
    if family != "ice40":
        return 0
    b = min(64, interval)
    words = 2 * interval // b
    width, entries = _BLOCK_SHAPE[family]
    return -(-(b + 1) // width) * -(-words // entries)


def _part_blocks(part) -> int:
    return part.bram_bits // _BLOCK_BITS[part.family]


def unit_blocks(spec, part_name, interval: int, fifo: int, pes: int = 1) -> int:
    """Block RAMs of an interval unit of ``pes`` PEs on ``part_name`` (or a ``Part``):
    per PE its windows (``2 I`` entries a memory, a copy per read port), its two read
    FIFOs and its gather map."""
    part = partlist.lookup(part_name) if isinstance(part_name, str) else part_name
    if part.family in ("ice40", "ecp5"):
        mems = bram_blocks(spec, 2 * interval, part.family)
    else:  # large parts: by bits (their blocks cascade in width and depth)
        mems = -(-(bits_per_vertex(spec) * 2 * interval) // _BLOCK_BITS[part.family])
    # two read FIFOs a PE: the edges' and the gathered entries' (``interval``)
    return pes * (mems + 2 * fifo_blocks(fifo, part.family) +
                  gather_blocks(interval, part.family))


def unit_logic(part, pes: int = 1) -> int:
    """Logic cells an interval unit of ``pes`` PEs takes on ``part`` (a name or a
    ``Part``): ``LOGIC_PER_PE`` of its family a PE (the windows' size does not change
    it: their address counters are a few bits of the engine)."""
    part = partlist.lookup(part) if isinstance(part, str) else part
    return pes * LOGIC_PER_PE[part.family]


def logic_fits(part, pes: int = 1) -> bool:
    part = partlist.lookup(part) if isinstance(part, str) else part
    return unit_logic(part, pes) <= LOGIC_SHARE * part.luts


def _fits(spec, part, interval: int, fifo: int, pes: int = 1) -> int | None:
    if not logic_fits(part, pes):
        return None
    used = unit_blocks(spec, part, interval, fifo, pes)
    cap = pe_block_cap(part, pes)
    if cap is not None and used > cap * pes:
        return None
    return used if used <= INTERVAL_BRAM_SHARE * _part_blocks(part) else None


def choose(spec, part_name: str, n: int, dram: DramConfig, pes: int = 1) -> IntervalChoice:
    """The interval and FIFO depth of ``spec``'s interval unit of ``pes`` PEs (each with
    its own windows and FIFO) on ``part_name`` for a graph of ``n`` vertices (an interval
    never exceeds the graph, rounded up)."""
    part = partlist.lookup(part_name)
    fifo = fifo_depth_for(dram)
    cap = max(2, 1 << max(1, math.ceil(math.log2(max(2, n)))))
    best = None
    interval = 2
    while interval <= cap:
        used = _fits(spec, part, interval, fifo, pes)
        if used is None:
            break
        best = IntervalChoice(interval, fifo, used, _part_blocks(part))
        interval *= 2
    if best is None:
        fitting = [p for p in sorted(partlist.PARTS.values(), key=lambda p: p.bram_bits)
                   if _fits(spec, p, 2, fifo, pes) is not None]
        pe_s = f"{pes} PE{'s' * (pes > 1)}"
        if not logic_fits(part, pes):
            why = (f"unit '{spec.name}' ({pe_s}) does not fit on {part.name}: its logic "
                   f"(about {unit_logic(part, pes):,} logic cells, {LOGIC_PER_PE[part.family]:,} "
                   f"a PE as placed and routed) exceeds {LOGIC_SHARE:.0%} of the part's "
                   f"{part.luts:,}")
        else:
            why = (f"unit '{spec.name}' ({pe_s}) does not fit on {part.name} even with an "
                   f"interval of two vertices: its memories ({bits_per_vertex(spec)} bits a "
                   "vertex, every read port a copy, in blocks at least one wide) and a "
                   f"{fifo}-word FIFO exceed {INTERVAL_BRAM_SHARE:.0%} of the part's "
                   f"{_part_blocks(part)} block RAMs")
        raise NoIntervalFits(
            why,
            hint=(f"the smallest part it fits on is {fitting[0].name}" if fitting else
                  "no known part has enough block RAMs and logic; the planner keeps it on "
                  "the CPU"))
    return best


def _rate(dram: DramConfig, fifo_depth: int) -> float:
    """Words per clock a sequential stream of reads reaches."""
    return max(1e-9, min(1.0, dram.bytes_per_clock / WORD_BYTES,
                         fifo_depth / (dram.latency + ROUND_TRIP)))


def _edge_words(layout: MemoryLayout, packed: int) -> float:
    """Port words an edge takes for a run that went ``packed`` (``layout.encode_run``'s
    third value): a weighted edge half a word when ``layout.DENSE``, one when packed
    (else two), unweighted edges two a word when packed (``layout.edges_per_word``)."""
    return 1.0 / edges_per_word(layout, packed)


def _gather_rate(dram: DramConfig, fifo_depth: int) -> float:
    """Words per clock of scattered reads: each opens a DRAM burst of its own."""
    return max(1e-9, min(1.0, dram.bytes_per_clock / dram.burst_bytes,
                         fifo_depth / (dram.latency + ROUND_TRIP)))


def _map_ahead(gmap: float, dram: DramConfig) -> float:
    """What a gather map read costs a block that is not the first of its PE's walk: the
    engine reads a queued block's map once the running block's edge reads are all
    issued (``interval``'s ``pf``), so it overlaps that block's tail -- its last words'
    latency, the pipeline's drain and the two cycles between commands
    (``BLOCK_OVERHEAD``)."""
    return max(0.0, gmap - (dram.latency + ROUND_TRIP + BLOCK_OVERHEAD))


def every_edge_writes(spec) -> bool:
    """Does every edge a run of ``spec``'s unit takes write its target entry?  The unit
    writes an entry only when the reduction changes it (``unit``: the write enable is
    the edge's predicate and "the value changes").  True when each rule's reduction is a
    store at the top of its body (no guard) whose operator may change the target for any
    value (an accumulation, ``+=``: ``ops.Reduction.improves`` is None), so that every
    edge whose value is not the identity writes.  A min / max / or / and reduction
    (CC's ``label min= ...``, SSSP's ``dist min= ...``) writes only the edges that
    improve their target, and a guarded store (BFS: only edges out of the frontier)
    only the edges that pass: shares the model does not know before the run -- False,
    and the model counts none of their writes (measured: CC's changing edges are few
    after its first sweep; counting all of them over-predicts kron-16 CC by 15-31%)."""
    rules = getattr(spec, "rules", ())
    return bool(rules) and all(
        any(isinstance(s, Store) and s.table == u.target for s in r.body)
        and ops.reduction(u.op).improves is None
        for r in rules for u in r.ups)


def _gather_beside(layout: MemoryLayout, count: float, gathered: float, dram: DramConfig,
                   fifo_depth: int, ew: float,
                   edge_writes: bool = False) -> tuple[float, float, float, float]:
    """A gathering block, whose gather runs beside its edges (the engine's gate lets an
    edge go once its window-B entry is in): ``(map, edges, beyond, loads)`` -- the map
    read before the run (its latency and words), the edge stream alone, what the run
    takes beyond that stream for the gather's reads: the slower of the gather machine
    (per memory a cycle to start and one per map word, a scattered read per entry) and
    the port (edge words and gathered reads share its one command a clock); and what it
    takes beyond the stream for the gathered entries' *loads* when every edge writes
    (``edge_writes``: ``every_edge_writes``): the unit takes a load into window B only in
    a cycle its pipeline does not write that memory (``EdgeUnit(busy_loads=True)``), and
    the live memory's write port is the pipeline's in every cycle an edge's write-back
    passes -- so the block's edges' writes and its gathered entries' loads into the live
    memory take a cycle each, ``count + gathered`` (measured, kron-16 CC P = 1: 0.996 of
    the gathered entries beyond the stream in the sweeps that write no window back).
    The early gather (``gnx``) does not hide these: its words wait in the gather FIFO
    until the block launches."""
    r = _rate(dram, fifo_depth)
    w, nm = map_words(layout), len(layout.memories)
    reads = nm * gathered / _gather_rate(dram, fifo_depth)
    edges = max(count, count * ew / r)
    machine = nm * (1 + w) + reads
    port = count * ew / r + reads
    unit = count + gathered if edge_writes and layout.live else 0.0
    return (dram.latency + ROUND_TRIP + w / r, edges, max(0.0, machine - edges, port - edges),
            max(0.0, unit - edges))


def predict_cycles(layout: MemoryLayout, blocks, dram: DramConfig, fifo_depth: int,
                   packed: bool = False, written=None, edge_writes: bool = False) -> float:
    """Cycles of the block commands ``blocks`` (``(d, s, first_word, edges, gathered)``
    in walk order, as ``layout.encode_run`` returns them; ``packed``: weighted edges one
    word each; ``written``: the target intervals whose window A a block changed -- the
    engine writes back only those; None: every one, what a model before the run
    assumes; ``edge_writes``: every edge writes its target, ``every_edge_writes(spec)``):
    the sum of ``breakdown``'s phases."""
    return sum(breakdown(layout, blocks, dram, fifo_depth, packed, written,
                         edge_writes).values())


#: the phases ``breakdown`` splits a block walk into
PHASES = ("edges", "edge_fill", "gather_reads", "gather_loads", "gather_maps",
          "window_loads", "writebacks", "overhead")


def breakdown(layout: MemoryLayout, blocks, dram: DramConfig, fifo_depth: int,
              packed: bool = False, written=None, edge_writes: bool = False) -> dict:
    """Where ``predict_cycles``' cycles go, phase by phase (``PHASES``), on a port of its
    own: ``edges`` the edge stream (one an edge, or the port's word rate), ``edge_fill``
    its latency per block, ``gather_reads`` what a gather beside the edges adds to the
    run (``_gather_beside``: its scattered reads and map-word cycles beyond the edge
    stream, or the port's words beyond it), ``gather_loads`` what the gathered entries'
    loads add beyond that when every edge writes (``edge_writes``: each load waits for a
    cycle the pipeline does not write the live memory, ``_gather_beside``), ``gather_maps``
    the map's read before the
    run (after the first block, what the block before does not hide: ``_map_ahead``),
    ``window_loads`` whole windows A (per target interval) and B,
    ``writebacks`` changed windows A (at ``WRITEBACK_RATE`` words a clock at most),
    ``overhead`` ``BLOCK_OVERHEAD`` a block."""
    r = _rate(dram, fifo_depth)
    ew = _edge_words(layout, packed)
    # writes need no FIFO; the engine's write-back queue takes a word every other cycle
    wr = min(WRITEBACK_RATE, dram.bytes_per_clock / WORD_BYTES)
    load = len(layout.memories) * layout.interval
    wb = len(layout.live) * layout.interval
    fill = dram.latency + ROUND_TRIP
    out = dict.fromkeys(PHASES, 0.0)
    for i, (d, s, _first, count, gathered) in enumerate(blocks):
        out["overhead"] += BLOCK_OVERHEAD
        if i == 0 or blocks[i - 1][0] != d:
            out["window_loads"] += fill + load / r
        out["edge_fill"] += fill
        if gathered:
            gmap, edges, beyond, loads = _gather_beside(layout, count, gathered, dram,
                                                        fifo_depth, ew, edge_writes)
            if i > 0 and blocks[i - 1][0] == d:
                # the gather starts during the block before (``interval``'s ``gnx``):
                # its map and first reads overlap that block's tail
                hide = max(0.0, dram.latency + ROUND_TRIP + BLOCK_OVERHEAD - gmap)
                out["gather_maps"] += _map_ahead(gmap, dram)
                reads = max(0.0, beyond - hide)
            else:
                out["gather_maps"] += gmap if i == 0 else _map_ahead(gmap, dram)
                reads = beyond
            out["gather_reads"] += reads
            # the loads' cycles are not hidden: an early gather's words wait until launch
            out["gather_loads"] += max(0.0, loads - reads)
            out["edges"] += edges
        else:
            if s != d:
                out["window_loads"] += fill + load / r
            out["edges"] += max(count, count * ew / r)
        if (i == len(blocks) - 1 or blocks[i + 1][0] != d) and \
                (written is None or d in written):
            out["writebacks"] += wb / wr
    return out


def pe_queues(blocks, pes: int, layout: MemoryLayout | None = None,
              packed: bool = False) -> list[list]:
    """The blocks each of ``pes`` PEs walks, as the host (``interval_host.IntervalDevice
    .run``, ``runtime/cosynth_interval.hpp``) deals them: whole target intervals (a PE
    holds its window A from the first block to the write-back), balanced by the port
    words they move (``group_words``: a PE's port is what bounds it) -- largest first,
    each to the PE with the fewest words so far (the lowest on a tie); each PE walks
    its intervals in rising order.  Without ``layout``: dealt out in turn (the walk
    before balancing; tests of the phases use it)."""
    groups: list[list] = []
    for i, b in enumerate(blocks):
        if i == 0 or blocks[i - 1][0] != b[0]:
            groups.append([])
        groups[-1].append(b)
    P = max(1, pes)
    owner = deal([group_words(layout, g, packed) for g in groups], P) \
        if layout is not None else [k % P for k in range(len(groups))]
    queues: list[list] = [[] for _ in range(P)]
    for k, g in enumerate(groups):
        queues[owner[k]].extend(g)
    return queues


def group_words(layout: MemoryLayout, group, packed: bool) -> int:
    """Port words of one target interval's blocks ``group`` (``(d, s, first, edges,
    gathered)``), an integer (the C++ host computes the same): window A, per block its
    edge words (two unweighted edges a word when ``packed``, two weighted ones when
    ``layout.DENSE``, an odd block's last word padded), and off the diagonal its gather
    map and one read per gathered entry and memory, or the whole window B.  Write-backs
    are left out (not known before the run; one a group at most)."""
    nm, I, mw = len(layout.memories), layout.interval, map_words(layout)
    ew = 1 if packed else layout.edge_words
    pairs = packed == DENSE or (bool(packed) and layout.edge_words == 1)
    words = nm * I
    for d, s, _f, count, gathered in group:
        words += (count + 1) // 2 if pairs else count * ew
        if s != d:
            words += mw + nm * gathered if gathered else nm * I
    return int(words)


def deal(weights, pes: int) -> list[int]:
    """The PE of each of the ``weights`` (integers): the largest first (the first on a
    tie), each to the PE with the smallest sum so far (the lowest on a tie) -- the
    longest-processing-time rule, within 4/3 of the best split."""
    load = [0] * max(1, pes)
    owner = [0] * len(weights)
    for k in sorted(range(len(weights)), key=lambda k: (-weights[k], k)):
        i = min(range(len(load)), key=lambda i: (load[i], i))
        owner[k] = i
        load[i] += weights[k]
    return owner


def predict_parallel(layout: MemoryLayout, blocks, dram: DramConfig, fifo_depth: int,
                     pes: int, packed: bool = False, written=None,
                     edge_writes: bool = False) -> float:
    """Cycles of a run on ``pes`` PEs: target intervals dealt out as the host does
    (``pe_queues``, balanced by port words); the slowest PE, or a memory port when it
    is the bottleneck (PE i's words go through port ``i % dram.ports``, one word a
    clock), or the channel (every port's
    bytes at ``bytes_per_clock``: a sequential word 8 bytes, a gathered entry a burst
    of its own).  One port: the port at the memory's word rate, as before ports.
    ``edge_writes``: every edge writes its target (``every_edge_writes``; ``breakdown``)."""
    if pes <= 1:
        return predict_cycles(layout, blocks, dram, fifo_depth, packed, written, edge_writes)
    queues = pe_queues(blocks, pes, layout, packed)
    host = len(blocks) * host_block_cycles(pes)
    slowest = max(predict_cycles(layout, q, _pe_memory(dram, pes), fifo_depth, packed, written,
                                 edge_writes) for q in queues)
    C = max(1, min(dram.ports, pes))
    per_port = [0.0] * C
    gathered = 0.0
    for i, q in enumerate(queues):
        w, g = _queue_words(layout, q, packed, written)
        per_port[i % C] += w
        gathered += g
    words = sum(per_port)
    channel = (8 * (words - gathered) + gathered * max(8, dram.burst_bytes)) / \
        dram.bytes_per_clock
    if C == 1:  # the model before ports: the port at the memory's word rate
        return max(slowest, words / min(1.0, dram.bytes_per_clock / WORD_BYTES), host)
    return max(slowest, max(per_port), channel, host)


def _pe_memory(dram: DramConfig, pes: int) -> DramConfig:
    """The memory as one of ``pes`` PEs sees it: PEs sharing one port (``multi``'s
    arbiter: more PEs than ports) wait ``RETURN_STAGES`` clocks more for a read (the
    arbiter's command stage is the one ``ROUND_TRIP`` counts)."""
    if pes <= dram.ports:  # one PE, or a port each
        return dram
    return dataclasses.replace(dram, latency=dram.latency + RETURN_STAGES)


def _queue_words(layout: MemoryLayout, blocks, packed: bool, written) -> tuple[float, float]:
    """(port words, gathered entries among them) of one PE's blocks."""
    groups = [b for i, b in enumerate(blocks) if i == 0 or blocks[i - 1][0] != b[0]]
    nwb = len(groups) if written is None else sum(g[0] in written for g in groups)
    load = len(layout.memories) * layout.interval
    ew = _edge_words(layout, packed)
    nm, w = len(layout.memories), map_words(layout)
    gathered = sum(nm * g for d, s, _f, _c, g in blocks if s != d and g)
    words = sum(count * ew for _d, _s, _f, count, _g in blocks) + \
        len(groups) * load + nwb * len(layout.live) * layout.interval + \
        sum((w + nm * g) if g else load for d, s, _f, _c, g in blocks if s != d)
    return words, gathered


def host_transfer_bytes(layout: MemoryLayout, loaded: int, read_back: int,
                        edges: int) -> int:
    """Bytes a unit call moves between host and card memory."""
    return (loaded + read_back) * WORD_BYTES + edges * layout.bytes_per_edge


def memory_for(family: str, memory=None, clock_hz: float = 100e6) -> tuple[DramConfig, str]:
    """The DRAM model of a unit at ``clock_hz``: the manifest's ``memory`` section (a
    ``manifest.FpgaMemory``) when there is one, else ``DEFAULT_MEMORY[family]``; and
    where the figures came from."""
    if memory is not None:
        ports = int(getattr(memory, "ports", 1))
        return (DramConfig.from_figures(memory.bandwidth, memory.latency, memory.burst_bytes,
                                        clock_hz, ports),
                f"manifest ({memory.kind}" + (f", {ports} ports)" if ports > 1 else ")"))
    kind, bw, lat, burst = DEFAULT_MEMORY[family]
    return (DramConfig.from_figures(bw, lat, burst, clock_hz),
            f"default {kind} for {family} ({bw / 1e9:g} GB/s, {lat * 1e9:g} ns)")


def whole_fits(spec, part_name: str, n: int) -> bool:
    """Does the whole-graph unit (every vertex on chip) fit in ``BRAM_SHARE`` of the
    part's block RAM?"""
    part = partlist.lookup(part_name)
    depth = max(2, n)
    if part.family in ("ice40", "ecp5"):
        used = bram_blocks(spec, depth, part.family)
    else:
        used = -(-(bits_per_vertex(spec) * depth) // _BLOCK_BITS[part.family])
    return used <= BRAM_SHARE * _part_blocks(part)


def unit_use(spec, part_name: str, n: int, memory=None, clock_hz: float = 100e6,
             pes: int | None = None) -> dict:
    """How the unit of ``spec`` sits on ``part_name`` for a graph of ``n`` vertices:
    ``{"kind": "whole", "bram_bits"}`` when every vertex fits on chip, else the interval
    unit the planner picks (``choose``): ``{"kind": "interval", "interval", "pes",
    "fifo_depth", "bram_blocks", "bram_bits", "memory": DramConfig.as_dict(),
    "memory_source"}``.  ``NoIntervalFits`` when not even an interval of two fits.
    ``pes`` None sizes the engines to the memory: a PE per port of the channel
    (``memory.ports``) when the unit's rules may run on several (``kernel.parallel_safe``),
    else one, and fewer when that many do not fit on the part; a memory's ports beyond
    the PEs stay unused."""
    part = partlist.lookup(part_name)
    if whole_fits(spec, part_name, n):
        return {"kind": "whole", "bram_bits": int(bits_per_vertex(spec) * max(2, n))}
    _interval_shape(spec)
    dram, source = memory_for(part.family, memory, clock_hz)
    if pes is None:  # a PE per port, as many as fit on the part
        for pes in range(dram.ports if parallel_safe(spec) else 1, 0, -1):
            try:
                choose(spec, part_name, n, dram, pes)
                break
            except NoIntervalFits:
                if pes == 1:
                    raise
    if dram.ports > pes:
        dram = DramConfig(dram.bytes_per_clock, dram.latency, dram.burst_words, pes)
    c = choose(spec, part_name, n, dram, pes)
    return {"kind": "interval", "interval": c.interval, "pes": pes,
            "fifo_depth": c.fifo_depth, "bram_blocks": c.bram_blocks,
            "luts": unit_logic(part, pes),
            "bram_bits": c.bram_blocks * _BLOCK_BITS[part.family],
            "memory": dram.as_dict(), "memory_source": source}


#: the weight bits the planner expects a weighted graph's edges to need (it does not see
#: the weights): Kronecker graphs' and the GAP suite's integer weights are 1..255
PLANNED_WEIGHT_BITS = 8


def predict_run(layout: MemoryLayout, dram: DramConfig, fifo_depth: int, edges: float,
                target_intervals: float, other_intervals: float, pes: int = 1,
                packed: bool | None = None, edge_writes: bool = False) -> float:
    """Expected cycles of one run of ``edges`` edges whose target endpoints spread over
    ``target_intervals`` intervals and other endpoints over ``other_intervals`` -- what
    the planner knows before the graph is cut into blocks.  Edges are taken as spread
    evenly over the grid of blocks (a block is non-empty with probability 1 - e^-k for
    k edges a cell), and each block costs what ``predict_cycles`` charges it: its
    overhead and pipe fill, window A loaded and written back once per target interval,
    window B loaded for every block off the diagonal, the edge stream at the slower of
    one edge per clock and the port's word rate.  Several PEs: the slower of the work
    split P ways and every word through the shared port.  A block off the diagonal
    gathers window B when ``layout.gathers`` says so for its expected distinct other
    endpoints (``GATHER_SKEW`` x what uniform edges would give).  ``packed`` None: weighted
    edges are taken as packed when the interval allows it (``layout.packs``; weights
    beyond 32 bits are not known before the run), and as dense (``layout.DENSE``, two a
    word) when it leaves a dense edge ``PLANNED_WEIGHT_BITS`` of weight or more.
    ``edge_writes``: every edge writes its target (``every_edge_writes``), so a gathered
    entry's load takes a cycle of the unit's own (``_gather_beside``)."""
    if edges <= 0:
        return 0.0
    if packed is None:
        packed = DENSE if dense_bits(layout) >= PLANNED_WEIGHT_BITS else \
            int(2 * layout.interval <= 1 << 16)
    dram = _pe_memory(dram, pes)
    ew = _edge_words(layout, packed)
    qt, qo = max(1.0, target_intervals), max(1.0, other_intervals)
    cells = qt * qo
    full = 1.0 - math.exp(-edges / cells)
    blocks = cells * full
    groups = qt * (1.0 - math.exp(-edges / qt))
    diag = min(qt, qo) * full
    r = _rate(dram, fifo_depth)
    wr = min(1.0, dram.bytes_per_clock / WORD_BYTES)
    load = len(layout.memories) * layout.interval
    wb = len(layout.live) * layout.interval
    fill = dram.latency + ROUND_TRIP
    # a block off the diagonal loads window B whole, or gathers its distinct entries
    I = layout.interval
    used = GATHER_SKEW * I * (1.0 - math.exp(-(edges / max(blocks, 1e-9)) / I))
    per_block = edges / max(blocks, 1e-9)
    if gathers(layout, math.ceil(used)):
        # the gather goes beside the block's edges (``_gather_beside``)
        gmap, _, beyond, loads = _gather_beside(layout, per_block, used, dram, fifo_depth,
                                                ew, edge_writes)
        # map read during the block before, the gather started in its tail (``gnx``);
        # the entries' loads wait for the block's launch (not hidden)
        hide = max(0.0, dram.latency + ROUND_TRIP + BLOCK_OVERHEAD - gmap)
        b_cycles = _map_ahead(gmap, dram) + max(0.0, beyond - hide, loads)
        b_words = map_words(layout) + len(layout.memories) * used
        b_scattered = len(layout.memories) * used  # a burst each
    else:
        b_cycles, b_words, b_scattered = fill + load / r, load, 0.0
    wbr = min(WRITEBACK_RATE, wr)  # the write-back queue's rate (``breakdown``)
    total = blocks * (BLOCK_OVERHEAD + fill) + groups * (fill + load / r + wb / wbr) + \
        (blocks - diag) * b_cycles + edges * max(1.0, ew / r)
    if pes <= 1:
        return total
    words = edges * ew + groups * (load + wb) + (blocks - diag) * b_words
    C = max(1, min(dram.ports, pes))
    host = blocks * host_block_cycles(pes)  # the host serves every PE's blocks
    if C == 1:  # one port shared by every PE
        return max(total / pes, words / wr, host)
    # a port each per PE group, the channel's bandwidth shared (as predict_parallel: a
    # sequential word 8 bytes, a gathered entry a burst)
    scattered = (blocks - diag) * b_scattered
    channel = ((words - scattered) * WORD_BYTES + scattered * max(WORD_BYTES,
                                                                  dram.burst_bytes)) / \
        dram.bytes_per_clock
    return max(total / pes, words / C, channel, host)


class IntervalProfile(FpgaProfile):
    """``costs.FpgaProfile`` that also says how the unit sits on a part for a graph of a
    given size (``unit_use``) and what an interval unit's call costs (``run_cycles``):
    the planner's view of units for graphs larger than the chip."""

    def unit_use(self, part: str, n: int, memory=None, clock_hz: float = 100e6) -> dict:
        """How the unit sits on ``part`` for ``n`` vertices (``interval_costs.unit_use``):
        every vertex on chip, or an interval unit with its interval, PEs, FIFO and block
        RAM; ``{"kind": "none", "why", "bram_bits"}`` when nothing fits."""
        if not self.eligible or self.spec is None:
            return {"kind": "none", "why": self.why, "bram_bits": 0}
        key = (part, int(n), memory, float(clock_hz))
        cache = self.__dict__.setdefault("_uses", {})
        if key not in cache:
            try:
                cache[key] = unit_use(self.spec, part, int(n), memory, clock_hz)
            except NoIntervalFits as exc:
                cache[key] = {"kind": "none", "why": exc.message,
                              "bram_bits": int(self.bits_per_vertex * max(2, int(n)))}
        return dict(cache[key])

    def run_cycles(self, use: dict, n: int, edges: float, vshare: float) -> float | None:
        """Predicted cycles of one unit call streaming ``edges`` edges of a blade holding
        ``vshare`` of the vertices, for an interval unit ``use`` (``unit_use``); None for
        a unit holding every vertex on chip (one edge per clock: ``cycles_per_edge``)."""
        if use.get("kind") != "interval" or self.spec is None:
            return None
        layout = MemoryLayout.of(RegisterMap.of(self.spec, 2), max(2, int(n)),
                                 int(use["interval"]))
        q = layout.intervals
        mine = max(1.0, vshare * q)
        # a rule's target endpoint lies in the blade's range (pull: in-edges of its
        # vertices) or anywhere (push: out-edges' destinations)
        in_range = all((r.kind == "in_edges") == (r.target_end == "dst")
                       for r in self.spec.rules)
        qt, qo = (mine, float(q)) if in_range else (float(q), mine)
        return predict_run(layout, DramConfig(**use["memory"]), int(use["fifo_depth"]),
                           edges, qt, qo, int(use.get("pes", 1)),
                           edge_writes=every_edge_writes(self.spec))



def fpga_profile(kv, variant: str) -> IntervalProfile:
    """``costs.fpga_profile`` with the interval unit's sizing and costs: the ``fpga``
    argument the driver gives the planner."""
    base = _base_profile(kv, variant)
    return IntervalProfile(**{f: getattr(base, f) for f in (
        "eligible", "why", "site_loops", "bits_per_vertex", "spec", "host_bytes_per_vertex",
        "host_bytes_per_edge")})


def _interval_shape(spec) -> None:
    """Refuse what the interval engine and its hosts do not move yet: fixed-point words
    (the hosts' interval walk loads and reads back integer words only) and rules with
    several reductions per edge (one write-back window per rule).  The whole-graph unit
    takes both; a graph too large for it stays on the CPU, with this reason."""
    if getattr(spec, "fixed", None) is not None:
        raise NoIntervalFits(
            f"unit '{spec.name}' uses a fixed-point policy, which interval units do not "
            "take yet (only a unit holding every vertex on chip does)",
            hint="a smaller graph, a part whose block RAM holds every vertex, or the CPU")
    for r in spec.rules:
        if len(getattr(r, "updates", ()) or ()) > 1:
            raise NoIntervalFits(
                f"unit '{spec.name}' makes several reductions per edge, which interval "
                "units do not take yet (only a unit holding every vertex on chip does)",
                hint="a smaller graph, a part whose block RAM holds every vertex, or the CPU")

