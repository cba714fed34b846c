"""The cost model: predicted time, memory and money of a configuration of blades.

A *configuration* names the kernel variant, how many blades of each kind take part, on
which device each kind runs the parallel edge loops (CPU or FPGA), each kind's share of
the edges (every blade of a kind gets the same share), and whether the edge lists live in
DRAM or are streamed from the fileserver.

Per blade, over the whole run (``Workload`` counts the work):

* compute: edges / edge rate, where the CPU rate is ``cores x cpu_edges_per_second_per_core``
  (default 40 M edges/s per GHz per core) bounded by DRAM bandwidth at
  ``cpu_bytes_per_edge`` (16), and the FPGA rate is ``clock / fpga_cycles_per_edge``
  bounded by DRAM bandwidth at 16 bytes per edge; vertex work costs a quarter of an edge;
  sequential (replicated) loops run whole on every blade;
* working set, two levels: each edge's random references into vertex tables
  (``Nest.random_refs``, read off the IR) miss the second-level cache (``l2_bytes``) in
  the share of those tables' bytes (n x ``random_bytes``) it cannot hold, each such miss
  costing ``cpu_seconds_per_l2_miss`` of one core (an LLC hit), and miss the last-level
  cache (``cache_bytes``) in the share it cannot hold, each costing
  ``cpu_seconds_per_miss`` more: the term that grows once vertex data leave each cache.
  All four are measured by ``cosynth calibrate`` (the sizes from the system, the costs by
  the gather probe ``backends/cpp/memprobe``); uncalibrated, the L2 term is off and an
  LLC miss costs one edge's time;
* the vertex numbering (``layout_choice``, a plan choice beside the makespan): the same
  references counted per 64-byte line (``GraphStats.line_hit_share``) as numbered and in
  degree order; the shards are written in degree order on one blade when that saves
  more than ``LAYOUT_MIN_GAIN`` of them from missing L2 or the LLC.  The working-set term
  above still counts entries (a packed numbering), so the predicted makespan does not
  change with the choice;
* a sweep's rows (``Nest.rows_in_order``: every edge's id once a run, in vertex
  order, as a PageRank gather reads its CSC) beyond the LLC: each 64-byte line costs
  ``cpu_seconds_per_stream_line`` (the stream probe; uncalibrated 0) in the share of
  the rows' array the LLC cannot hold beyond the working-set law's graph's
  (``stream_miss_seconds``) -- the numbering does not change it;
* guards on a peel's flag (``Nest.flips``, ``workload.peel_guard_flips``): a vertex
  scan branching on a flag the peel sets once per vertex (k-core's ``if not
  removed[v]``) mispredicts at about every change of the flag along the scan, counted
  exactly from the peel in the blade's numbering; each change costs
  ``cpu_seconds_per_flip`` of one core (the branch probe, ``cosynth calibrate``;
  uncalibrated 0), and the nests' calibrated laws are fitted on their time less it;
* per-edge extras (``workload.static_cost``): a division per edge and a float addition
  into a shared entry (a compare-and-swap loop) raise the nest's cost factor until
  calibration measures it;
* memory: a sharded program's blade holds its own vertices and its ghosts (the vertices
  its edges touch, counted on the graph for the plan's ranges) in every node table, its
  share of the edges, and the outboxes and refresh copies (``Workload.blade_dram``); a
  replicated program's blade (or one with an FPGA unit) holds every vertex; every blade
  also holds ``blade_fixed_bytes`` that do not depend on the data (the MPI library and
  its shared-memory segments, OpenMP, the C++ runtime, libc, the program's code:
  ``blade_fixed``, calibratable, default ``BLADE_FIXED_BYTES``);
* communication, per run of a parallel nest: pushed reductions (one message of
  8 + value bytes per cut edge per reduction, at most one per entry the blade holds of
  other blades: the outbox combines them) and mirror refreshes (every blade receives its
  ghosts' entries of every table the nest wrote -- ``GraphStats.ghost_bound``, an upper
  bound: the sparse/dense switch sends fewer when few changed; replicated programs
  receive every entry they do not own) over the blade's link --
  traffic to other racks goes over the rack uplink, shared by the rack -- plus one
  tree-latency (``ceil(log2 P)`` hops) per collective;
* streaming: when edges are streamed, all blades share the fileserver's bandwidth;
* host transfers (a blade running the unit): every unit call (``Workload.fpga_calls``)
  starts two transfers over the card's host link (``fpga.host``: latency each) and syncs
  the unit's tables, ``n x FpgaCosts.host_bytes_per_vertex`` bytes (the host walks the
  whole table each call); every edge the unit streams moves
  ``FpgaCosts.host_bytes_per_edge`` bytes -- at the link's bandwidth (``host_terms``).
  A plan that calls the unit often with little work per call pays for it here.

Every default marked calibratable in ``manifest.CALIBRATABLE`` is replaced by measured
figures when the manifest has them (``cosynth calibrate``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from cosynth.frontend.rewrite.intersect import intersection
from cosynth.frontend.rewrite.relabel import relabelling, why_not
from cosynth.ir.nodes import Loop
from cosynth.ir.walk import iter_stmts

from .manifest import BladeKind, Manifest
from .stats import GraphStats, row_miss_share
from .units import format_quantity
from .workload import Workload, at_blades

__all__ = ["Config", "Estimate", "evaluate", "edge_rate", "node_rate", "run_seconds",
           "node_cost_factor", "comm_terms", "cpu_fixed", "predict_nests", "blade_fixed",
           "BLADE_FIXED_BYTES", "host_terms", "relabel_choice", "RELABEL_ENTRIES_PER_EDGE",
           "layout_choice", "LAYOUT_MIN_GAIN",
           "cache_bytes", "miss_seconds", "miss_fraction", "nest_misses",
           "working_set_seconds", "DEFAULT_CACHE_BYTES", "DEFAULT_L2_BYTES", "l2_bytes",
           "l2_miss_seconds", "nest_miss_seconds", "line_miss", "ws_law_seconds", "WS_FLOOR",
           "flip_seconds", "guard_flip_seconds", "row_miss_seconds", "row_line_seconds",
           "stream_miss_seconds", "stream_line_seconds",
           "row_l2_line_seconds"]

NODE_COST = 0.25  # a vertex visit costs a quarter of an edge relaxation
FPGA_BYTES_PER_EDGE = 16
#: a blade process's memory without data (MPI, OpenMP, libc, code): a blade without data
#: (BFS on kron:4, 8 blades, one thread) peaks at 13.9-14.0 MiB per process and an empty
#: MPI program (MPI_Init, one allreduce and one alltoall, MPI_Finalize) at 12.5 MiB among
#: 8 here (Open MPI 5.0.11, x86-64, ``pml ob1``, libstdc++ linked statically; about 11 MiB
#: of it are the pages of shared libraries); ``bench/bench_scale.py`` measures it again
#: as ``fixed``, ``cosynth calibrate`` per machine as ``blade_fixed_bytes``
BLADE_FIXED_BYTES = 14 * 2**20


def node_cost_factor() -> float:
    return NODE_COST


def blade_fixed(kind: BladeKind) -> float:
    """Bytes a blade of ``kind`` holds whatever its data: calibrated, or the default."""
    return kind.cal("blade_fixed_bytes", BLADE_FIXED_BYTES)


@dataclass(frozen=True)
class Config:
    variant: str
    counts: tuple[int, ...]  # blades of each kind, in manifest order
    fpga: tuple[bool, ...]  # each kind runs its parallel edge loops on its FPGA
    shares: tuple[float, ...]  # edge share of one blade of each kind
    streamed: bool = False
    ranges: tuple[tuple[int, int], ...] | None = None  # explicit shard map (baselines)


@dataclass
class Estimate:
    config: Config
    per_blade: list[dict]  # kind, compute, comm, stream, total, dram, fpga use
    makespan: float  # seconds over the whole run
    supersteps: float
    cost_per_hour: float
    violations: list[str] = field(default_factory=list)
    ranges: list[tuple[int, int]] = field(default_factory=list)

    @property
    def per_superstep(self) -> float:
        return self.makespan / self.supersteps

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def cost(self) -> float:
        return self.cost_per_hour * self.makespan / 3600.0


def edge_rate(kind: BladeKind, device: str, w: Workload | None = None) -> float:
    """Edges per second one blade of ``kind`` processes on ``device`` (memory-bounded).
    On an FPGA, the clock is the manifest's (or calibrated) one, lowered to the Fmax
    ``cosynth bitstream`` measured for this workload's unit on the kind's part."""
    if device == "fpga":
        fmem = kind.fpga.memory
        mem = (fmem.bandwidth if fmem else kind.dram_bandwidth) / FPGA_BYTES_PER_EDGE
        fig = _figures(kind, w)
        clock = kind.cal("fpga_clock_hz", kind.fpga.clock_hz)
        if fig and fig["fmax_hz"]:
            clock = min(clock, fig["fmax_hz"])
        # cycles per edge: calibrated, else measured in co-simulation (on the kind's
        # external memory when it has one), else one edge per clock
        measured = None
        if w is not None and getattr(w, "hw", None) is not None:
            measured = w.hw.cycles_per_edge(fmem, kind.fpga.clock_hz)
        per_edge = kind.cal("fpga_cycles_per_edge", measured or 1.0)
        if w is not None:
            per_edge *= w.fpga_cycles_per_edge
        rate = clock / per_edge
        return min(rate, mem)
    mem = kind.dram_bandwidth / kind.cal("cpu_bytes_per_edge", 16.0)
    return min(kind.cpu_edges_per_second, mem)


def node_rate(kind: BladeKind) -> float:
    """Vertices per second one blade's cores visit (default: four per edge's time)."""
    per_core = kind.cal("cpu_vertices_per_second_per_core",
                        kind.cpu_edges_per_second / kind.cpu_cores / NODE_COST)
    return per_core * kind.cpu_cores


def run_seconds(kind: BladeKind) -> float:
    """Seconds one execution of a parallel nest costs beyond its work: forking the
    cores, joining them, the superstep's bookkeeping (default 5 us)."""
    return kind.cal("cpu_seconds_per_run", 5e-6)


#: the last-level cache a blade's cores share when the manifest has no measured one
#: (``cosynth calibrate`` reads the machine's: ``cache_bytes``)
DEFAULT_CACHE_BYTES = 32 * 2**20


def cache_bytes(kind: BladeKind) -> float:
    return kind.cal("cache_bytes", DEFAULT_CACHE_BYTES)


def miss_seconds(kind: BladeKind) -> float:
    """Seconds one core loses to a random node-table reference that misses the cache
    (calibrated as ``cpu_seconds_per_miss``; default: one edge's time, a DRAM latency
    of ~80 ns overlapped ~10 deep by the core's out-of-order window)."""
    return kind.cal("cpu_seconds_per_miss", kind.cpu_cores / kind.cpu_edges_per_second)


def miss_fraction(ws_bytes: float, cache: float, hot=None, per_vertex: float = 0.0
                  ) -> float:
    """Of random references into ``ws_bytes`` of vertex data, the share that misses a
    cache of ``cache`` bytes: uniformly spread, the share of the data not in it; with
    ``hot`` (``GraphStats.hot_share``: the share of references an LRU cache of k
    vertices' entries serves, Che's approximation over the degrees) and ``per_vertex``
    bytes, the share it does not serve with ``cache / per_vertex`` entries.  Uniform
    degrees give the same as without."""
    if ws_bytes <= 0 or cache >= ws_bytes:
        return 0.0
    if hot is not None and per_vertex > 0:
        return max(0.0, 1.0 - hot(cache / per_vertex))
    return max(0.0, 1.0 - cache / ws_bytes)


def nest_misses(n, kind: BladeKind, vertices: float) -> float:
    """Cache misses per run of nest ``n`` (all its edges): each edge's random references
    (``Nest.random_refs``) into tables of ``random_bytes`` per vertex, ``vertices`` of
    them -- the working-set term the calibrated edge rate (measured on graphs whose
    vertex data fit the cache) does not hold."""
    refs = getattr(n, "random_refs", 0)
    if not refs:
        return 0.0
    return n.edges * refs * miss_fraction(n.random_bytes * vertices, cache_bytes(kind))


#: the second-level cache of one core when the manifest has no measured one
DEFAULT_L2_BYTES = 2**20


def l2_bytes(kind: BladeKind) -> float:
    return kind.cal("l2_bytes", DEFAULT_L2_BYTES)


def l2_miss_seconds(kind: BladeKind) -> float:
    """Seconds one core loses to a random reference that misses its second-level cache
    and hits the last level (calibrated as ``cpu_seconds_per_l2_miss`` by the gather
    probe; uncalibrated 0: the calibrated edge rate is the one measured)."""
    return kind.cal("cpu_seconds_per_l2_miss", 0.0)


def nest_miss_seconds(n, kind: BladeKind, vertices: float, hot=None, lines=None,
                      order: str = "id") -> float:
    """One core's seconds of cache misses per run of nest ``n``, both levels: each of its
    edges' random references (``Nest.random_refs``) into ``vertices`` x
    ``random_bytes`` of tables misses L2 and the LLC in the shares ``line_miss`` gives
    (per 64-byte line when ``lines``, ``Workload.lines``, is known; else per entry,
    ``miss_fraction``, skewed by the graph's degrees when ``hot``, ``Workload.hot``,
    is), at ``l2_miss_seconds`` and ``miss_seconds`` each.  Legality of adding the
    two: a reference that misses the LLC also missed L2 and pays both (the probe's fit,
    ``memprobe.fit_levels``, measures the LLC cost on top of the L2 one)."""
    rows = row_miss_seconds(n, kind, vertices) + stream_miss_seconds(n, kind, vertices)
    if getattr(n, "ws_ref", 0.0) > 0:
        return ws_law_seconds(n, kind, vertices, hot, lines, order) + rows
    refs = getattr(n, "random_refs", 0)
    if not refs:
        return rows
    return n.edges * refs * _miss_per_ref(n, kind, vertices, hot, lines, order) + rows


def row_line_seconds(kind: BladeKind) -> float:
    """Seconds one core loses to a 64-byte line of a row read out of vertex order that
    misses the last-level cache (calibrated as ``cpu_seconds_per_row_line`` by the row
    probe, ``memprobe.probe_rows``; uncalibrated 0: the term is off)."""
    return kind.cal("cpu_seconds_per_row_line", 0.0)


def row_l2_line_seconds(kind: BladeKind) -> float:
    """Seconds one core loses to a 64-byte line of a row read out of vertex order that
    misses its second-level cache and hits the last level (calibrated as
    ``cpu_seconds_per_row_l2_line`` by the row probe at an array between the two;
    uncalibrated 0: the term is off)."""
    return kind.cal("cpu_seconds_per_row_l2_line", 0.0)


def _rows_beyond(n, cache: float, vertices: float) -> float:
    """The share of nest ``n``'s rows (``row_array`` bytes on its graph of ``row_n``
    vertices, scaled to a graph of ``vertices`` at the same mean degree) that a cache of
    ``cache`` bytes cannot hold: what each row line misses when every line is read about
    once a run."""
    size = n.row_array * vertices / n.row_n
    return max(0.0, 1.0 - cache / size) if size > 0 else 0.0


def row_miss_seconds(n, kind: BladeKind, vertices: float) -> float:
    """One core's seconds per run of nest ``n`` for the lines of the rows it reads out
    of vertex order (``Nest.rows_out_of_order``: a bucketed or binned relaxation drains
    its vertices in their values' order; an ordered intersection merges the row of the
    vertex each outer edge points at) that miss the caches.  Each edge reads
    ``Nest.row_lines`` lines (else ``row_bytes`` / 64) of them; the share missing a cache
    is, for rows each read about once a run, the share of the rows' arrays (``row_array``
    bytes, on a graph of ``vertices`` at the same mean degree) the cache cannot hold, and
    for rows read at the rates ``Nest.row_rates`` gives (the rows of hot vertices are
    read again and again) Che's share (``stats.row_miss_share``), the cache scaled by
    ``row_n / vertices`` for a graph of ``vertices``.  A line missing the last level
    costs ``row_line_seconds`` (the probe's step from L2 to DRAM), one missing L2 only
    ``row_l2_line_seconds``.  A row read in vertex order streams (the hardware
    prefetches it); one read out of order starts at a line nothing fetched ahead, and
    its next lines follow within the edge loop's few iterations, so neither the gather
    probe (independent references) nor the calibration graphs (their rows fit the
    caches) price it.  With a working-set law (measured on a graph of ``ws_n``
    vertices, whose rows already missed in their shares there) only the change from it
    is charged (a line that moved from missing L2 to missing the last level pays the
    difference), and never less than nothing."""
    if not getattr(n, "rows_out_of_order", False) or n.row_bytes <= 0 or n.row_n <= 0:
        return 0.0
    cost, l2cost = row_line_seconds(kind), row_l2_line_seconds(kind)
    if (cost <= 0 and l2cost <= 0) or n.edges <= 0 or vertices <= 0:
        return 0.0
    rates = getattr(n, "row_rates", ())

    def share(cache: float, v: float) -> float:
        if rates:
            return row_miss_share(rates, cache * n.row_n / v / LINE_BYTES)
        return _rows_beyond(n, cache, v)

    def charge(v: float) -> float:
        llc = share(cache_bytes(kind), v)
        l2 = max(share(l2_bytes(kind), v), llc) if l2cost > 0 else llc
        return llc * cost + (l2 - llc) * l2cost
    beyond = charge(vertices)
    if getattr(n, "ws_ref", 0.0) > 0 and getattr(n, "ws_n", 0.0) > 0:
        beyond -= charge(n.ws_n)
    lines = getattr(n, "row_lines", 0.0) or n.row_bytes / LINE_BYTES
    return n.edges * lines * max(beyond, 0.0)


def stream_line_seconds(kind: BladeKind) -> float:
    """Seconds one core loses to a 64-byte line of rows read in vertex order beyond the
    last-level cache (calibrated as ``cpu_seconds_per_stream_line`` by the stream probe,
    ``memprobe.probe_stream``; uncalibrated 0: the term is off)."""
    return kind.cal("cpu_seconds_per_stream_line", 0.0)


def stream_miss_seconds(n, kind: BladeKind, vertices: float) -> float:
    """One core's seconds per run of a sweep ``n`` (``Nest.rows_in_order``: every edge's
    row entry once a run, in vertex order) for its rows' lines beyond the last-level
    cache: ``edges x row_bytes / 64`` lines, in the share of the rows' array (on a graph
    of ``vertices`` at the same mean degree) the cache cannot hold, at
    ``stream_line_seconds`` each; with a working-set law, only the share beyond the law's
    graph's.  The hardware prefetches such rows, so a line costs the memory's streaming
    time, not a latency (6-7 ns a line here against 44-56 ns for a row out of order),
    and the vertex numbering does not change it: it is the part of a relabelled
    gather's growth that a degree-ordered layout keeps (``ws_law_seconds`` scales the
    rest; a law measured at kron-17, whose rows fit the cache, holds none of it)."""
    if not getattr(n, "rows_in_order", False) or n.row_bytes <= 0 or n.row_n <= 0:
        return 0.0
    cost = stream_line_seconds(kind)
    if cost <= 0 or n.edges <= 0:
        return 0.0
    cache = cache_bytes(kind)

    beyond = _rows_beyond(n, cache, vertices)
    if getattr(n, "ws_ref", 0.0) > 0 and getattr(n, "ws_n", 0.0) > 0:
        beyond -= _rows_beyond(n, cache, n.ws_n)
    return n.edges * n.row_bytes / LINE_BYTES * max(beyond, 0.0) * cost


def _miss_per_ref(n, kind: BladeKind, vertices: float, hot=None, lines=None,
                  order: str = "id") -> float:
    """Seconds of misses per random reference of nest ``n``, both levels (the probe's)."""
    return line_miss(n, l2_bytes(kind), vertices, hot, lines, order) * l2_miss_seconds(kind) \
        + line_miss(n, cache_bytes(kind), vertices, hot, lines, order) * miss_seconds(kind)


#: the least a calibrated working-set law may leave of a nest's time per unit of work
WS_FLOOR = 0.25


def ws_law_seconds(n, kind: BladeKind, vertices: float, hot=None, lines=None,
                   order: str = "id") -> float:
    """One core's seconds per run that nest ``n``'s data beyond the calibration graphs
    add to its work (negative: save), by its calibrated working-set law
    (``Nest.ws_slope``, ``Nest.ws_ref``; ``cosynth calibrate`` measures it on a graph whose
    vertex and edge data leave the caches): the work's time, ``cost x (edges / edge rate
    + vertices / vertex rate)``, grows by ``ws_slope`` of itself per doubling of the
    vertices beyond the largest calibration graph's, at least ``WS_FLOOR`` of it kept.
    The law holds every miss the nest's run took (random vertex references, the rows a
    frontier visits out of order, streams), measured rather than counted, at the
    numbering the calibration graphs have; a blade running in degree order
    (``order``) keeps of the growth the share of the random references' probe-priced
    misses degree order keeps (``line_miss``: a gather's reads of hot vertices sit in
    fewer lines), all of it for a nest without random references."""
    if vertices <= n.ws_ref or n.ws_slope == 0.0:
        return 0.0
    e_one = edge_rate(kind, "cpu") / kind.cpu_cores
    v_one = node_rate(kind) / kind.cpu_cores
    work = n.cost * (n.edges / e_one + n.nodes / v_one)
    grow = n.ws_slope * math.log2(vertices / n.ws_ref)
    if order != "id" and getattr(n, "random_refs", 0) and lines is not None:
        as_id = _miss_per_ref(n, kind, vertices, hot, lines, "id")
        if as_id > 0:
            grow *= _miss_per_ref(n, kind, vertices, hot, lines, order) / as_id
    return work * max(grow, WS_FLOOR - 1.0)


def line_miss(n, cache: float, vertices: float, hot=None, lines=None,
              order: str = "id") -> float:
    """The share of nest ``n``'s random references that miss a cache of ``cache`` bytes.
    A cache holds 64-byte lines (``LINE_BYTES``), not entries: with ``lines``
    (``GraphStats.line_hit_share``) a line holds the entries of 64 / (bytes a reference
    reads) consecutively numbered vertices in each of the nest's random tables, numbered
    by ``order``, so a hot vertex numbered among cold ones brings them in with it (on a
    Kronecker graph as numbered, an L2 of 2 MiB and a table of 8 MiB: 31.9% of the
    references miss by lines, 5.6% by entries; in degree order 5.6%).  Without
    ``lines``: the entry share (``miss_fraction``)."""
    refs = getattr(n, "random_refs", 0)
    if not refs or n.random_bytes <= 0 or vertices <= 0:
        return 0.0
    if n.random_bytes * vertices <= cache:
        return 0.0
    if lines is None:
        return miss_fraction(n.random_bytes * vertices, cache, hot, n.random_bytes)
    per_ref = n.random_bytes / refs
    per_group = max(1, int(LINE_BYTES // per_ref))
    group_bytes = per_group * n.random_bytes  # a line of each table, per_group vertices
    return max(0.0, 1.0 - lines(cache / group_bytes, per_group, order))


def flip_seconds(kind: BladeKind) -> float:
    """Seconds one core loses to a branch whose outcome changed from the last time it ran
    (a misprediction): calibrated as ``cpu_seconds_per_flip`` by the branch probe
    (``backends/cpp/memprobe.flip_probe``); uncalibrated 0 (no term: the nests' cost
    factors hold it)."""
    return kind.cal("cpu_seconds_per_flip", 0.0)


def guard_flip_seconds(n, kind: BladeKind, order: str = "id") -> float:
    """One core's seconds per run of nest ``n`` of its guards' changes of value along the
    scan (``Nest.flips``, counted for the vertex numbering ``order``), each a
    misprediction at ``flip_seconds``.  Calibration fits the nest's cost factor and
    working-set law to its time less this term (``cosynth.calibrate``), so the two do not
    count the changes twice: the law prices a visit, the term the changes, whose rate
    per visit falls with the graph's size and with a degree-ordered layout (k-core's
    vertex scans: 0.26-0.32 a visit on the calibration graphs, 0.14 at kron-18 as
    numbered, 0.003 in degree order)."""
    flips = getattr(n, "flips", None)
    if not flips:
        return 0.0
    return flips.get(order, 0.0) * flip_seconds(kind)


def working_set_seconds(w: Workload, kind: BladeKind, vertices: float) -> float:
    """One core's seconds of cache misses over the whole run of ``w``'s parallel nests."""
    return sum(n.runs * nest_miss_seconds(n, kind, vertices, w.hot, w.lines, w.order)
               for n in w.nests)


def cpu_fixed(kind: BladeKind, w: Workload) -> float:
    """A blade's seconds that do not shrink with its share: the replicated sequential
    loops (all of their work on every blade, on one core) and the nests' per-run
    overheads (calibrated per nest, or the kind's ``cpu_seconds_per_run``), and a
    frontier's rounds inside a run (``Nest.rounds``), each a fork and join as well."""
    e_one = edge_rate(kind, "cpu") / kind.cpu_cores
    v_one = node_rate(kind) / kind.cpu_cores
    default = run_seconds(kind)
    rep = sum(n.runs * (n.cost * (n.edges / e_one + n.nodes / v_one) + (n.overhead or 0.0))
              for n in w.seq_nests)
    return rep + sum(n.runs * ((default if n.overhead is None else n.overhead) +
                               n.rounds * default) for n in w.nests)


def host_terms(kind: BladeKind, w: Workload, n: float) -> tuple[float, float]:
    """Host-link seconds of one blade of ``kind`` running ``w``'s unit on a graph of ``n``
    vertices: (per unit of its share of the parallel edges, fixed).  Fixed: every call's
    two transfer start-ups and table sync, and the replicated loops' edges (all of them
    on every blade); zero when the kind has no FPGA or the variant no unit."""
    hw = getattr(w, "hw", None)
    if kind.fpga is None or hw is None or not w.fpga_ok:
        return 0.0, 0.0
    bw, lat = kind.fpga.host_bandwidth, kind.fpga.host_latency
    per_edge = getattr(hw, "host_bytes_per_edge", 0) / bw
    per_call = 2 * lat + n * getattr(hw, "host_bytes_per_vertex", 0) / bw
    return w.parallel_edges * per_edge, \
        w.fpga_calls * per_call + w.replicated_fpga_edges * per_edge


def _link_time(man: Manifest, P: int) -> tuple[float, float]:
    """(seconds per byte a blade sends/receives, seconds of latency per collective)."""
    ic = man.interconnect
    per_byte = 1.0 / ic.link_bandwidth
    hops = math.ceil(math.log2(P)) if P > 1 else 0
    lat = ic.link_latency * hops
    if ic.rack_size and P > ic.rack_size:
        cross = (P - ic.rack_size) / (P - 1)
        per_byte = (1 - cross) / ic.link_bandwidth + cross * ic.rack_size / ic.uplink_bandwidth
        lat += ic.uplink_latency * math.ceil(math.log2(math.ceil(P / ic.rack_size)))
    return per_byte, lat


def comm_terms(w: Workload, stats: GraphStats, man: Manifest, P: int, cut: float
               ) -> tuple[float, float]:
    """Communication of one blade: (seconds per unit of its edge share, fixed seconds)."""
    if P <= 1:
        return 0.0, 0.0
    per_byte, lat = _link_time(man, P)
    share_coeff, fixed = 0.0, 0.0
    ghosts = stats.ghost_bound(P, int(w.ghost_out) + int(w.ghost_in)) if w.sharded else 0.0
    for nest in w.nests:
        itemsize = max(nest.refreshed.values(), default=8)
        # pushed reductions: my edges that cross to another blade, one message each --
        # combined per target entry in the outbox, so never more than the entries other
        # blades own (n (1 - 1/P)) per run and reduction
        msgs = nest.edges * cut
        cap = ghosts if w.sharded else stats.n * (1 - 1 / P)  # entries others own, held
        if msgs / P > cap:
            fixed += nest.runs * nest.push_reductions * cap * (8 + itemsize) * per_byte
        else:
            share_coeff += nest.runs * nest.push_reductions * msgs * (8 + itemsize) * \
                per_byte
        # mirrors: I receive my ghosts' entries of every table the nest wrote (sharded:
        # at most the whole ghost set -- the sparse/dense switch sends changed entries
        # only when that is fewer bytes; replicated: every entry I do not own)
        held = ghosts if w.sharded else stats.n * (1 - 1 / P)
        fixed += nest.runs * sum(nest.refreshed.values()) * held * per_byte
        collectives = nest.push_reductions and 1
        collectives += len(nest.refreshed) + nest.allreduces
        fixed += nest.runs * collectives * lat
    return share_coeff, fixed


def evaluate(cfg: Config, w: Workload, stats: GraphStats, man: Manifest) -> Estimate:
    """Predict the configuration's makespan, memory and cost with the model above."""
    kinds = man.kinds
    P = sum(cfg.counts)
    blades: list[dict] = []
    violations: list[str] = []
    ranges = list(cfg.ranges) if cfg.ranges else _ranges(cfg, stats)
    if not any(cfg.fpga):
        # relaxed loops' exact runs on these blades (``at_blades``) where they come
        # without walking the fixed point (one blade draining its frontier) or the walk
        # is cached; else the level estimate (a walk per range set: 14-30 s on kron-18)
        w = at_blades(w, stats, ranges, walk=False)
    cut = stats.cut_of(ranges) if P > 1 else 0.0
    share_coeff, fixed = comm_terms(w, stats, man, P, cut)
    stream_time = w.parallel_edges * FPGA_BYTES_PER_EDGE / man.fileserver_bandwidth \
        if cfg.streamed else 0.0
    r = 0
    for k, count, fpga in zip(kinds, cfg.counts, cfg.fpga):
        # a kind's rates are the same on each of its blades: computed once per kind
        cpu = edge_rate(k, "cpu")
        par_rate = edge_rate(k, "fpga", w) if fpga else cpu
        rep_fpga = w.replicated_fpga_edges if fpga and w.fpga_ok else 0.0
        v_rate, fixed_k = node_rate(k), cpu_fixed(k, w)
        host_k = host_terms(k, w, stats.n) if fpga else (0.0, 0.0)
        # the working set: every blade's tables index all n vertices in the worst case
        ws_k = working_set_seconds(w, k, stats.n) / k.cpu_cores
        flips_k = sum(n.runs * guard_flip_seconds(n, k, w.order) for n in w.nests) / \
            k.cpu_cores
        for _ in range(count):
            lo, hi = ranges[r]
            r += 1
            share = stats.edges_in(lo, hi) / stats.m if stats.m else 1.0 / P
            vshare = (hi - lo) / stats.n if stats.n else 0.0
            edges = share * (w.parallel_edges / par_rate if fpga else w.cpu_edges / cpu +
                             ws_k)
            if fpga:  # an interval unit is charged its block walk (``fpga_nest``)
                edges = _interval_seconds(k, w, stats, share, vshare, cpu, edges)
            host = share * host_k[0] + host_k[1] if fpga else 0.0
            compute = edges + vshare * (w.cpu_nodes / v_rate + flips_k) + fixed_k + host + \
                (rep_fpga / par_rate - rep_fpga / cpu if rep_fpga else 0.0)
            comm = share * share_coeff + fixed
            total = compute + comm + stream_time
            data = _dram(w, stats, ranges, r - 1, share, cfg.streamed, fpga, k.cpu_cores)
            dram = data + blade_fixed(k)
            entry = {"blade": r - 1, "kind": k.name, "device": "fpga" if fpga else "cpu",
                     "range": (lo, hi), "edge_share": share, "compute": compute,
                     "comm": comm, "stream": stream_time, "total": total, "dram": dram,
                     "dram_data": data, "host_transfer": host}
            if dram > k.dram_bytes:
                violations.append(f"blade {r - 1} ({k.name}) needs "
                                  f"{format_quantity(dram, 'size')} of DRAM, has "
                                  f"{format_quantity(k.dram_bytes, 'size')}")
            if fpga:
                entry.update(_fpga_use(k, w, stats.n))  # every vertex, on chip or in its memory
                if k.fpga is None:
                    violations.append(f"kind {k.name} has no FPGA")
                elif not w.fpga_ok:
                    violations.append(f"{w.variant} is not FPGA-eligible: {w.fpga_why}")
                else:
                    if entry["luts"] > k.fpga.luts:
                        violations.append(f"blade {r - 1}: {entry['luts']} LUTs needed, "
                                          f"{k.fpga.part} has {k.fpga.luts}")
                    if entry["bram_bits"] > k.fpga.bram_bits:
                        violations.append(f"blade {r - 1}: {entry['bram_bits']} BRAM bits "
                                          f"needed, {k.fpga.part} has {k.fpga.bram_bits}")
            blades.append(entry)
    cost = sum(k.cost_per_hour * c for k, c in zip(kinds, cfg.counts))
    if man.budget_per_hour is not None and cost > man.budget_per_hour + 1e-9:
        violations.append(f"{cost:.2f} per hour is over the budget of {man.budget_per_hour:.2f}")
    makespan = max(b["total"] for b in blades)
    return Estimate(cfg, blades, makespan, w.supersteps, cost, violations, ranges)


def _dram(w: Workload, stats: GraphStats, ranges, r: int, share: float, streamed: bool,
          fpga: bool, threads: int = 1) -> float:
    """Blade ``r``'s data bytes (``Workload.blade_dram``): sharded programs hold the
    blade's vertices and its ghosts (counted on the graph for these ranges); a blade with
    an FPGA unit holds every vertex (the unit's tables are full size); per-thread copies
    for ``threads`` (the kind's cores: a blade runs one OpenMP thread per core)."""
    lo, hi = ranges[r]
    wl = replace(w, sharded=False) if fpga else w
    ghosts = stats.ghosts_of(ranges, w.ghost_out, w.ghost_in)[r] if wl.sharded else 0
    return wl.blade_dram(stats.n, stats.m, hi - lo, ghosts, share, streamed, len(ranges),
                         threads)


def _figures(kind: BladeKind, w: Workload | None) -> dict | None:
    """The FPGA figures measured for ``w``'s unit on ``kind``'s part (or None)."""
    if w is None or kind.fpga is None or getattr(w, "hw", None) is None:
        return None
    return w.hw.figures(kind.fpga.part)


def _fpga_use(k: BladeKind, w: Workload, vertices: float) -> dict:
    """LUTs and block RAM bits of the kernel's unit holding ``vertices`` vertices: the
    LUTs measured on the part when there are, else ``fpga_luts_per_kernel`` (an interval
    unit: at least its engines' ``interval_costs.unit_logic``); the bits from the unit's
    memories (every read port a copy)."""
    fig = _figures(k, w)
    if fig is not None:
        luts = int(fig["luts"])
    else:
        luts = int(k.cal("fpga_luts_per_kernel", 1500))
    out = {"luts": luts, "fpga_figures": fig["source"] if fig else "defaults"}
    hw = getattr(w, "hw", None)
    if hw is not None and hw.eligible and k.fpga is not None and hasattr(hw, "unit_use"):
        # every vertex on chip when it fits, else an interval unit sized to the part
        # (its windows and FIFO in block RAM, the tables in the card's memory)
        use = hw.unit_use(k.fpga.part, int(vertices), k.fpga.memory,
                          k.cal("fpga_clock_hz", k.fpga.clock_hz))
        out["bram_bits"] = int(use["bram_bits"])
        if use["kind"] == "interval":
            # an interval unit's engines: at least their logic a PE as placed and routed
            # (``unit_logic``), whatever a unit holding every vertex on chip took
            out["luts"] = max(out["luts"], int(use["luts"]))
            out["unit"] = {x: use[x] for x in ("kind", "interval", "pes", "fifo_depth",
                                               "memory", "memory_source")}
        return out
    bits_v = hw.bits_per_vertex if hw is not None and hw.eligible \
        else max((n.state_bits for n in w.nests if n.edges > 0), default=0)
    out["bram_bits"] = int(bits_v * vertices)
    return out


def _ranges(cfg: Config, stats: GraphStats) -> list[tuple[int, int]]:
    shares = []
    for count, s in zip(cfg.counts, cfg.shares):
        shares += [s] * count
    total = sum(shares)
    return stats.ranges([s / total for s in shares] if total else shares)


def predict_nests(w, kind, threads: int, share: float, vshare: float,
                  fpga_clock: float = 0.0, graph: tuple[int, int] | None = None,
                  vertices: float = 0.0) -> dict[int, dict]:
    """What the model predicts one blade's nests do in a run: by source line, runs,
    edges, vertices and seconds (parallel nests: the blade's share; replicated ones: all
    of it), on ``threads`` cores (or the FPGA at ``fpga_clock`` for the nests it runs).
    Nests of one source line (the ``hybrid`` rule's count, pull and push loops) are
    summed into one entry, as the blade program's measurement sums them (on the FPGA when
    any of them is).  With
    ``graph`` = (n, m), an FPGA nest is charged as the unit runs it (``fpga_nest``);
    ``vertices`` (default: n of ``graph``) sizes the working-set term of CPU nests."""
    if not vertices and graph is not None:
        vertices = graph[0]
    k = replace(kind, cpu_cores=max(1, threads))
    e_rate, v_rate, c_run = edge_rate(k, "cpu"), node_rate(k), run_seconds(k)
    one = e_rate / k.cpu_cores
    out = {}
    for n in w.nests:
        edges, nodes = n.runs * n.edges * share, n.runs * n.nodes * vshare
        if fpga_clock and n.fpga_ok:
            if graph is not None and kind.fpga is not None and n.edges > 0:
                edges, cycles = fpga_nest(w, n, kind, graph, share, vshare)
                sec = cycles / fpga_clock
            else:
                sec = edges * w.fpga_cycles_per_edge / fpga_clock
            dev = "fpga"
        else:
            over = (c_run if n.overhead is None else n.overhead) + n.rounds * c_run
            sec = n.runs * over + n.cost * (edges / e_rate + nodes / v_rate) + \
                n.runs * share * nest_miss_seconds(n, kind, vertices, w.hot, w.lines,
                                                   w.order) / k.cpu_cores + \
                n.runs * vshare * guard_flip_seconds(n, kind, w.order) / k.cpu_cores
            dev = "cpu"
        _add(out, n.line, {"label": n.label, "runs": n.runs, "edges": edges,
                           "nodes": nodes, "seconds": sec, "device": dev,
                           "calibrated": n.calibrated})
    for n in w.seq_nests:
        v_one = v_rate / k.cpu_cores
        sec = n.cost * n.runs * (n.edges / one + n.nodes / v_one) + \
            n.runs * (n.overhead or 0.0)
        _add(out, n.line, {"label": n.label, "runs": n.runs, "edges": n.runs * n.edges,
                           "nodes": n.runs * n.nodes, "seconds": sec, "device": "cpu",
                           "calibrated": n.calibrated, "replicated": True})
    return out


def _interval_seconds(k: BladeKind, w: Workload, stats: GraphStats, share: float,
                      vshare: float, cpu: float, default: float) -> float:
    """Edge seconds of an FPGA blade whose unit is an interval unit (the graph does not
    fit on the part): its nests' block walks at the unit's clock, the nests it does not
    run on the CPU; ``default`` for a unit holding every vertex."""
    hw = getattr(w, "hw", None)
    if k.fpga is None or hw is None or not w.fpga_ok or not hasattr(hw, "unit_use"):
        return default
    clock = k.cal("fpga_clock_hz", k.fpga.clock_hz)
    if hw.unit_use(k.fpga.part, int(stats.n), k.fpga.memory, clock)["kind"] != "interval":
        return default
    fig = _figures(k, w)
    if fig and fig["fmax_hz"]:
        clock = min(clock, fig["fmax_hz"])
    total = 0.0
    for n in w.nests:
        if n.fpga_ok and n.edges > 0:
            total += fpga_nest(w, n, k, (stats.n, stats.m), share, vshare)[1] / clock
        else:
            total += share * n.runs * n.edges * n.cost / cpu
    return total


def fpga_nest(w, nest, kind: BladeKind, graph: tuple[int, int], share: float,
              vshare: float) -> tuple[float, float]:
    """(edges, cycles) of nest ``nest`` on the FPGA of a blade of ``kind`` holding
    ``share`` of the edges and ``vshare`` of the vertices of a graph of ``graph`` = (n, m)
    vertices and edges.  Each call streams every edge of the blade's range once per rule
    of its site (the unit's rules over its sites, on average), except the expand loop of
    a peel in rounds (``Nest.peel_edges``), whose rules the host streams only the round's
    frontier's edges of (``backends.rtl.host.stream_filter``): the blade's share of
    those per run, split among the rules.  A unit holding every vertex takes
    ``fpga_cycles_per_edge`` (measured or calibrated, else one) per edge; an interval unit
    (the graph does not fit on the part: ``FpgaCosts.unit_use``) what its block walk costs
    (``run_cycles``)."""
    n, m = graph
    hw = getattr(w, "hw", None)
    spec = getattr(hw, "spec", None)
    rules = len(spec.rules) / max(1, len(spec.sites)) if spec is not None else 1.0
    # one rule's run: every edge of the range, or the frontier's
    peel = getattr(nest, "peel_edges", 0.0)
    per_run = share * (peel / max(rules, 1.0) if peel else m)
    edges = nest.runs * rules * per_run
    cpe = edge_cycles(kind, w)
    if hw is None or not hasattr(hw, "run_cycles"):
        return edges, edges * cpe
    clock = kind.cal("fpga_clock_hz", kind.fpga.clock_hz)
    use = hw.unit_use(kind.fpga.part, int(n), kind.fpga.memory, clock)
    got = hw.run_cycles(use, int(n), per_run, vshare)  # each rule walks its own blocks
    return edges, (edges * cpe if got is None else nest.runs * rules * got)


def edge_cycles(kind: BladeKind, w) -> float:
    """Unit cycles per edge (``edge_rate``'s): calibrated, else measured in co-simulation
    on the kind's memory, else one; times the variant's factor."""
    hw = getattr(w, "hw", None)
    measured = None
    if hw is not None and kind.fpga is not None:
        measured = hw.cycles_per_edge(kind.fpga.memory, kind.fpga.clock_hz)
    return kind.cal("fpga_cycles_per_edge", measured or 1.0) * w.fpga_cycles_per_edge


def _add(out: dict, line: int, row: dict) -> None:
    """Put ``row`` at ``line``, summing runs, edges, vertices and seconds into a row
    already there (the first row's label and device stand for the line)."""
    have = out.get(line)
    if have is None:
        out[line] = row
        return
    for key in ("runs", "edges", "nodes", "seconds"):
        have[key] += row[key]
    if row["device"] == "fpga":  # the line's measurement is the unit's (blade: nest_done)
        have["device"] = "fpga"
    have["calibrated"] = have["calibrated"] and row["calibrated"]


#: relabelling's own work in row entries per edge: sorting the renamed rows (about
#: log2 of a row's length comparisons per entry, rounded up for the copy)
RELABEL_ENTRIES_PER_EDGE = 4.0


def relabel_choice(kv, stats: GraphStats, blades: int) -> tuple[str, str] | None:
    """Rename the vertices by degree for the variant's program ``kv``?  (chosen, why), or
    None when the program has no ordered intersection (the only schedule whose work this
    model knows to depend on the numbering).  Degree order is chosen when the rewrite rule
    admits it (``frontend.rewrite.relabel``; a clique count needs a symmetric graph), one
    blade holds the graph (the runtime renames a whole graph) and the merges walk fewer
    row entries under it (``GraphStats.merge_work``) by more than relabelling costs."""
    if not any(isinstance(s, Loop) and intersection(s) is not None
               for s, _ in iter_stmts(kv.body)):
        return None
    r = relabelling(kv)
    if r is None:
        return "as given", f"the results depend on the numbering: {why_not(kv)}"
    if r.needs_symmetric and not stats.symmetric:
        return "as given", f"{r.kind}: legal on a symmetric graph only, and this one is not"
    if blades > 1:
        return "as given", "the run renames a graph one blade holds whole; this plan " \
                           f"has {blades} blades"
    w_id, w_deg = stats.merge_work("id"), stats.merge_work("degree")
    cost = RELABEL_ENTRIES_PER_EDGE * stats.m
    what = (f"ordered merges walk {w_deg:.3g} row entries in degree order against "
            f"{w_id:.3g} as numbered (renaming costs about {cost:.3g})")
    if w_deg + cost < w_id:
        return "degree order", f"{r.kind} ({r.reason}); {what}"
    return "as given", f"no gain: {what}"


#: the least share of a program's random references along edges that a degree-ordered
#: layout must save from missing L2 or the LLC before the plan chooses it (a margin: the
#: model is Che's approximation, and the layout renames the whole graph when the bundle is
#: written)
LAYOUT_MIN_GAIN = 0.02

#: bytes of a cache line
LINE_BYTES = 64


def layout_choice(kv, w, stats: GraphStats, blades: int, kind: BladeKind
                  ) -> tuple[str, str] | None:
    """Write the graph's shards in degree order (vertices renamed by ascending degree,
    results mapped back to the user's ids)?  (chosen, why), or None when the program's
    parallel nests make no random references into vertex tables, or the run-time renaming
    serves it (``relabel_choice``).  Legal when the rewrite rule admits renaming the whole
    graph (``frontend.rewrite.relabel``, ``whole_graph``); chosen on one blade when the
    references along edges (``Nest.random_refs``, each nest's edges times its runs) that
    miss L2 or the LLC fall by more than ``LAYOUT_MIN_GAIN`` of them under it.  The
    misses are ``GraphStats.line_hit_share``'s: a cache holds 64-byte lines, each the
    entries of 64 / (bytes per reference) consecutively numbered vertices, so numbering
    the hot vertices together lets the same cache serve more of the references (a
    PageRank gather's reads of its contribution table on a power-law graph).  The
    renaming runs when the bundle is written, outside the blade's clock."""
    nests = [n for n in w.nests if getattr(n, "random_refs", 0)]
    if not nests or relabelling(kv) is not None:
        return None
    r = relabelling(kv, whole_graph=True)
    if r is None:
        return "as given", f"the results depend on the numbering: {why_not(kv, True)}"
    if blades > 1:
        return "as given", f"the layout is written for one blade; this plan has {blades}"
    refs = sum(n.runs * n.edges * n.random_refs for n in nests)
    per_ref = max(n.random_bytes / n.random_refs for n in nests)
    per_group = max(1, int(LINE_BYTES // per_ref))
    group_bytes = per_group * per_ref * max(n.random_refs for n in nests)
    miss, secs = {}, {}
    for order in ("id", "degree"):
        m2 = 1.0 - stats.line_hit_share(l2_bytes(kind) / group_bytes, per_group, order)
        m3 = 1.0 - stats.line_hit_share(cache_bytes(kind) / group_bytes, per_group, order)
        miss[order] = (m2, m3)
        secs[order] = refs * (m2 * l2_miss_seconds(kind) + m3 * miss_seconds(kind)) / \
            kind.cpu_cores
    gain = (miss["id"][0] - miss["degree"][0]) + (miss["id"][1] - miss["degree"][1])
    what = (f"of {refs:.3g} random references along edges, {miss['degree'][0]:.1%} miss L2 "
            f"and {miss['degree'][1]:.1%} the LLC in degree order against "
            f"{miss['id'][0]:.1%} and {miss['id'][1]:.1%} as numbered (about "
            f"{secs['id'] - secs['degree']:.3g} s less)")
    if gain > LAYOUT_MIN_GAIN:
        return "degree order", f"{r.kind} ({r.reason}); {what}"
    return "as given", f"no gain: {what}"
