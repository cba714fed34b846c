"""Place and route of interval units with P = 1 and P = 4 PEs on an ECP5-85F.

    python bench/bench_interval_pnr.py [--kernel bfs] [--pes 1 4] [--part ECP5-85F]
        [--seed 1] [--router router1|router2] [--placer heap|sa|static]
        [--floorplan quadrants|bands]   (several PEs: each PE's block RAMs pinned to a
                                         region of its own, ``backends.rtl.floorplan``)
        [--cosim bench/results/X.json --graph kron-18]
        [--ports C]   (memory ports, 0: one a PE; the co-simulated row of the same C)

The unit (engines, arbiter, edge pipelines, on-chip windows of the planner's interval
for a 2^18-vertex graph on ECP5 DDR3, ``interval_costs.choose(..., pes=P)``: the P PEs
share the block RAM budget) in the four-pin I/O
shell (``shell``), through yosys + nextpnr-ecp5 (``flow.run_flow``).  Records LUTs, FFs,
block RAMs, Fmax and the modelled MTEPS: Fmax x the co-simulated edges per clock of the
same kernel, P and interval on the ECP5 DDR3 memory model, read from ``--cosim`` (a
``bench_interval.py`` results JSON, row of graph ``--graph``; the file and row are named in
the output; no figure -> no MTEPS).  Writes bench/results/interval_pnr.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import machine, write_json  # noqa: E402

KERNELS = {"bfs": "bfs", "sssp_int": "sssp", "cc": "cc"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", default="bfs")
    ap.add_argument("--pes", nargs="*", type=int, default=[1, 4])
    ap.add_argument("--ports", type=int, default=1,
                    help="memory ports (multi.MultiUnit ports=; 0: one a PE)")
    ap.add_argument("--part", default="ECP5-85F")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per tool run (flow.TIMEOUT when not given)")
    ap.add_argument("--seed", type=int, default=1, help="nextpnr's --seed")
    ap.add_argument("--router", default=None, choices=("router1", "router2"),
                    help="nextpnr's --router (default: nextpnr's own, router1)")
    ap.add_argument("--placer", default=None, choices=("heap", "sa", "static"),
                    help="nextpnr's --placer (default: nextpnr's own, heap)")
    ap.add_argument("--floorplan", default=None, choices=("quadrants", "bands"),
                    help="pin each PE's block RAMs to a region of its own (P > 1; "
                         "backends.rtl.floorplan; P = 1 runs without)")
    ap.add_argument("--no-outreg", action="store_true",
                    help="leave the block RAMs' output registers off (the flow folds the "
                         "flip-flops after them in by default: backends.rtl.outreg)")
    ap.add_argument("--cosim", default=os.path.join("bench", "results",
                                                    "interval_fmax_k16_k18.json"),
                    help="results JSON of bench_interval.py with the co-simulated "
                         "edges per clock (path relative to the repository)")
    ap.add_argument("--graph", default="kron-18",
                    help="the --cosim row's graph (the units are sized for 2^18 vertices)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "interval_pnr.json"))
    ap.add_argument("--interval", type=int, default=None,
                    help="build this interval on a part the planner refuses (to measure "
                         "why: the row records the refusal and what the flow says)")
    a = ap.parse_args()
    from cosynth.backends.rtl.bitstream import PART_DEVICES
    from cosynth.backends.rtl.build import unit_for
    from cosynth.backends.rtl.dram import DramConfig
    from cosynth.backends.rtl.floorplan import PLANS
    from cosynth.backends.rtl.flow import run_flow
    from cosynth.backends.rtl.interval_costs import (
        IntervalChoice,
        NoIntervalFits,
        choose,
        fifo_depth_for,
    )
    from cosynth.backends.rtl.interval_sim import make_unit
    from cosynth.backends.rtl.shell import shell_verilog
    from cosynth.errors import ToolError
    from cosynth.loader import load_kernels
    kf = load_kernels(f"{ROOT}/examples/{KERNELS[a.kernel]}.py")[a.kernel]
    spec = unit_for(kf.ir)
    dram = DramConfig.from_figures(1.6e9, 100e-9, 16, 100e6)
    family, device = PART_DEVICES[a.part.upper()]
    measured = _cosim_rows(os.path.join(ROOT, a.cosim), a.kernel, a.graph)
    rows = []
    for P in a.pes:
        refused = None
        try:
            whole = choose(spec, a.part, 1 << 18, dram, pes=P)
        except NoIntervalFits as exc:
            refused = f"{exc.message} ({exc.hint})"
            print(f"P = {P}: the planner refuses {a.part}: {refused}", flush=True)
            if a.interval is None:
                rows.append({"kernel": a.kernel, "pes": P, "part": a.part,
                             "planner_refused": refused})
                continue
            whole = IntervalChoice(a.interval, fifo_depth_for(dram), 0, 0)
        interval = a.interval or whole.interval
        C = P if a.ports == 0 else min(a.ports, P)
        unit = make_unit(spec, interval, whole.fifo_depth, P, ports=C)
        # the shell instantiates the unit as ``component`` (shell.IOShell), so PE i's cells
        # are ``component.pe{i}.*`` in the flattened netlist; one PE: nothing to separate
        names = getattr(unit, "pe_names", [])
        plan = PLANS[a.floorplan]([f"component.{n}." for n in names]) \
            if a.floorplan and len(names) > 1 else ()
        tag = f"{a.kernel}-p{P}" + (f"-m{C}" if C > 1 else "") + \
            (f"-s{a.seed}" if a.seed != 1 else "") + \
            (f"-{a.router}" if a.router else "") + \
            (f"-{a.placer}" if a.placer else "") + \
            (f"-fp{a.floorplan}" if plan else "") + \
            ("-noreg" if a.no_outreg else "") + \
            (f"-{a.part.lower()}" if a.part.upper() != "ECP5-85F" else "")
        # the flow's files go under the results file's own name, so that two runs of the
        # same unit (a branch and main, two seeds) never overwrite each other's logs
        run = os.path.splitext(os.path.basename(a.out))[0]
        out = os.path.join(ROOT, "bench", "results", "interval_pnr", run, tag)
        t0 = time.perf_counter()
        try:
            flow = run_flow(shell_verilog(unit), "top", family, out, device=device,
                            timeout=a.timeout, seed=a.seed, router=a.router,
                            placer=a.placer, floorplan=plan, outreg=not a.no_outreg,
                            progress=lambda m: print(f"  .. {m}", flush=True))
        except ToolError as exc:  # e.g. nextpnr cannot place what the part cannot hold
            row = {"kernel": a.kernel, "pes": P, "ports": C, "part": a.part,
                   "interval": interval, "planner_refused": refused,
                   "flow_error": exc.message.splitlines()[0],
                   "utilisation": _utilisation(os.path.join(out, "pnr.log")),
                   "flow_seconds": round(time.perf_counter() - t0, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
            continue
        rep = flow.as_dict()
        cos = measured.get((P, C, interval))
        epc = cos["edges_per_clock"] if cos else None
        row = {"kernel": a.kernel, "pes": P, "ports": C, "part": a.part, "interval": interval,
               "planner_refused": refused,
               "fifo_depth": whole.fifo_depth, "luts": rep["luts"],
               "luts_total": rep["luts_total"], "ffs": rep["ffs"], "bram": rep["bram"],
               "bram_total": rep["bram_total"], "fmax_mhz": rep["fmax_mhz"],
               "timing_met": rep["timing_met"], "seed": a.seed,
               "router": a.router or "router1 (nextpnr default)",
               "placer": a.placer or "heap (nextpnr default)",
               "floorplan": a.floorplan if plan else None,
               "outreg": not a.no_outreg,
               "edges_per_clock_cosim": epc,
               "cosim_source": f"{a.cosim}: {a.graph} {a.kernel} ecp5-ddr3 P={P} C={C} "
                               f"I={interval}" if cos else None,
               "modelled_mteps": (rep["fmax_mhz"] or 0) * epc if epc else None,
               "flow_seconds": round(time.perf_counter() - t0, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    write_json(a.out, {"benchmark": "interval_pnr", "machine": machine(), "rows": rows})
    print(f"wrote {a.out}")


def _utilisation(log: str) -> dict:
    """nextpnr's "Device utilisation" lines of ``log``: cell type -> [used, available]."""
    out = {}
    try:
        with open(log) as f:
            for line in f:
                m = re.match(r"Info:\s+(\w+):\s+(\d+)/\s*(\d+)", line)
                if m:
                    out[m.group(1)] = [int(m.group(2)), int(m.group(3))]
    except OSError:
        pass
    return out


def _cosim_rows(path: str, kernel: str, graph: str) -> dict:
    """(P, ports, interval) -> the co-simulated row of ``kernel`` on ``graph`` with the ECP5 DDR3
    memory model in the results JSON at ``path`` (empty when the file is missing)."""
    try:
        with open(path) as f:
            rows = json.load(f)["rows"]
    except OSError:
        print(f"no co-simulated figures: {path} missing (modelled MTEPS left out)")
        return {}
    return {(r.get("pes", 1), r.get("ports", 1), r["interval"]): r for r in rows
            if r["kernel"] == kernel and r["graph"] == graph and r["memory"] == "ecp5-ddr3"}


if __name__ == "__main__":
    main()
