"""Place and route of interval units with P = 1 and P = 4 PEs on an ECP5-85F.

    python bench/bench_interval_pnr.py [--kernel bfs] [--pes 1 4] [--part ECP5-85F]

The unit (engines, arbiter, edge pipelines, on-chip windows of the planner's interval
for a 2^18-vertex graph on ECP5 DDR3, ``interval_costs.choose(..., pes=P)``: the P PEs
share the block RAM budget) in the four-pin I/O
shell (``shell``), through yosys + nextpnr-ecp5 (``flow.run_flow``).  Records LUTs, FFs,
block RAMs, Fmax and the modelled MTEPS (Fmax x the co-simulated edges per clock of
bench/results/interval.json when present).  Writes bench/results/interval_pnr.json.
"""

from __future__ import annotations

import argparse
import json
import os
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
    ap.add_argument("--part", default="ECP5-85F")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per tool run (flow.TIMEOUT when not given)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "interval_pnr.json"))
    a = ap.parse_args()
    from cosynth.backends.rtl.bitstream import PART_DEVICES
    from cosynth.backends.rtl.build import unit_for
    from cosynth.backends.rtl.dram import DramConfig
    from cosynth.backends.rtl.flow import run_flow
    from cosynth.backends.rtl.interval_costs import choose
    from cosynth.backends.rtl.interval_sim import make_unit
    from cosynth.backends.rtl.shell import shell_verilog
    from cosynth.loader import load_kernels
    kf = load_kernels(f"{ROOT}/examples/{KERNELS[a.kernel]}.py")[a.kernel]
    spec = unit_for(kf.ir)
    dram = DramConfig.from_figures(1.6e9, 100e-9, 16, 100e6)
    family, device = PART_DEVICES[a.part.upper()]
    measured = {}
    try:
        with open(os.path.join(ROOT, "bench", "results", "interval.json")) as f:
            for r in json.load(f)["rows"]:
                if r["kernel"] == a.kernel and r["memory"] == "ecp5-ddr3":
                    measured[r.get("pes", 1)] = r["edges_per_clock"]
    except (OSError, ValueError, KeyError):
        pass
    rows = []
    for P in a.pes:
        whole = choose(spec, a.part, 1 << 18, dram, pes=P)
        interval = whole.interval
        unit = make_unit(spec, interval, whole.fifo_depth, P)
        out = os.path.join(ROOT, "bench", "results", "interval_pnr", f"{a.kernel}-p{P}")
        t0 = time.perf_counter()
        flow = run_flow(shell_verilog(unit), "top", family, out, device=device,
                        timeout=a.timeout,
                        progress=lambda m: print(f"  .. {m}", flush=True))
        rep = flow.as_dict()
        epc = measured.get(P)
        row = {"kernel": a.kernel, "pes": P, "part": a.part, "interval": interval,
               "fifo_depth": whole.fifo_depth, "luts": rep["luts"],
               "luts_total": rep["luts_total"], "ffs": rep["ffs"], "bram": rep["bram"],
               "bram_total": rep["bram_total"], "fmax_mhz": rep["fmax_mhz"],
               "timing_met": rep["timing_met"], "edges_per_clock_cosim": epc,
               "modelled_mteps": (rep["fmax_mhz"] or 0) * epc if epc else None,
               "flow_seconds": round(time.perf_counter() - t0, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    write_json(a.out, {"benchmark": "interval_pnr", "machine": machine(), "rows": rows})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
