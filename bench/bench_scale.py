"""Per-blade memory and traffic of sharded runs (issue 15): SSSP, BFS, PageRank and CC on
Kronecker graphs at P = 1, 2, 4, 8 blades (oversubscribed on a small machine: the wall
time is not the point, memory and bytes are).

For every run: each blade's peak RSS (measured from outside by a wrapper around the blade,
``getrusage(RUSAGE_CHILDREN)``, the same for old and new code; the new runtime also
reports its own ``getrusage`` figure), its ghosts, the bytes it sent per superstep and in
total, the plan's predicted per-blade DRAM, and whether the result equals the one-blade
run.  Before the runs, the memory a blade holds without data (``fixed``: each blade's
peak RSS in an 8-blade run on a 16-vertex graph, ``cosynth.calibrate.fixed_memory``) is
measured; the summary gives the RSS target as the issue states it and with that fixed
memory counted once per blade, and the plan's DRAM error with and without the fixed term.
``--label old`` with the interpreter of a checkout of the code before the change
gives the side-by-side figures; results are merged into ``bench/results/scale.json``
under the label.

    .venv/bin/python bench/bench_scale.py --scales 20 --label new
    /tmp/old/.venv/bin/python bench/bench_scale.py --scales 20 --label old
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np
from common import ROOT, machine, write_json

import cosynth as cs
from cosynth import spref
from cosynth.backends.cpp.bundle import gather, read_stats
from cosynth.backends.toolchain import compile_program, mpirun
from cosynth.calibrate import fixed_memory
from cosynth.frontend.rewrite import variant as rewrite_variant
from cosynth.loader import load_kernels
from cosynth.pipeline import build
from cosynth.planner import load_manifest
from cosynth.planner.cost import blade_fixed
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import no_fpga, profile

ALGOS = {"sssp": ("sssp", "sssp"), "bfs": ("bfs", "bfs"), "pagerank": ("pagerank", "pagerank"),
         "cc": ("cc", "cc")}
VARIANT = {"sssp": "async", "bfs": "par", "pagerank": "bsp", "cc": "async"}

#: run as each rank: runs the blade as a child and records the child's peak RSS
WRAPPER = """#!{python}
import os, resource, subprocess, sys
rc = subprocess.call([os.path.join(os.path.dirname(os.path.abspath(__file__)), "blade"),
                      *sys.argv[1:]])
rank = os.environ.get("OMPI_COMM_WORLD_RANK", "0")
with open(os.path.join("out", "rss.rank" + rank), "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024))
sys.exit(rc)
"""


#: an MPI program without data: MPI_Init, one allreduce and one alltoall (what a blade's
#: collectives set up), its peak RSS (VmHWM) before and after MPI_Init, MPI_Finalize
EMPTY_MPI = r"""
#include <mpi.h>
#include <cstdio>
#include <cstring>
#include <string>
static long long hwm() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  char line[256];
  long long kib = -1;
  while (f && std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) break;
  if (f) std::fclose(f);
  return kib * 1024;
}
int main(int argc, char** argv) {
  long long before = hwm();
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long long one = 1, all = 0;
  MPI_Allreduce(&one, &all, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  std::string s(8 * size, '\0'), r(8 * size, '\0');
  MPI_Alltoall(&s[0], 8, MPI_BYTE, &r[0], 8, MPI_BYTE, MPI_COMM_WORLD);
  std::string path = std::string("rss.rank") + std::to_string(rank);
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fprintf(f, "%lld %lld\n", before, hwm());
  std::fclose(f);
  MPI_Finalize();
  return 0;
}
"""


def empty_mpi(blades: int, timeout: float) -> dict:
    """Peak RSS of every process of an MPI program without data, at ``blades``
    processes: before MPI_Init (the program and its libraries) and at the end."""
    binary, _ = compile_program(EMPTY_MPI, name="empty_mpi")
    with tempfile.TemporaryDirectory(prefix="cosynth-empty-") as d:
        mpirun(binary, "-", blades, threads=1, timeout=timeout, workdir=d, stall=None)
        rows = [open(os.path.join(d, f"rss.rank{r}")).read().split() for r in range(blades)]
    return {"blades": blades, "before_init": [int(a) for a, _ in rows],
            "peak": [int(b) for _, b in rows]}


def run_one(kf, man, g, args, P, variant, base, timeout):
    out = os.path.join(base, f"b{P}")
    plan, bundle = build(kf, man, g, args, out, blades=P, variant=variant)
    binary, _ = compile_program(bundle.source, defines=bundle.defines)
    shutil.copy(binary, os.path.join(out, "blade"))
    with open(os.path.join(out, "wrap.py"), "w") as f:
        f.write(WRAPPER.format(python=sys.executable))
    os.chmod(os.path.join(out, "wrap.py"), 0o755)
    t0 = time.perf_counter()
    # no stall watch: eight blades oversubscribed on a loaded machine (run under nice, the
    # figures are memory and bytes) wait longer than run.cfg's 30 s between supersteps
    # (kron-22 CC: blade 0 waited 34 s at step 10 and the blades' watch ended the job)
    mpirun(os.path.join(out, "wrap.py"), "run.cfg", P, threads=1, timeout=timeout,
           workdir=out, stall=None, env_vars={"COSYNTH_STALL_TIMEOUT": "0"})
    wall = time.perf_counter() - t0
    result = gather(bundle, g)[0]
    stats = read_stats(bundle)
    blades = []
    for r, st in enumerate(stats):
        with open(os.path.join(out, "out", f"rss.rank{r}")) as f:
            rss = int(f.read())
        pb = plan.blades[r]
        kind = next(k for k in man.kinds if k.name == pb.kind)
        blades.append({"rank": r, "rss": rss, "rss_self": st.get("peak_rss"),
                       "ghosts": st.get("ghosts"), "owned": st.get("owned"),
                       "bytes": st["bytes"], "step_bytes": st.get("step_bytes"),
                       "supersteps": len(st["supersteps"]), "dense": st.get("dense"),
                       "sparse": st.get("sparse"), "predicted_dram": pb.dram_bytes,
                       "predicted_fixed": blade_fixed(kind),
                       "replicated": st.get("replicated", True),
                       "rss_marks": st.get("rss_marks"), "local_edges": st.get("local_edges"),
                       "send_bytes": st.get("send_bytes"),
                       "send_bitmaps": st.get("send_bitmaps")})
    shutil.rmtree(out, ignore_errors=True)
    return result, {"P": P, "variant": plan.variant, "wall": wall, "blades": blades,
                    "max_rss": max(b["rss"] for b in blades),
                    "bytes": sum(b["bytes"] for b in blades)}


def same(a, b) -> bool:
    if a.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
    return bool(np.array_equal(a, b))


def _right(row: dict) -> bool:
    """Not known wrong: equal to the one-blade run, or (without one) to scipy."""
    ok = row.get("equals_1_blade")
    return (row.get("equals_scipy") if ok is None else ok) is not False


def rack16_one_thread():
    """rack16.yaml with one core a blade: every blade of this benchmark runs one thread
    (``mpirun(..., threads=1)``), so the plan's memory model must count no per-thread
    private copies (with rack16's 16 cores it counted 15, e.g. +67 % of PageRank's
    predicted DRAM at P=1 over a one-thread run)."""
    man = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))
    return dataclasses.replace(man, kinds=tuple(dataclasses.replace(k, cpu_cores=1)
                                                for k in man.kinds))


def model_dram(name: str, variant: str, n: int, m: int, P: int, blade: dict) -> float:
    """The current memory model's bytes (``planner.memory`` plus the process without
    data) for a recorded blade: its owned vertices, ghosts and edges as it reported
    them.  The footprint does not depend on the graph: it is profiled on kron:4."""
    key = (name, variant)
    if key not in _FOOTPRINTS:
        file, kernel = ALGOS[name]
        kf = load_kernels(os.path.join(ROOT, "examples", f"{file}.py"))[kernel]
        kv, _ = rewrite_variant(kf.ir, variant)
        small = cs.Graph.kronecker(4, seed=1)
        _FOOTPRINTS[key] = profile(kv, variant, GraphStats.of(small), fpga=no_fpga)
    w = _FOOTPRINTS[key]
    man = rack16_one_thread()
    return w.blade_dram(n, m, blade["owned"], blade["ghosts"],
                        blade["local_edges"] / m if m else 0.0, False, P) + \
        blade_fixed(man.kinds[0])


_FOOTPRINTS: dict = {}


def summary(data: dict, label: str = "new") -> list[str]:
    """Per graph and algorithm and P of the runs under ``label``: max per-blade RSS under
    ``label`` and every other label that has the row (side by side, e.g. this stop's, the
    previous stops', the code before the issue), total bytes sent (``label`` / ``old``),
    and the current memory model's DRAM against each blade's measured RSS (largest
    error); then the issue's targets at P=8: RSS(P=8) <= 1.5 RSS(1) / 8 + ghost tables;
    bytes per superstep against one 8-byte refresh entry plus one 16-byte exchange
    record per ghost.  A key without a one-blade run under ``label`` takes RSS(1) from
    the latest other label that has one (named)."""
    lines = []
    others = [k for k in data if k != label and isinstance(data[k], dict) and
              k not in ("machine", "fixed") and all(isinstance(v, dict) and "runs" in v
                                                     for v in data[k].values())]
    new, old = data.get(label, {}), data.get("old", {})
    nan = float("nan")
    for key in sorted(new):
        name = key.split("/")[1]
        n, m = new[key]["n"], new[key]["m"]
        rows = {r["P"]: r for r in new[key]["runs"]}
        orows = {r["P"]: r for r in old.get(key, {}).get("runs", [])}
        other = {o: {r["P"]: r for r in data[o].get(key, {}).get("runs", [])} for o in others}
        lines.append(f"{key} (RSS MiB {label}/{'/'.join(others)}; MiB sent {label}/old; "
                     "model error)")
        for P, r in sorted(rows.items()):
            o = orows.get(P)
            err = max(((model_dram(name, r["variant"], n, m, P, b) - b["rss"]) / b["rss"]
                       for b in r["blades"]), key=abs)
            side = "/".join(f"{other[x][P]['max_rss'] / 2**20 if P in other[x] else nan:.1f}"
                            for x in others)
            lines.append(f"  P={P}: {r['max_rss'] / 2**20:.1f}/{side}; "
                         f"{r['bytes'] / 2**20:.1f}/{o['bytes'] / 2**20 if o else nan:.1f}; "
                         f"{err:+.1%}{'' if _right(r) else ' WRONG'}")
        one = None
        if 1 not in rows:  # the latest other label with a one-blade run of this key
            one = next((x for x in reversed(list(data)) if x in other and 1 in other[x]),
                       None)
        if 8 in rows and (1 in rows or one):
            both = dict(rows)
            if one:
                both[1] = other[one][1]
                lines.append(f"  (RSS(1) from label {one})")
            lines += _targets(both, data.get("fixed"))
    return lines


def _targets(rows: dict, fixed: dict | None) -> list[str]:
    """The issue's targets at P = 8 (against P = 1).  RSS: as the issue states it, max
    RSS(8) <= 1.5 RSS(1) / 8 + ghost tables (41 bytes per ghost); and with the memory a
    blade holds without data (F, measured) counted once per blade rather than divided by
    8: <= 1.5 (RSS(1) - F) / 8 + ghost tables + F.  Bytes: the largest superstep's total
    against one 8-byte refresh entry plus one 16-byte exchange record per ghost.  Plan:
    the model's DRAM is in ``summary``, per P."""
    r1, r8 = rows[1], rows[8]
    F = max(fixed["rss"]) if fixed else 0
    ghost_tables = max(b["ghosts"] * 41 for b in r8["blades"])
    bound = 1.5 * r1["max_rss"] / 8 + ghost_tables
    bound_f = 1.5 * max(r1["max_rss"] - F, 0) / 8 + ghost_tables + F
    steps = [sum(b["step_bytes"][i] for b in r8["blades"] if i < len(b["step_bytes"]))
             for i in range(max(len(b["step_bytes"]) for b in r8["blades"]))]
    ghosts = sum(b["ghosts"] for b in r8["blades"])
    ratio = max(steps) / (ghosts * 24) if ghosts else 0.0

    mib = 2**20
    return [f"  P=8 max RSS {r8['max_rss'] / mib:.1f} MiB; issue's target (1.5 x RSS(1)/8 + "
            f"ghost tables) {bound / mib:.1f} MiB: "
            f"{'met' if r8['max_rss'] <= bound else 'missed'}; with the fixed "
            f"{F / mib:.1f} MiB per blade not divided by 8: {bound_f / mib:.1f} MiB: "
            f"{'met' if r8['max_rss'] <= bound_f else 'missed'}",
            f"  max superstep bytes / (24 x ghosts) = {ratio:.2f}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="20")
    ap.add_argument("--blades", default="1,2,4,8")
    ap.add_argument("--algos", default="sssp,bfs,pagerank,cc")
    ap.add_argument("--label", default="new")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "scale.json"))
    ap.add_argument("--merge", help="add the runs of another results file (e.g. the old code's)")
    ap.add_argument("--summary", action="store_true", help="print the comparison and stop")
    ap.add_argument("--empty", action="store_true",
                    help="measure the empty MPI program only (into --out) and stop")
    a = ap.parse_args()
    if a.merge or a.summary:
        with open(a.out) as f:
            data = json.load(f)
        if a.merge:
            with open(a.merge) as f:
                other = json.load(f)
            for label, runs in other.items():
                if label in ("fixed", "empty_mpi"):  # the latest measurement of these
                    data[label] = runs
                elif label != "machine":
                    data.setdefault(label, {}).update(runs)
            write_json(a.out, data)
        print("\n".join(summary(data, a.label)))
        return 0
    if a.empty:
        try:
            with open(a.out) as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = {}
        data["empty_mpi"] = [empty_mpi(P, a.timeout) for P in (1, 8)]
        write_json(a.out, data)
        for e in data["empty_mpi"]:
            print(f"an empty MPI program, {e['blades']} processes: peak "
                  f"{min(e['peak']) / 2**20:.1f}-{max(e['peak']) / 2**20:.1f} MiB "
                  f"({max(e['before_init']) / 2**20:.1f} MiB before MPI_Init)")
        return 0
    man = rack16_one_thread()
    try:
        with open(a.out) as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = {}
    data["machine"] = machine()
    bfs = load_kernels(os.path.join(ROOT, "examples", "bfs.py"))["bfs"]
    rss = fixed_memory(bfs, man, blades=8, threads=1, timeout=a.timeout)
    data["fixed"] = {"kernel": "bfs", "graph": "kron:4", "blades": 8, "threads": 1,
                     "rss": rss}
    print(f"a blade without data: {max(rss) / 2**20:.1f} MiB (max of 8 blades)", flush=True)
    data["empty_mpi"] = [empty_mpi(P, a.timeout) for P in (1, 8)]
    for e in data["empty_mpi"]:
        print(f"an empty MPI program, {e['blades']} processes: peak "
              f"{min(e['peak']) / 2**20:.1f}-{max(e['peak']) / 2**20:.1f} MiB "
              f"({max(e['before_init']) / 2**20:.1f} MiB before MPI_Init)", flush=True)
    runs = data.setdefault(a.label, {})
    for scale in (int(s) for s in a.scales.split(",")):
        g = cs.Graph.kronecker(scale, seed=1)
        src = int(np.argmax(g.out_degrees()))
        for name in a.algos.split(","):
            file, kernel = ALGOS[name]
            kf = load_kernels(os.path.join(ROOT, "examples", f"{file}.py"))[kernel]
            args = {"source": src} if name in ("sssp", "bfs") else {}
            key = f"kron-{scale}/{name}"
            ref = None
            rows, results = [], {}
            for P in (int(p) for p in a.blades.split(",")):
                base = tempfile.mkdtemp(prefix="cosynth-scale-")
                try:
                    res, row = run_one(kf, man, g, args, P, VARIANT[name], base, a.timeout)
                finally:
                    shutil.rmtree(base, ignore_errors=True)
                if P == 1 or ref is not None:  # against the one-blade run
                    ref = res if ref is None else ref
                    row["equals_1_blade"] = same(res, ref)
                else:  # no one-blade run (too big): against scipy, where it has the kernel
                    fn = getattr(spref, name, None)
                    row["equals_1_blade"] = None
                    row["equals_scipy"] = same(res, fn(g, **args)) if fn else None
                rows.append(row)
                results[P] = res
                if P == 1:  # a one-blade run after others (--blades 8,1): check them now
                    for r in rows:
                        r["equals_1_blade"] = same(results[r["P"]], res)
                print(f"{a.label} {key} P={P}: max RSS {row['max_rss'] / 2**20:.1f} MiB, "
                      f"{row['bytes'] / 2**20:.2f} MiB sent, "
                      f"ghosts {[b['ghosts'] for b in row['blades']]}, "
                      f"equal {row['equals_1_blade']}"
                      + (f", equal scipy {row['equals_scipy']}" if "equals_scipy" in row else "")
                      + f", {row['wall']:.1f} s", flush=True)
                runs[key] = {"n": g.n, "m": g.m, "runs": rows}
                write_json(a.out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
