"""Interval units on graphs larger than any on-chip memory: Verilator co-simulation of
the generated unit with the DRAM model, per kernel and memory.

    python bench/bench_interval.py [--scales 16 18] [--kernels bfs sssp_int cc]
                                   [--memories ecp5-ddr3 ddr4] [--part ECP5-85F]
                                   [--pes 1 2 4] [--ports 1 0] [--whole]
                                   [--source zero|hub] [--interval I]

For each (graph, kernel, memory, PEs): the planner's interval and FIFO depth for the part
(``interval_costs.choose``), the results checked against networkx, the edges per clock
of the runs (P = 1: one PE), the fraction of the memory bound reached (bytes the DRAM
model's bursts moved / (cycles x bytes per clock)), the fraction of cycles the one
64-bit port moved a word, the host transfers, and the cycle model's prediction against
the co-simulated cycles; per PE, the model's phases on a port of its own
(``interval_costs.breakdown``) and the PE's measured block cycles beyond them (at P > 1:
waiting on the shared port).  ``--whole`` adds, in the same run,
rows whose blocks load window B whole (``gather`` False: the engine before gathers), to
compare side by side.  ``--source hub`` starts BFS and SSSP at the vertex of highest
degree (several calls, windows that change) instead of vertex 0 (isolated in kron-16
seed 1: one sweep that changes nothing).  ``--ports C ...``: the memory channel's native
ports (``dram.DramConfig.ports``; PE i on port i % C, every port sharing the channel's
bandwidth), 0 for one a PE; a row per (PEs, ports), ``port_busy_fraction`` per port.
Writes bench/results/interval.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import machine, write_json  # noqa: E402

KERNELS = {"bfs": ("bfs", {"source": 0}), "sssp_int": ("sssp", {"source": 0}),
           "cc": ("cc", {})}
#: (bandwidth B/s, latency s, burst bytes): an ECP5 board's x16 DDR3-800 (LiteDRAM, as on
#: the ECP5 Versa), and one DDR4-3200 x64 channel of a datacenter card
MEMORIES = {"ecp5-ddr3": (1.6e9, 100e-9, 16), "ddr4": (25.6e9, 80e-9, 64)}
CLOCK = 100e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", nargs="*", type=int, default=[16])
    ap.add_argument("--kernels", nargs="*", default=list(KERNELS))
    ap.add_argument("--memories", nargs="*", default=list(MEMORIES))
    ap.add_argument("--part", default="ECP5-85F")
    ap.add_argument("--pes", nargs="*", type=int, default=[1])
    ap.add_argument("--ports", nargs="*", type=int, default=[1],
                    help="memory ports of the channel (0: one a PE); a row each")
    ap.add_argument("--source", choices=("zero", "hub"), default="zero")
    ap.add_argument("--interval", type=int, default=None,
                    help="force this interval (default: the planner's, interval_costs.choose)"
                         "; the row's bram_blocks then counts the forced unit")
    ap.add_argument("--whole", action="store_true",
                    help="also run every block loading window B whole (no gathers)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "interval.json"))
    a = ap.parse_args()
    import numpy as np

    import cosynth as cs
    from cosynth.backends.rtl.build import unit_for
    from cosynth.backends.rtl.dram import DramConfig
    from cosynth.backends.rtl.interval_costs import (
        PHASES,
        IntervalChoice,
        breakdown,
        choose,
        every_edge_writes,
        pe_queues,
        predict_parallel,
        predict_run,
        unit_blocks,
    )
    from cosynth.backends.rtl.interval_verilator import run_interval_verilator
    from cosynth.check import compare_results
    from cosynth.errors import MismatchError
    from cosynth.loader import load_kernels
    rows = []
    for scale in a.scales:
        g = cs.Graph.kronecker(scale, seed=1)
        for name in a.kernels:
            file, args = KERNELS[name]
            if "source" in args and a.source == "hub":
                args = {**args, "source": int(np.argmax(np.asarray(g.out_degrees())))}
            kf = load_kernels(f"{ROOT}/examples/{file}.py")[name]
            spec = unit_for(kf.ir)
            ewr = every_edge_writes(spec)  # every edge writes: loads wait (the model's)
            t0 = time.perf_counter()
            want = kf.expected(g, kf.bind(g, **args))
            nx_s = time.perf_counter() - t0
            modes = (True, False) if a.whole else (True,)
            combos = []
            for mem, P, C, gm in ((mem, P, C, gm) for mem in a.memories for P in a.pes
                                  for C in a.ports for gm in modes):
                C = P if C == 0 else min(C, P)
                if (mem, P, C, gm) not in combos:
                    combos.append((mem, P, C, gm))
            for mem, P, C, gather in combos:
                bw, lat, burst = MEMORIES[mem]
                dram = DramConfig.from_figures(bw, lat, burst, CLOCK, C)
                pick = choose(spec, a.part, g.n, dram, pes=P)
                if a.interval:  # an experiment beyond the planner's BRAM share
                    pick = IntervalChoice(a.interval, pick.fifo_depth,
                                          unit_blocks(spec, a.part, a.interval,
                                                      pick.fifo_depth, P),
                                          pick.part_blocks)
                t0 = time.perf_counter()
                run = run_interval_verilator(kf, g, args, interval=pick.interval, dram=dram,
                                             fifo_depth=pick.fifo_depth, pes=P,
                                             gather=gather)
                sim_s = time.perf_counter() - t0
                try:
                    compare_results(run.results, want)
                    diff = None
                except MismatchError as exc:
                    diff = str(exc)
                predicted = sum(predict_parallel(run.layout, b, dram, pick.fifo_depth, P, pk,
                                                 wr, ewr)
                                for b, pk, wr in zip(run.walks, run.packed, run.written))
                st = run.stats
                # per PE: the model's phases on a port of its own, and what the PE's block
                # commands took beyond them (waiting on the shared port, mostly)
                pe_model = [dict.fromkeys(PHASES, 0.0) for _ in range(P)]
                for b, pk, wr in zip(run.walks, run.packed, run.written):
                    for i, qb in enumerate(pe_queues(b, P, run.layout, pk)):
                        for k, v in breakdown(run.layout, qb, dram, pick.fifo_depth, pk,
                                              wr, ewr).items():
                            pe_model[i][k] += v
                pe_model = [{k: round(v) for k, v in x.items()} for x in pe_model]
                pe_wait = [c - sum(x.values())
                           for c, x in zip(run.blocks.pe_cycles, pe_model)]
                q = run.layout.intervals  # the planner's view: edges spread over q x q
                planned = st.runs * predict_run(run.layout, dram, pick.fifo_depth,
                                                st.edges / max(1, st.runs), q, q, P,
                                                edge_writes=ewr)
                row = {
                    "graph": f"kron-{scale}", "n": g.n, "m": g.m, "kernel": name,
                    "args": args,
                    "memory": mem, "dram": dram.as_dict(), "part": a.part, **pick.as_dict(),
                    "intervals": run.layout.intervals, "pes": P, "ports": C,
                    "gather": gather,
                    "gathers": run.blocks.gathers, "gathered": run.blocks.gathered,
                    "window_loads": run.blocks.window_loads,
                    "equal_to_networkx": diff is None, "mismatch": diff, "runs": st.runs,
                    "edges": st.edges,
                    "run_cycles": st.cycles, "blocks": run.blocks.blocks,
                    "edges_per_clock": st.edges / st.cycles if st.cycles else 0.0,
                    "edges_per_clock_per_pe": st.edges / st.cycles / P if st.cycles else 0.0,
                    "pe_edges": run.blocks.pe_edges, "pe_block_cycles": run.blocks.pe_cycles,
                    "pe_model_phases": pe_model, "pe_beyond_model": pe_wait,
                    "port_busy_fraction": run.dram_words / st.cycles / C if st.cycles else 0.0,
                    "memory_bound_fraction": run.dram_bytes / (st.cycles * dram.bytes_per_clock)
                    if st.cycles else 0.0,
                    "dram_bytes": run.dram_bytes, "port_words": run.dram_words,
                    "host_transfer_bytes": run.blocks.transfer_bytes,
                    "predicted_cycles": round(predicted),
                    "prediction_error": (predicted - st.cycles) / st.cycles if st.cycles else 0,
                    "planner_predicted_cycles": round(planned),
                    "planner_error": (planned - st.cycles) / st.cycles if st.cycles else 0,
                    "modelled_mteps_at_100mhz": st.edges / st.cycles * 100 if st.cycles else 0,
                    "sim_seconds": round(sim_s, 1), "networkx_seconds": round(nx_s, 1),
                }
                rows.append(row)
                print(f"kron-{scale} {name:9s} {mem:10s} P={P} C={C} gather={gather:d} "
                      f"I={pick.interval:6d} "
                      f"fifo={pick.fifo_depth:3d} ok={diff is None} "
                      f"e/clk={row['edges_per_clock']:.3f} mem={row['memory_bound_fraction']:.2f}"
                      f" port={row['port_busy_fraction']:.2f}"
                      f" pred.err={row['prediction_error']:+.1%}"
                      f" planner={row['planner_error']:+.1%}"
                      f" ({sim_s:.0f} s)", flush=True)
    write_json(a.out, {"benchmark": "interval", "machine": machine(), "clock_hz": CLOCK,
                       "rows": rows})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
