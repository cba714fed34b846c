"""Predicted against measured time per run of each kernel's heavy nests (pagerank, tc), one
blade, one thread, on kron-SCALE for each SCALE given, with the working-set term and
without it (cache_bytes made huge): the check of the cost model's working-set term.

    python bench/bench_prediction.py 16 18   # writes bench/results/gap_tcpr_prediction.json
"""
import json
import os
import sys
from dataclasses import replace
import cosynth as cs
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest, GraphStats
from cosynth.planner.cost import predict_nests
from cosynth.planner.workload import profile
from cosynth.backends.rtl.costs import fpga_profile
man = load_manifest(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "manifests", "single.yaml"))
kind = man.kinds[0]
nows = replace(kind, calibration={**kind.calibration, "cache_bytes": 1e18})
out = []
for scale in map(int, sys.argv[1:]):
    g = cs.Graph.kronecker(scale, seed=0)
    st = GraphStats.of(g)
    for name in ("pagerank", "tc"):
        k = load_kernels(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", f"{name}.py"))[name]
        sim = simulate(k, man, g, {}, blades=1, check=False, threads=1, timeout=3600)
        w = profile(sim.plan.variant_ir, sim.plan.variant, st, fpga=fpga_profile)
        got = sim.stats[0]["nests"]
        for label, kd in (("with working set", kind), ("without", nows)):
            pred = predict_nests(w, kd, 1, 1.0, 1.0, vertices=st.n)
            for line, p in pred.items():
                rec = got.get(str(line)) or got.get(line)
                if not rec or rec["runs"] == 0 or p["runs"] == 0:
                    continue
                per_p = p["seconds"] / p["runs"]
                per_m = rec["seconds"] / rec["runs"]
                if per_m < 0.005:
                    continue
                row = {"graph": f"kron-{scale}", "kernel": name, "variant": sim.plan.variant,
                       "line": line, "model": label, "predicted_per_run_s": per_p,
                       "measured_per_run_s": per_m, "error": per_p / per_m - 1,
                       "load": os.getloadavg()[0]}
                out.append(row)
                print(json.dumps(row), flush=True)
json.dump(out, open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "gap_tcpr_prediction.json"), "w"), indent=1)
