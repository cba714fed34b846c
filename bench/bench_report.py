"""Issue 12 benchmark: the HTML report of a 4-blade mixed plan and run, in a browser.

    python bench/bench_report.py [--scale 10] [--kernel bfs] [--no-run]
                                 [--out bench/results/report.json]

1. Plans bfs (source: the highest-degree vertex) on the four blades of
   ``manifests/mixed.yaml`` with the edge loops on the two FPGA blades, writes the plan
   report, and (unless ``--no-run``) simulates the plan (two CPU blades, two FPGA units
   as Verilator models) and writes the run report.
2. Loads each report in headless Chromium: no console message, no script error recorded
   in ``#js-errors``, every section and figure present.
3. Saves a full-page screenshot of each (``bench/results/report-plan.png``,
   ``report-run.png``) and the HTML files beside them; the JSON records the times
   (collect + figures + page, browser load), the file sizes and the checks.
"""

from __future__ import annotations

import argparse
import os
import re
import time

import numpy as np
from common import ROOT, machine, write_json

import cosynth as cs
from cosynth import htmlreport
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.htmlreport import browser
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest, make_plan

RESULTS = os.path.join(ROOT, "bench", "results")
KERNEL_FILES = {"bfs": "bfs.py", "sssp_int": "sssp.py", "cc": "cc.py", "kcore": "kcore.py"}


def check_page(path: str) -> dict:
    """Load ``path`` in Chromium; the console lines, the recorded errors and the ids."""
    t0 = time.perf_counter()
    page = browser.load(path)
    dt = time.perf_counter() - t0
    errors = re.search(r'<pre id="js-errors"[^>]*>(.*?)</pre>', page.dom, re.S)
    ids = set(re.findall(r'\bid="([^"]+)"', page.dom))
    missing = [s for s in htmlreport.SECTION_IDS if s not in ids]
    ready = re.search(r'<body[^>]*data-ready="1"', page.dom) is not None
    figures = re.search(r'<body[^>]*data-figures="(\d+)"', page.dom)
    return {"load_s": round(dt, 3), "console": page.console,
            "js_errors": errors.group(1) if errors else "<no #js-errors element>",
            "missing_sections": missing, "scripts_ran": ready,
            "figures": int(figures.group(1)) if figures else 0,
            "ok": not page.console and errors is not None and not errors.group(1)
            and not missing and ready}


def report(name: str, write) -> dict:
    html = os.path.join(RESULTS, f"report-{name}.html")
    png = os.path.join(RESULTS, f"report-{name}.png")
    t0 = time.perf_counter()
    write(html)
    t_write = time.perf_counter() - t0
    out = {"html": os.path.relpath(html, ROOT), "bytes": os.path.getsize(html),
           "write_s": round(t_write, 3)}
    out.update(check_page(html))
    browser.screenshot(html, png, width=1280, height=5200)
    out["screenshot"] = os.path.relpath(png, ROOT)
    print(f"{name}: {out['bytes']:,} bytes written in {t_write:.2f} s; Chromium "
          f"{out['load_s']:.2f} s, {out['figures']} figures, console "
          f"{len(out['console'])} line(s), ok={out['ok']}; screenshot {out['screenshot']}",
          flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--kernel", default="bfs", choices=sorted(KERNEL_FILES))
    ap.add_argument("--no-run", action="store_true", help="the plan report only")
    ap.add_argument("--out", default=os.path.join(RESULTS, "report.json"))
    a = ap.parse_args()
    if browser.find_chromium() is None:
        raise SystemExit("no Chromium browser: apt-get install chromium (or set "
                         "COSYNTH_CHROMIUM)")
    os.makedirs(RESULTS, exist_ok=True)
    man = load_manifest(os.path.join(ROOT, "manifests", "mixed.yaml"))
    k = load_kernels(os.path.join(ROOT, "examples", KERNEL_FILES[a.kernel]))[a.kernel]
    g = cs.Graph.kronecker(a.scale, seed=0)
    args = {p.name: int(np.argmax(g.out_degrees())) for p in k.ir.params
            if p.name == "source"}
    spec = f"kron:{a.scale}"
    t0 = time.perf_counter()
    plan = make_plan(k, man, g, args, fixed={"blades": 4, "fpga": True}, fpga=fpga_profile,
                     graph_name=spec)
    t_plan = time.perf_counter() - t0
    devices = [b.device for b in plan.blades]
    print(f"{a.kernel} on {spec}: 4 blades {devices}, planned in {t_plan:.2f} s", flush=True)
    result = {"kernel": a.kernel, "graph": spec, "blades": devices,
              "plan_s": round(t_plan, 3), "machine": machine(),
              "chromium": browser.find_chromium()}
    result["plan"] = report("plan", lambda p: htmlreport.write_report(
        p, plan, man, g, kernel=k, args=args, command="plan"))
    if not a.no_run:
        t0 = time.perf_counter()
        sim = simulate(k, man, g, args, blades=4, fpga=True, graph_name=spec)
        result["run_s"] = round(time.perf_counter() - t0, 3)
        result["checks"] = sim.checks
        print(f"run: {result['run_s']:.1f} s; " + "; ".join(sim.checks), flush=True)
        result["run"] = report("run", lambda p: htmlreport.write_report(
            p, sim.plan, man, g, kernel=k, args=args, sim=sim, command="simulate"))
    write_json(a.out, result)
    print(f"wrote {os.path.relpath(a.out, ROOT)}")
    if not all(result[r]["ok"] for r in ("plan", "run") if r in result):
        raise SystemExit("a report did not load cleanly in Chromium (see the JSON)")


if __name__ == "__main__":
    main()
