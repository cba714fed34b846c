"""An edge unit in Amaranth's simulator, driven through its register map and streams.

``AmaranthDevice(unit)`` is a device for ``backends.rtl.host.UnitHost``: the simulator
runs in a background thread whose testbench executes the host's commands cycle by cycle
(register writes and reads on the ``csr`` bus, one memory entry per cycle on ``load`` and
``rd_req``/``rd_resp``, one edge per cycle on ``edges``), so the host program (the IR
interpreter) stays an ordinary synchronous caller.  It counts every simulated cycle.

``run_kernel(kfn, graph, args)`` is the whole check: build the kernel's unit, run the
kernel with its sites on the simulated unit, and return the results with the device's
statistics.  Amaranth's simulator runs some tens of thousands of cycles per second: use
it for small graphs; graph-sized runs go through Verilator (``backends.rtl.verilator``).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from cosynth.ir.interp import interpret

from .build import build_unit
from .costs import record_throughput
from .host import DeviceError, DeviceStats, UnitHost
from .regmap import RegisterMap
from .waves import legal_names

__all__ = ["AmaranthDevice", "run_kernel", "SimRun"]

_MASK = (1 << 64) - 1


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


class ThreadedDevice:
    """A device simulated in a thread of its own and driven by commands: the host side
    puts ``(verb, *args)`` on ``_cmd`` and waits for ``(ok, value)`` on ``_res``; the
    simulation thread (``_simulate``, the subclass's) answers each command in order.  A
    failed command closes the device and is raised on the host side."""

    def _start(self) -> None:
        self._cmd: queue.Queue = queue.Queue()
        self._res: queue.Queue = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """The simulation thread: whatever ends it -- an error while the design is
        elaborated or simulated, or the end of the simulation -- is answered to the host,
        so a host waiting for a command's result is never left waiting forever (an
        elaboration error used to kill the thread silently and hang the host)."""
        try:
            self._simulate()
        except BaseException as exc:  # noqa: BLE001 - handed to the host thread
            self._res.put((False, exc))
            return
        self._res.put((False, DeviceError("the simulated device stopped")))

    def _simulate(self) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def _do(self, *cmd):
        if self._closed:
            raise DeviceError("the simulated device is closed")
        self._cmd.put(cmd)
        ok, value = self._res.get()
        if not ok:
            self._closed = True
            raise value
        return value

    def write_regs(self, pairs) -> None:
        self._do("write", [(int(a), int(v) & _MASK) for a, v in pairs])

    def read_regs(self, addrs) -> list[int]:
        return self._do("read", [int(a) for a in addrs])


class AmaranthDevice(ThreadedDevice):
    """The unit in Amaranth's simulator (one clock domain, 100 MHz nominal)."""

    def __init__(self, unit, *, max_cycles_per_run: int = 10_000_000,
                 vcd: str | None = None):
        """``vcd``: a file to write the waveform of every simulated cycle to (the unit's
        ports and internal signals), complete once the device is closed."""
        self.unit = unit
        self.vcd = vcd
        self.rm: RegisterMap = unit.regmap
        self.max_cycles = max_cycles_per_run
        self.cycles = 0  # every simulated cycle, transfers included
        self._start()

    # ------------------------------------------------------------ host side
    def load(self, mems, addrs, values) -> None:
        self._do("load", np.asarray(mems).tolist(), np.asarray(addrs).tolist(),
                 [int(v) & _MASK for v in np.asarray(values).tolist()])

    def readback(self, mems, addrs) -> list[int]:
        return self._do("readback", np.asarray(mems).tolist(), np.asarray(addrs).tolist())

    def run(self, rule: int, src, dst, weight=None) -> dict:
        w = None if weight is None else [int(x) for x in np.asarray(weight).tolist()]
        return self._do("run", int(rule), np.asarray(src).tolist(), np.asarray(dst).tolist(),
                        w)

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
        u = self.unit
        sim = Simulator(u)
        sim.add_clock(1e-8)
        sim.add_testbench(self._testbench)
        try:
            if self.vcd is None:
                sim.run()
            else:  # waveform: written as the simulation runs, flushed on close
                try:
                    with sim.write_vcd(self.vcd, traces=_ports(u)):
                        sim.run()
                finally:
                    legal_names(self.vcd)
        except BaseException as exc:  # pragma: no cover - reported to the waiting host
            self._res.put((False, exc))

    async def _testbench(self, ctx):
        u, rm = self.unit, self.rm
        while True:
            cmd = self._cmd.get()
            if cmd is None:
                return
            try:
                result = await self._execute(ctx, u, rm, cmd)
            except Exception as exc:  # noqa: BLE001 - handed to the host thread
                self._res.put((False, exc))
                return
            self._res.put((True, result))

    async def _tick(self, ctx, *signals):
        self.cycles += 1
        return await ctx.tick().sample(*signals)

    async def _write(self, ctx, u, pairs):
        ctx.set(u.csr.w_en, 1)
        for a, v in pairs:
            ctx.set(u.csr.addr, a)
            ctx.set(u.csr.w_data, v)
            await self._tick(ctx)
        ctx.set(u.csr.w_en, 0)

    def _read(self, ctx, u, addrs):
        out = []
        for a in addrs:
            ctx.set(u.csr.addr, a)
            out.append(ctx.get(u.csr.r_data))
        return out

    async def _execute(self, ctx, u, rm, cmd):
        kind = cmd[0]
        if kind == "write":
            await self._write(ctx, u, cmd[1])
            return None
        if kind == "read":
            return self._read(ctx, u, cmd[1])
        if kind == "load":
            _, mems, addrs, vals = cmd
            if not ctx.get(u.load.ready):
                raise DeviceError("the unit refuses loads (is it running?)")
            ctx.set(u.load.valid, 1)
            for mm, a, v in zip(mems, addrs, vals):
                ctx.set(u.load.payload, {"mem": mm, "addr": a, "data": v})
                await self._tick(ctx)
            ctx.set(u.load.valid, 0)
            return None
        if kind == "readback":
            _, mems, addrs = cmd
            out: list[int] = []
            ctx.set(u.rd_resp.ready, 1)
            i = 0
            spins = 0
            while len(out) < len(addrs):
                if i < len(addrs):
                    ctx.set(u.rd_req.valid, 1)
                    ctx.set(u.rd_req.payload, {"mem": mems[i], "addr": addrs[i]})
                else:
                    ctx.set(u.rd_req.valid, 0)
                _, _, req_ready, resp_valid, resp = await self._tick(
                    ctx, u.rd_req.ready, u.rd_resp.valid, u.rd_resp.payload)
                if resp_valid:
                    out.append(_signed64(int(resp)))
                if i < len(addrs) and req_ready:
                    i += 1
                spins += 1
                if spins > 4 * len(addrs) + 16:
                    raise DeviceError("readback stalled")
            ctx.set(u.rd_req.valid, 0)
            ctx.set(u.rd_resp.ready, 0)
            return out
        if kind == "run":
            _, rule, src, dst, w = cmd
            n = len(src)
            await self._write(ctx, u, [(rm.reg("RULE"), rule), (rm.reg("EDGE_COUNT"), n),
                                       (rm.reg("CTRL"), 1)])
            i = 0
            spins = 0
            ctx.set(u.edges.valid, 1 if n else 0)
            while i < n:
                p = {"src": src[i], "dst": dst[i]}
                if w is not None:
                    p["weight"] = w[i]
                ctx.set(u.edges.payload, p)
                _, _, ready = await self._tick(ctx, u.edges.ready)
                if ready:
                    i += 1
                spins += 1
                if spins > self.max_cycles:
                    raise DeviceError(f"the unit accepted {i} of {n} edges in "
                                      f"{spins} cycles")
            ctx.set(u.edges.valid, 0)
            ctx.set(u.csr.addr, rm.reg("STATUS"))
            while ctx.get(u.csr.r_data) & 1:  # busy
                await self._tick(ctx)
                spins += 1
                if spins > self.max_cycles:
                    raise DeviceError("the unit did not finish")
            status, cycles, edges, updates, hazards, stalls = self._read(
                ctx, u, [rm.reg(r) for r in ("STATUS", "CYCLES", "EDGES_DONE", "UPDATES",
                                             "HAZARDS", "STALLS")])
            return {"done": bool(status & 2), "changed": bool(status & 4),
                    "cycles": cycles, "edges": edges, "updates": updates,
                    "hazards": hazards, "stalls": stalls}
        raise ValueError(kind)  # pragma: no cover


def _ports(unit) -> list:
    """The unit's interface signals, listed first in a waveform."""
    out = []
    for _, _, port in unit.signature.flatten(unit):
        out.append(port)
    return out


@dataclass
class SimRun:
    results: tuple
    stats: DeviceStats
    variant: str
    regmap: RegisterMap
    sim_cycles: int  # every cycle the simulator ran, idle host turns excluded


def run_kernel(kfn, graph, args: dict | None = None, *, variant: str | None = None,
               depth: int | None = None) -> SimRun:
    """Run ``kfn`` with its hardware sites on the simulated unit; results as the
    interpreter returns them."""
    args = kfn.bind(graph, **(args or {}))
    unit, spec = build_unit(kfn, variant=variant, depth=depth or max(2, graph.n))
    with AmaranthDevice(unit) as dev:
        host = UnitHost(spec, unit.regmap, dev, graph)
        results = interpret(spec.kernel, graph, args, offload=host.handlers())
        record_throughput(spec, None, host.stats.edges, host.stats.cycles,
                          f"Amaranth simulation, {graph.n} vertices")
        return SimRun(results, host.stats, spec.variant, unit.regmap, dev.cycles)
