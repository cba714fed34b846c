"""The FPGA cost table: what units measured on real parts, for the planner.

Every ``cosynth bitstream`` run records its unit's LUTs, FFs, DSPs, block RAMs and Fmax
in ``<cache>/rtl-costs.json`` under the unit's *signature* (a hash of its rules, tables
and parameters: the same kernel loops give the same hardware, whatever the depth) and the
part.  ``fpga_profile(kernel_variant, variant)`` is what the planner asks: is the variant
eligible (and if not, why), which loops the unit runs, how many bits of block RAM a vertex
takes (every read port is a copy of its memory); its ``figures(part)`` are the LUTs and
clock it costs -- measured when this unit was built for that part, else ``None`` (the
planner then keeps its defaults, and says so).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

from cosynth.cache import cache_dir, load_table, notice, write_table
from cosynth.frontend.rewrite.core import get
from cosynth.ir.printer import print_stmts

from .dram import DramConfig
from .kernel import NotEligible, unit_spec
from .layout import MemoryLayout
from .memport import WORD_BYTES
from .regmap import RegisterMap
from .unit import _port_keys

__all__ = ["unit_signature", "record", "lookup", "fpga_profile", "FpgaProfile",
           "bits_per_vertex", "table_path", "throughput_path", "record_throughput",
           "throughput", "memory_key", "host_bytes"]


def table_path() -> str:
    return os.path.join(cache_dir(), "rtl-costs.json")


def unit_signature(spec) -> str:
    """A hash of what determines the unit's logic: rules, on-chip tables, parameters."""
    parts = [f"tables {sorted((t, d.name) for t, d in spec.tables.items())}",
             f"params {sorted((p, d.name) for p, d in spec.params.items())}",
             f"weight {spec.weight.name if spec.weight else None}",
             f"snapshots {spec.snapshot_tables}"]
    for r in spec.rules:
        parts.append(f"rule {r.kind} {r.target}[{r.target_end}] {r.op} {bool(r.flag)}")
        parts += print_stmts(r.body)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _norm(part: str) -> str:
    p = part.replace(" ", "").upper()
    return {"LFE5U-25F": "ECP5-25F", "LFE5U-45F": "ECP5-45F",
            "LFE5U-85F": "ECP5-85F"}.get(p, p)


#: what an entry of the table must hold (name -> accepted types) to be used
_FIELDS = {"kernel": (str,), "variant": (str,), "family": (str,), "part": (str,),
           "depth": (int, type(None)), "luts": (int,), "ffs": (int,), "dsp": (int,),
           "bram": (int,), "fmax_mhz": (int, float, type(None)), "when": (str,)}
_WARNED: set[str] = set()  # tables already reported in this process


def _valid(entry: object) -> bool:
    return isinstance(entry, dict) and all(
        isinstance(entry.get(k), t) and not isinstance(entry.get(k), bool)
        for k, t in _FIELDS.items())


def _load(quiet: bool = False) -> dict:
    """The table's well-formed entries; a file that is not a JSON object, and entries of
    the wrong shape, are ignored with one notice per file and process."""
    path = table_path()
    quiet = quiet or path in _WARNED
    table = load_table(path, "the FPGA cost table", quiet=quiet)
    good = {k: v for k, v in table.items() if _valid(v)}
    bad = len(table) - len(good)
    if bad and not quiet:
        notice(f"{bad} entr{'y' if bad == 1 else 'ies'} of the FPGA cost table {path} "
               "of the wrong shape ignored")
    if not quiet and os.path.exists(path):
        _WARNED.add(path)
    return good


def record(spec, family: str, part: str, report: dict) -> None:
    """Keep one flow's figures (the last run of a unit on a part wins; entries of the
    wrong shape are dropped)."""
    table = _load(quiet=True)
    table[f"{unit_signature(spec)}:{_norm(part)}"] = {
        "kernel": spec.kernel.name, "variant": spec.variant, "family": family,
        "part": _norm(part), "depth": report.get("depth"), "luts": report["luts"],
        "ffs": report["ffs"], "dsp": report["dsp"], "bram": report["bram"],
        "fmax_mhz": report["fmax_mhz"], "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    write_table(table_path(), table, indent=2, sort_keys=True)


def lookup(spec, part: str) -> dict | None:
    return _load().get(f"{unit_signature(spec)}:{_norm(part)}")


# ------------------------------------------------------------ measured throughput
# Edges per clock are measured in co-simulation, not assumed: the Amaranth simulation of
# a whole-graph unit (memory ``on-chip``) and the co-simulation of an interval unit with
# the DRAM model (memory: its figures in cycles) record them in
# ``<cache>/rtl-throughput.json`` under the unit's signature and the memory's key.

def throughput_path() -> str:
    return os.path.join(cache_dir(), "rtl-throughput.json")


def memory_key(dram) -> str:
    """``on-chip`` for None, else the memory's figures in cycles (a ``dram.DramConfig``)."""
    if dram is None:
        return "on-chip"
    return f"{dram.bytes_per_clock:g}B/clk:{dram.latency}clk:{dram.burst_words}w"


def record_throughput(spec, dram, edges: int, cycles: int, source: str) -> None:
    """Keep a measured run: ``edges`` over ``cycles`` of unit ``spec`` on memory ``dram``."""
    if edges <= 0 or cycles <= 0:
        return
    table = load_table(throughput_path(), "the FPGA throughput table", quiet=True)
    table[f"{unit_signature(spec)}:{memory_key(dram)}"] = {
        "kernel": spec.kernel.name, "variant": spec.variant, "memory": memory_key(dram),
        "edges": int(edges), "cycles": int(cycles), "edges_per_clock": edges / cycles,
        "source": source, "when": time.strftime("%Y-%m-%d %H:%M")}
    write_table(throughput_path(), table, indent=2, sort_keys=True)


def throughput(spec, dram) -> dict | None:
    """The measured entry (``edges_per_clock``, ``source``...) of ``spec`` on ``dram``."""
    got = load_table(throughput_path(), "the FPGA throughput table", quiet=True).get(
        f"{unit_signature(spec)}:{memory_key(dram)}")
    ok = isinstance(got, dict) and isinstance(got.get("edges_per_clock"), int | float) \
        and got["edges_per_clock"] > 0
    return got if ok else None


def bits_per_vertex(spec) -> int:
    """Block RAM bits one vertex takes: each memory's width times its read ports."""
    rm = RegisterMap.of(spec, 2)
    return sum(m.bits * len(_port_keys(spec, m)) for m in rm.memories)


@dataclass
class FpgaProfile:
    """Is a kernel variant FPGA-eligible, what does the unit run, and what does it cost
    on a part (``figures``)."""

    eligible: bool
    why: str  # the refusal, or the loops the unit runs
    site_loops: tuple = ()  # ids of the kernel variant's loops the unit runs
    bits_per_vertex: int = 0
    spec: object = None
    host_bytes_per_vertex: int = 0  # per unit call: the O(n) sync of the unit's tables
    host_bytes_per_edge: int = 0  # per streamed edge: the edge and its target read back

    def figures(self, part: str) -> dict | None:
        """Measured ``luts``, ``ffs``, ``dsps``, ``fmax_hz`` and their ``source`` on
        ``part``, or None when this unit was never built for it."""
        if not self.eligible or self.spec is None:
            return None
        cache = self.__dict__.setdefault("_figures", {})
        if part not in cache:
            got = lookup(self.spec, part)
            cache[part] = None if got is None else {
                "luts": got["luts"], "ffs": got["ffs"], "dsps": got["dsp"],
                "fmax_hz": (got["fmax_mhz"] or 0) * 1e6 or None,
                "source": f"measured {got['when']} on {got['part']} ({got['depth']} "
                          "vertices)"}
        return cache[part]

    def cycles_per_edge(self, memory=None, clock_hz: float | None = None) -> float | None:
        """Clock cycles per edge measured in co-simulation: on the manifest's external
        memory (``manifest.FpgaMemory`` at ``clock_hz``) when it has one, else on chip;
        None when never measured."""
        if not self.eligible or self.spec is None:
            return None
        dram = None
        if memory is not None and clock_hz:
            dram = DramConfig.from_figures(memory.bandwidth, memory.latency,
                                           memory.burst_bytes, clock_hz)
        got = throughput(self.spec, dram)
        return 1.0 / got["edges_per_clock"] if got else None


def fpga_profile(kv, variant: str) -> FpgaProfile:
    """What the planner needs of kernel variant ``kv``: eligibility (or the reason), the
    loops the unit runs and its block RAM bits per vertex; ``figures(part)`` adds the
    measured costs."""
    try:
        spec = unit_spec(kv, variant)
    except NotEligible as exc:
        return FpgaProfile(False, exc.message)
    loops = tuple(id(get(kv, s.path)) for s in spec.sites)
    per_vertex, per_edge = host_bytes(spec)
    return FpgaProfile(True, ", ".join(s.label for s in spec.sites), loops,
                       bits_per_vertex(spec), spec, per_vertex, per_edge)


def host_bytes(spec) -> tuple[int, int]:
    """(bytes per vertex, bytes per edge) a unit call of ``spec`` moves between host and
    card, as ``interval_costs.host_transfer_bytes`` counts them: every entry of every
    memory the unit holds (the host's sync walks the whole table each call: an upper
    bound on what crosses, the changed entries), and per streamed edge its words in the
    edge region and its target's entry read back (at most one per edge)."""
    rm = RegisterMap.of(spec, 2)
    layout = MemoryLayout.of(rm, 2, 2)
    return len(rm.memories) * WORD_BYTES, layout.bytes_per_edge + WORD_BYTES
