"""k-core's laws re-measured the way ``cosynth calibrate`` measures them (this branch's
calibrate code: the kron-11..13 laws on each nest's time less its guard flips, the
kron-17 working-set law less the flip term), against the machine figures of an existing
calibrated manifest plus ``cpu_seconds_per_flip``; written into a copy of that manifest
in which only k-core's workload laws and the new field differ.  Evidence for the guard
term (kcore24) without re-running every kernel: the other kernels' laws stay as measured.

    python bench/kcore_flip_laws.py IN.yaml OUT.yaml SECONDS_PER_FLIP REPEAT

(from the repository root; one thread, each nest the best of REPEAT runs, CPU clock)
"""

from __future__ import annotations

import sys
from dataclasses import replace

import yaml

from cosynth import calibrate as C
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.graphio import parse_graph_spec
from cosynth.loader import load_kernels
from cosynth.planner import load_manifest
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import profile


def main(src: str, out: str, c_flip: float, repeat: int) -> None:
    tree = yaml.safe_load(open(src))
    kind = next(iter(tree["calibration"]))
    mach = {k: float(v) for k, v in tree["calibration"][kind].items()}
    mach["cpu_seconds_per_flip"] = c_flip
    k = load_kernels("examples/kcore.py")["kcore"]
    man = load_manifest("manifests/single.yaml")
    one = replace(man, kinds=(replace(man.kinds[0], count=1, calibration={}),),
                  workloads={})
    measured: dict = {}
    for key, (kfn, v, kv) in C._programs([k]).items():
        entry = measured.setdefault(key, {"kernel": kfn, "variant": v, "kv": kv,
                                          "samples": []})
        for spec in C.DEFAULT_GRAPHS:
            g = parse_graph_spec(spec, seed=0)
            st = GraphStats.of(g, spec)
            nests, sim = C._best_nests(kfn, one, g, v, 1, repeat, spec, 600)
            w = profile(kv, v, st, kfn.bind(g, **C._sample_args(kfn, g)), fpga=fpga_profile)
            w.order = C._order(sim)
            entry["samples"].append((st, w, nests))
            print(key, spec, w.order, {line: f"{r['seconds'] * 1e3:.3f} ms"
                                       for line, r in nests.items()}, flush=True)
    cal = C.Calibration(out, mach)
    for key, entry in measured.items():
        laws = C.line_laws(entry["samples"], 1, mach)
        cal.workloads[key] = {"nests": laws, "graphs": [s[0].name for s in entry["samples"]]}
    ref = measured[next(iter(measured))]["samples"][-1][0]
    C.working_set_laws(man, measured, cal, C.DEFAULT_WS_GRAPH, ref, 1, repeat, print, 600, 0)
    for key, e in cal.workloads.items():
        for line, law in e["nests"].items():
            print(key, line, "cost", round(law["cost"], 4), "overhead", law["overhead"],
                  "ws", law.get("ws"))
        tree["workloads"][key] = C._plain(e)
    tree["calibration"][kind]["cpu_seconds_per_flip"] = float(f"{c_flip:.6g}")
    with open(out, "w") as f:
        f.write(f"# {src} with cpu_seconds_per_flip = {c_flip:.4g} (branch probe) and "
                "k-core's laws re-measured by bench/kcore_flip_laws.py (this branch's "
                "calibrate code)\n")
        yaml.safe_dump(tree, f, sort_keys=False, width=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
