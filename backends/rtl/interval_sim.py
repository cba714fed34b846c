"""An interval unit and its external memory in Amaranth's simulator.

``IntervalSimDevice(unit, dram, words)`` runs ``interval.IntervalUnit`` against a
``dram.DramModel`` over a memory image of ``words`` 64-bit words, in a background thread
like ``sim.AmaranthDevice``: the host (``interval_host.IntervalDevice``) writes and reads
registers and queues block commands; between its requests the simulator is stopped, so the
host may read and write the image (``image``) directly -- that is the host's DMA to the
card's memory, which ``interval_host`` counts as host transfers.  Every simulated cycle
is counted (``cycles``); the model's burst bytes and port words too (``dram``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from cosynth.ir.interp import interpret

from .build import unit_for
from .costs import record_throughput
from .dram import DramConfig, DramModel
from .host import DeviceError, DeviceStats, UnitHost
from .interval import IntervalUnit
from .interval_host import BlockStats, IntervalDevice, virtual_regmap
from .kernel import NotEligible
from .layout import MemoryLayout
from .multi import PE_BUSY, MultiUnit, parallel_safe
from .sim import ThreadedDevice

__all__ = ["IntervalSimDevice", "IntervalRun", "run_interval_kernel", "make_unit"]

class IntervalSimDevice(ThreadedDevice):
    def __init__(self, unit, dram: DramConfig, words: int, *,
                 max_cycles_per_block: int = 10_000_000):
        self.unit = unit
        self.dram = DramModel(dram, np.zeros(max(1, words), dtype=np.uint64))
        self.max_cycles = max_cycles_per_block
        self.cycles = 0
        self._start()

    @property
    def image(self) -> np.ndarray:
        return self.dram.image

    def resize(self, words: int) -> None:
        """Grow the memory image to ``words`` words (the device is stopped)."""
        if words > self.dram.image.size:
            img = np.zeros(words, dtype=np.uint64)
            img[:self.dram.image.size] = self.dram.image
            self.dram.image = img

    def poke(self, at: np.ndarray, values: np.ndarray) -> None:
        self.dram.image[at] = values

    def peek(self, at: np.ndarray) -> np.ndarray:
        return self.dram.image[at].copy()

    def fill(self, first: int, words: np.ndarray) -> None:
        self.dram.image[first:first + words.size] = words

    # ------------------------------------------------------------ host side
    def wait_results(self, mask: int) -> int:
        """Run until a PE of ``mask`` has unread results (``multi.PE_BUSY`` bit 16 + i;
        one PE answers PE_BUSY too); returns the PE_BUSY bits then."""
        return self._do("waitres", int(mask))

    def now(self) -> int:
        return self.cycles

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._cmd.put(None)
            self._thread.join(timeout=60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------- simulator side
    def _simulate(self) -> None:
        sim = Simulator(self.unit)
        sim.add_clock(1e-8)
        sim.add_testbench(self._memory, background=True)
        sim.add_testbench(self._host)
        try:
            sim.run()
        except BaseException as exc:  # pragma: no cover - reported to the waiting host
            self._res.put((False, exc))

    async def _memory(self, ctx):
        ports = getattr(self.unit, "mems", [self.unit.mem])
        d = self.dram
        for p in ports:
            ctx.set(p.wdata.ready, 1)
        sample = [s for p in ports for s in (p.cmd.valid, p.cmd.we, p.cmd.addr,
                                              p.wdata.valid, p.wdata.data, p.rdata.ready)]
        while True:
            ready = d.cmd_ready()
            for k, p in enumerate(ports):
                ctx.set(p.cmd.ready, ready)
                valid, data = d.rdata_of(k)
                ctx.set(p.rdata.valid, valid)
                ctx.set(p.rdata.data, data)
            got = (await ctx.tick().sample(*sample))[2:]
            try:
                d.step_ports([got[6 * k:6 * k + 6] for k in range(len(ports))])
            except (IndexError, RuntimeError) as exc:
                self._res.put((False, DeviceError(f"external memory: {exc}")))
                return

    async def _host(self, ctx):
        u = self.unit
        lat = getattr(u, "read_latency", 0)
        held = [None]  # the address csr.r_data answers (None: none, or a write since)

        async def present(addr):
            """Hold ``addr`` the unit's read latency (``multi.READ_LATENCY``) after a
            write or a change of address; a poll of one address then reads every cycle
            (the C++ hosts do the same)."""
            if held[0] != addr:
                ctx.set(u.csr.addr, addr)
                for _ in range(lat):
                    await ctx.tick()
                    self.cycles += 1
                held[0] = addr

        while True:
            cmd = self._cmd.get()
            if cmd is None:
                return
            kind = cmd[0]
            try:
                if kind == "write":
                    pairs = cmd[1]
                    ctx.set(u.csr.w_en, 1)
                    for a, v in pairs:
                        ctx.set(u.csr.addr, a)
                        ctx.set(u.csr.w_data, v)
                        await ctx.tick()
                        self.cycles += 1
                    ctx.set(u.csr.w_en, 0)
                    held[0] = None
                    result = None
                elif kind == "waitres":
                    await present(PE_BUSY)
                    spins = 0
                    while not (ctx.get(u.csr.r_data) >> 16) & cmd[1]:
                        await ctx.tick()
                        self.cycles += 1
                        spins += 1
                        if spins > self.max_cycles:
                            raise DeviceError("no block command finished")
                    result = ctx.get(u.csr.r_data)
                elif kind == "read":
                    result = []
                    for a in cmd[1]:
                        await present(a)
                        result.append(ctx.get(u.csr.r_data))
                else:  # pragma: no cover
                    raise ValueError(kind)
            except Exception as exc:  # noqa: BLE001 - handed to the host thread
                self._res.put((False, exc))
                return
            self._res.put((True, result))


def make_unit(spec, interval: int, fifo_depth: int, pes: int, burst: int = 8,
              ports: int = 1):
    """One PE (``IntervalUnit``) or several (``MultiUnit``) on ``ports`` memory ports
    (PE i on port i % ports; PEs of a port behind an arbiter)."""
    if ports > max(1, pes):
        raise NotEligible(f"{ports} memory ports for {pes} PE(s): a port needs a PE")
    if pes == 1:
        return IntervalUnit(spec, interval, fifo_depth=fifo_depth)
    if not parallel_safe(spec):
        raise NotEligible(f"unit '{spec.name}' runs on one PE only: several PEs need rules "
                          "that repeat until no change with an idempotent reduction")
    return MultiUnit(spec, interval, pes, fifo_depth=fifo_depth, burst=burst, ports=ports)


@dataclass
class IntervalRun:
    results: tuple
    stats: DeviceStats  # the host's view: runs, edges, cycles of the runs
    blocks: BlockStats  # the blocks walked, window loads, host transfer bytes
    layout: MemoryLayout
    sim_cycles: int  # every simulated cycle
    dram_bytes: int  # bytes the memory model's bursts moved
    dram_words: int  # words through the ports
    walks: list = None  # the blocks of every run (as ``IntervalDevice.walks``)
    packed: list = None  # per run: its edges went packed (``layout.packs``)
    written: list = None  # per run: the target intervals written back (changed)


def run_interval_kernel(kfn, graph, args: dict | None = None, *, interval: int,
                        dram: DramConfig, variant: str | None = None,
                        fifo_depth: int = 32, pes: int = 1, gather: bool = True) -> IntervalRun:
    """Run ``kfn`` with its hardware sites on a simulated interval unit of ``interval``
    vertices per window and its memory; results as the interpreter returns them
    (``gather`` False: every block off the diagonal loads window B whole)."""
    args = kfn.bind(graph, **(args or {}))
    spec = unit_for(getattr(kfn, "ir", kfn), variant)
    unit = make_unit(spec, interval, fifo_depth, pes, max(8, dram.burst_words), dram.ports)
    layout = MemoryLayout.of(unit.regmap, graph.n, interval)
    with IntervalSimDevice(unit, dram, layout.edge_base) as hw:
        dev = IntervalDevice(hw, layout, gather=gather)
        host = UnitHost(spec, virtual_regmap(unit.regmap, graph.n), dev, graph)
        results = interpret(spec.kernel, graph, args, offload=host.handlers())
        record_throughput(spec, dram, host.stats.edges, host.stats.cycles,
                          f"Amaranth co-simulation, interval {interval}, {graph.n} vertices")
        return IntervalRun(results, host.stats, dev.stats, layout, hw.cycles,
                           hw.dram.bytes, hw.dram.words, dev.walks, dev.packed,
                           dev.written)
