"""An interval unit's Verilog in Verilator, with the external-memory model in C++.

``VerilatorIntervalDevice(unit, dram)`` emits the unit's Verilog (``interval_verilog``),
builds its Verilator model (``verilator.build_model``, cached) and the co-simulation
server ``runtime/interval_server.cpp`` around it (``cosynth_dram.hpp``: the same cycle
behaviour as ``dram.DramModel``), and runs the server as a child process
(``cosynth.procs``) that it talks to over pipes in little-endian 64-bit words (the
protocol is in the server's header).  It answers what ``interval_host.IntervalDevice``
asks of a device (registers, block commands, the memory image), so the same host walks
the same blocks on either simulator and their cycle counts agree.  Verilator runs a few
million cycles per second: graph-sized runs (kron-16 and up) go through here.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

import numpy as np

from cosynth import procs
from cosynth.backends.toolchain import compile_program
from cosynth.ir.interp import interpret

from . import verilator as vl
from .build import unit_for
from .costs import record_throughput
from .dram import DramConfig
from .host import DeviceError, DeviceStats, UnitHost
from .interval import IntervalUnit, interval_verilog
from .interval_host import BlockStats, IntervalDevice, virtual_regmap
from .interval_sim import make_unit
from .layout import MemoryLayout
from .offload import RUNTIME

__all__ = ["VerilatorIntervalDevice", "run_interval_verilator", "server_binary"]

_MASK = (1 << 64) - 1


def server_binary(unit: IntervalUnit, name: str) -> str:
    """The co-simulation server of ``unit`` (built once per Verilog, cached)."""
    verilog = interval_verilog(unit, name)
    model = vl.build_model(verilog, name)
    with open(os.path.join(RUNTIME, "interval_server.cpp")) as f:
        source = f.read()
    with open(os.path.join(RUNTIME, "cosynth_dram.hpp")) as f:
        header = f.read()
    # one source: the build cache sees the header's text too
    source = source.replace('#include "cosynth_dram.hpp"', header)
    binary, _ = compile_program(
        source, name=f"{name}_server",
        defines=(f"COSYNTH_TOP=V{name}", f'COSYNTH_TOP_HEADER="V{name}.h"',
                 f"COSYNTH_READ_LATENCY={int(getattr(unit, 'read_latency', 0))}",
                 *(c[2:] for c in model.cflags if c.startswith("-D"))),
        includes=tuple(model.include_dirs), libraries=tuple(model.libraries),
        ldflags=tuple(model.ldflags))
    return binary


class VerilatorIntervalDevice:
    def __init__(self, unit: IntervalUnit, dram: DramConfig, words: int, *,
                 name: str | None = None):
        self.unit = unit
        self.cfg = dram
        binary = server_binary(unit, name or f"{unit.spec.name}_iv{unit.interval}")
        ports = len(getattr(unit, "mems", [unit.mem]))
        if ports != dram.ports:
            raise ValueError(f"a unit of {ports} memory port(s) on a model of {dram.ports}")
        self._child = procs.Child([binary, repr(float(dram.bytes_per_clock)),
                                   str(dram.latency), str(dram.burst_words), str(ports)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=False)
        self._size = 0
        self.resize(words)

    # ------------------------------------------------------------ the wire
    def _send(self, op: int, a: int = 0, b: int = 0, *payload: np.ndarray) -> None:
        p = self._child.proc
        try:
            p.stdin.write(np.array([op, a, b], dtype=np.uint64).tobytes())
            for arr in payload:
                p.stdin.write(np.ascontiguousarray(arr, dtype=np.uint64).tobytes())
            p.stdin.flush()
        except (BrokenPipeError, OSError):
            self._died()

    def _recv(self, n: int) -> np.ndarray:
        raw = self._child.proc.stdout.read(8 * n) if n else b""
        if len(raw) != 8 * n:
            self._died()
        return np.frombuffer(raw, dtype=np.uint64).copy()

    def _died(self):
        self._child.stop()
        err = self._child.proc.stderr.read().decode(errors="replace").strip() \
            if self._child.proc.stderr and not self._child.proc.stderr.closed else ""
        raise DeviceError("the Verilator co-simulation stopped" + (f": {err}" if err else ""))

    @staticmethod
    def _pairs(pairs) -> np.ndarray:
        return np.array([[int(a), int(v) & _MASK] for a, v in pairs],
                        dtype=np.uint64).reshape(-1)

    # ------------------------------------------------------------ the device
    def write_regs(self, pairs) -> None:
        pairs = list(pairs)
        self._send(1, len(pairs), 0, self._pairs(pairs))
        self._recv(1)

    def read_regs(self, addrs) -> list[int]:
        addrs = [int(a) for a in addrs]
        self._send(2, len(addrs), 0, np.array(addrs, dtype=np.uint64))
        return [int(x) for x in self._recv(len(addrs))]

    def poke(self, at: np.ndarray, values: np.ndarray) -> None:
        at = np.asarray(at, dtype=np.uint64)
        self._send(4, at.size, 0, at, np.asarray(values, dtype=np.uint64))
        self._recv(1)

    def peek(self, at: np.ndarray) -> np.ndarray:
        at = np.asarray(at, dtype=np.uint64)
        self._send(5, at.size, 0, at)
        return self._recv(at.size)

    def resize(self, words: int) -> None:
        if words > self._size:
            self._send(6, int(words))
            self._recv(1)
            self._size = int(words)

    def fill(self, first: int, words: np.ndarray) -> None:
        self._send(7, int(first), int(words.size), words)
        self._recv(1)

    def wait_results(self, mask: int) -> int:
        self._send(9, int(mask))
        return int(self._recv(1)[0])

    def now(self) -> int:
        return self.counters()[0]

    def counters(self) -> tuple[int, int, int]:
        """(cycles simulated, bytes the memory's bursts moved, words through the port)."""
        self._send(8)
        c, b, w = self._recv(3).tolist()
        return int(c), int(b), int(w)

    def close(self) -> None:
        if self._child.proc.poll() is None:
            try:
                self._send(0)
                self._child.proc.stdin.close()
                self._child.wait(timeout=60)
            except (DeviceError, subprocess.TimeoutExpired):
                pass
        self._child.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class VerilatorIntervalRun:
    results: tuple
    stats: DeviceStats
    blocks: BlockStats
    layout: MemoryLayout
    sim_cycles: int
    dram_bytes: int
    dram_words: int
    walks: list  # the blocks of every run (interval_costs.predict_cycles takes them)
    packed: list  # per run: its weighted edges went one word each (layout.packs)
    written: list = None  # per run: the target intervals written back (changed)


def run_interval_verilator(kfn, graph, args: dict | None = None, *, interval: int,
                           dram: DramConfig, variant: str | None = None,
                           fifo_depth: int = 32, pes: int = 1,
                           gather: bool = True) -> VerilatorIntervalRun:
    """``interval_sim.run_interval_kernel`` on the Verilator model (``gather`` False:
    every block loads window B whole, the engine before ``FLAG_GATHER_B``)."""
    args = kfn.bind(graph, **(args or {}))
    spec = unit_for(getattr(kfn, "ir", kfn), variant)
    unit = make_unit(spec, interval, fifo_depth, pes, max(8, dram.burst_words), dram.ports)
    layout = MemoryLayout.of(unit.regmap, graph.n, interval)
    with VerilatorIntervalDevice(unit, dram, layout.edge_base,
                                 name=f"{spec.name}_iv{interval}_f{fifo_depth}_p{pes}"
                                 + (f"_m{dram.ports}" if dram.ports > 1 else "")) as hw:
        dev = IntervalDevice(hw, layout, gather)
        host = UnitHost(spec, virtual_regmap(unit.regmap, graph.n), dev, graph)
        results = interpret(spec.kernel, graph, args, offload=host.handlers())
        cycles, dbytes, dwords = hw.counters()
        record_throughput(spec, dram, host.stats.edges, host.stats.cycles,
                          f"Verilator co-simulation, interval {interval}, {pes} PE(s), "
                          f"{graph.n} vertices")
        return VerilatorIntervalRun(results, host.stats, dev.stats, layout, cycles, dbytes,
                                    dwords, dev.walks, dev.packed, dev.written)
