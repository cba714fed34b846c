"""RTL backend benchmark: every FPGA-eligible example kernel through synthesis and place
and route on an iCE40 HX8K and an ECP5-25F (YoWASP tools), with Fmax, utilisation and the
implied edges per second; plus the edges per clock of each unit in simulation.

    python bench/bench_rtl.py [--kernels bfs sssp_int cc kcore] [--families ice40 ecp5]

Writes bench/results/rtl.json.  Targets (issue 6): every eligible kernel places and routes
on both parts; Fmax >= 50 MHz on iCE40 and >= 100 MHz on ECP5.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import machine, write_json  # noqa: E402

KERNELS = {"bfs": "bfs", "sssp_int": "sssp", "cc": "cc", "kcore": "kcore"}
TARGET = {"ice40": 50.0, "ecp5": 100.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernels", nargs="*", default=list(KERNELS))
    ap.add_argument("--families", nargs="*", default=["ice40", "ecp5"])
    a = ap.parse_args()
    import cosynth as cs
    from cosynth.backends.rtl.bitstream import write_bitstream
    from cosynth.backends.rtl.sim import run_kernel
    from cosynth.loader import load_kernels
    runs = []
    for name in a.kernels:
        kf = load_kernels(f"{ROOT}/examples/{KERNELS[name]}.py")[name]
        g = cs.Graph.kronecker(7, seed=1)
        args = {"source": 0} if any(p.name == "source" for p in kf.ir.params) else {}
        t0 = time.perf_counter()
        sim = run_kernel(kf, g, args)
        sim_s = time.perf_counter() - t0
        for fam in a.families:
            out = os.path.join(ROOT, "bench", "results", "rtl", f"{name}-{fam}")
            t0 = time.perf_counter()
            r = write_bitstream(kf, out, fam, progress=lambda m: print(f"  .. {m}"))
            rep = r.report
            row = {
                "kernel": name, "family": fam, "device": rep["device"],
                "depth": r.depth, "fmax_mhz": rep["fmax_mhz"], "target_mhz": TARGET[fam],
                "timing_met": rep["timing_met"], "luts": rep["luts"],
                "luts_total": rep["luts_total"], "ffs": rep["ffs"], "bram": rep["bram"],
                "bram_total": rep["bram_total"], "dsp": rep["dsp"],
                "edges_per_second": rep["edges_per_second"],
                "flow_seconds": round(time.perf_counter() - t0, 1),
                "sim_edges_per_cycle_kron7": sim.stats.edges_per_cycle,
                "sim_cycles_kron7": sim.stats.cycles, "sim_seconds": round(sim_s, 2),
            }
            runs.append(row)
            print(f"{name:9s} {fam:6s} Fmax {row['fmax_mhz']:6.1f} MHz (target "
                  f"{TARGET[fam]:.0f}) LUTs {row['luts']}/{row['luts_total']} FFs "
                  f"{row['ffs']} BRAM {row['bram']}/{row['bram_total']} "
                  f"{row['edges_per_second'] / 1e6:.1f} M edges/s")
    write_json(os.path.join(ROOT, "bench", "results", "rtl.json"),
               {"benchmark": "rtl", "when": time.strftime("%Y-%m-%d %H:%M"),
                "machine": machine(), "runs": runs})


if __name__ == "__main__":
    main()
