"""k-core's working-set slopes of a flip-free calibration (NEW, e.g. the output of
``bench/kcore_flip_laws.py``) recomputed from the quiet kron-17 times that an older
calibration's laws (OLD) encode exactly: calibrate sets ``slope = (measured - runs x
overhead - work) / work / doublings``, so ``measured`` follows from OLD's overhead, cost
and slope and the kron-17 counts (k-core's counts are exact).  The slope is then what
calibrate would fit on that quiet time less the flip term.  Evidence only (kcore24).

    python bench/kcore_flip_quiet17.py OLD.yaml NEW.yaml OUT.yaml
"""

from __future__ import annotations

import math
import sys

import yaml

import cosynth as cs
from cosynth.calibrate import _flip_seconds
from cosynth.frontend.rewrite import variant
from cosynth.loader import load_kernels
from cosynth.planner.calibration import workload_key
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import no_fpga, profile


def main(old_path: str, new_path: str, out: str) -> None:
    old, new = yaml.safe_load(open(old_path)), yaml.safe_load(open(new_path))
    kind = next(iter(new["calibration"]))
    mach = new["calibration"][kind]
    e1 = mach["cpu_edges_per_second_per_core"]
    v1 = mach["cpu_vertices_per_second_per_core"]
    k = load_kernels("examples/kcore.py")["kcore"]
    kv, _ = variant(k.ir, "par")
    key = workload_key(kv, "par")
    g = cs.Graph.kronecker(17, seed=0)
    st = GraphStats.of(g, "kron:17")
    w = profile(kv, "par", st, k.bind(g), fpga=no_fpga)
    for line, law in new["workloads"][key]["nests"].items():
        o = old["workloads"][key]["nests"][line]
        ns = [x for x in w.nests if x.line == int(line)]
        runs = sum(x.runs for x in ns)
        unit = sum(x.runs * (x.edges / e1 + x.nodes / v1) for x in ns)
        grow = math.log2(st.n / o["ws"]["ref_n"])
        meas = runs * o["overhead"] + o["cost"] * unit * (1 + o["ws"]["slope"] * grow)
        flips = _flip_seconds(ns, "id", mach, 1)
        work = law["cost"] * unit
        slope = (meas - runs * law["overhead"] - work - flips) / work / grow
        print(f"line {line}: quiet kron-17 {meas * 1e3:.2f} ms, flips {flips * 1e3:.2f} ms, "
              f"slope {law['ws']['slope']:.4g} -> {slope:.4g}")
        law["ws"]["slope"] = float(f"{slope:.6g}")
    with open(out, "w") as f:
        f.write(f"# {new_path} with k-core's ws slopes from the quiet kron-17 times of "
                f"{old_path} (bench/kcore_flip_quiet17.py)\n")
        yaml.safe_dump(new, f, sort_keys=False, width=100)


if __name__ == "__main__":
    main(*sys.argv[1:4])
