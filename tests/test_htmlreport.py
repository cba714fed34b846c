"""The HTML report (``cosynth plan|simulate --report``): its data, its structure without a
browser, and the page in headless Chromium (skipped, saying why, where Chromium is
absent) -- loaded without console or script errors, with the expected elements."""

from __future__ import annotations

import os
from dataclasses import replace
from html.parser import HTMLParser

import numpy as np
import pytest

import cosynth as cs
from cosynth import htmlreport
from cosynth.backends.rtl import costs
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.cli import main
from cosynth.htmlreport import browser
from cosynth.htmlreport.data import _choices, cut_matrix
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest, make_plan
from cosynth.planner.plan import Choice
from tests.helpers import EXAMPLES, ROOT, example

MIXED = os.path.join(ROOT, "manifests", "mixed.yaml")  # 2 FPGA blades + 2 CPU blades
BFS = os.path.join(EXAMPLES, "bfs.py") + ":bfs"
FIGURES = ("fig-blades", "fig-timeline", "fig-fpga-cycles", "fig-traffic", "fig-accuracy",
           "fig-choices", "fig-fpga-resources")

CHROMIUM = browser.find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium browser (Debian: apt-get install chromium; or set "
    "COSYNTH_CHROMIUM): the report's in-browser check needs one")


class Doc(HTMLParser):
    """Elements by id, with their tag, attributes and text; every id seen; the external
    references (src/href that are not in-page anchors)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, dict] = {}
        self.all_ids: list[str] = []
        self.external: list[str] = []
        self.tags: dict[str, int] = {}
        self.classes: dict[str, int] = {}
        self._open: list[dict] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for c in (a.get("class") or "").split():
            self.classes[c] = self.classes.get(c, 0) + 1
        for key in ("src", "href", "xlink:href"):
            v = a.get(key)
            if v and not v.startswith("#"):
                self.external.append(v)
        node = {"tag": tag, "attrs": a, "text": "", "svg": 0}
        for o in self._open:
            if tag == "svg":
                o["svg"] += 1
        if "id" in a:
            self.all_ids.append(a["id"])
            self.ids.setdefault(a["id"], node)
        if tag not in ("meta", "br", "img", "input", "link") and not self._void(tag):
            self._open.append(node)

    def handle_startendtag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.all_ids.append(a["id"])
        for key in ("src", "href", "xlink:href"):
            v = a.get(key)
            if v and not v.startswith("#"):
                self.external.append(v)

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for o in self._open:
            o["text"] += data

    @staticmethod
    def _void(tag):
        return tag in ("area", "base", "col", "embed", "hr", "source", "track", "wbr")


@pytest.fixture(scope="module")
def mixed_plan():
    """A 4-blade mixed plan: bfs with its edge loops on the two FPGA blades of
    manifests/mixed.yaml and on the CPUs of the two others."""
    man = load_manifest(MIXED)
    k = example("bfs")
    g = cs.Graph.kronecker(8, seed=0)
    args = {"source": int(np.argmax(g.out_degrees()))}
    p = make_plan(k, man, g, args, fixed={"blades": 4, "fpga": True}, fpga=fpga_profile,
                  graph_name="kron:8")
    return p, man, g, k, args


@pytest.fixture(scope="module")
def plan_report(mixed_plan, tmp_path_factory):
    p, man, g, k, args = mixed_plan
    path = str(tmp_path_factory.mktemp("report") / "plan.html")
    d = htmlreport.write_report(path, p, man, g, kernel=k, args=args)
    with open(path) as f:
        return path, f.read(), d


def test_the_plan_is_mixed_on_four_blades(mixed_plan):
    p = mixed_plan[0]
    assert [b.device for b in p.blades].count("fpga") == 2
    assert [b.device for b in p.blades].count("cpu") == 2
    for b in p.blades:
        assert bool(b.fpga_use) == (b.device == "fpga")  # the unit's use is recorded
    assert all(c.alternative_cost_per_hour is not None for c in p.choices
               if c.alternative_makespan_s is not None)


def test_report_structure_without_a_browser(plan_report, mixed_plan):
    path, text, d = plan_report
    p = mixed_plan[0]
    doc = Doc(text)
    for sid in (*htmlreport.SECTION_IDS, "fpga"):
        assert doc.ids[sid]["tag"] == "section", sid
    assert "checks" not in doc.ids  # no run, no checks
    for fid in FIGURES:
        assert doc.ids[fid]["tag"] == "figure" and doc.ids[fid]["svg"] == 1, fid
    assert len(doc.all_ids) == len(set(doc.all_ids)), "duplicate element ids"
    # self-contained: nothing fetched from anywhere
    assert doc.external == [] and "<link" not in text and "<script src" not in text
    # every blade with its range, device and the tables it holds
    for b in p.blades:
        card = doc.ids[f"blade-{b.blade}"]
        assert b.device in card["attrs"]["class"].split()
        assert f"{b.lo}..{b.hi}" in card["text"]
        for name in p.layouts:
            assert name in card["text"]
    for name, lay in p.layouts.items():
        assert lay["layout"] in doc.ids[f"table-{name}"]["text"]
    assert doc.classes["choice"] == len(p.choices)
    assert doc.classes.get("rewrite", 0) == len(p.rewrites) > 0
    assert doc.classes["fpga-unit"] == 1  # one FPGA kind (cpu-fpga, XCVU9P)
    assert "XCVU9P" in doc.ids["fpga"]["text"]
    # the alternative that lost says on what
    lost = {c["what"]: c["lost_on"] for c in d["choices"] if c["alternative"]}
    assert lost["device"] == "fixed by --fpga/--no-fpga"  # fixed={"fpga": True}
    assert set(lost.values()) <= {"time", "cost per hour", "the solver's objective",
                                  "fixed by --fpga/--no-fpga"}
    # per-nest predictions for every blade, without measurements
    assert {r["blade"] for r in d["nests"]} == {0, 1, 2, 3}
    assert all(r["measured_s"] is None for r in d["nests"])
    assert {r["device"] for r in d["nests"] if r["blade"] < 2} == {"fpga"}
    assert d["timeline"]["measured"] is None


def test_report_bytes_are_deterministic(plan_report):
    path, text, d = plan_report
    assert htmlreport.render(d) == text


def test_what_an_alternative_lost_on(mixed_plan):
    """Slower: time; faster but dearer per hour: cost per hour; chosen by the caller:
    the option that fixed it."""
    p = mixed_plan[0]
    t, cph = p.makespan, p.predicted["cost_per_hour"]
    q = replace(p, solver={**p.solver, "fixed": []}, choices=[
        Choice("blades", "4", "r", "8 blades", 0.9 * t, 2 * cph),
        Choice("variant", "pull", "r", "par", 1.5 * t, cph),
        Choice("edge lists", "held in DRAM", "r", "streamed", 0.5 * t, cph),
        Choice("device", "CPU", "the manifest has no FPGA")])
    got = [(c["what"], c["lost_on"]) for c in _choices(q)]
    assert got == [("blades", "cost per hour"), ("variant", "time"),
                   ("edge lists", "the solver's objective"), ("device", "")]
    q.solver["fixed"] = ["blades"]
    assert _choices(q)[0]["lost_on"] == "fixed by --blades"


def test_fpga_section_uses_the_figures_a_bitstream_recorded(tmp_path, monkeypatch):
    """When the FPGA cost table holds what ``cosynth bitstream`` measured for the unit on
    the part, the plan and the report use it: LUTs, FFs, DSPs, and the clock lowered to
    the measured Fmax."""
    monkeypatch.setenv("COSYNTH_CACHE", str(tmp_path / "cache"))
    man = load_manifest(MIXED)
    k = example("bfs")
    g = cs.Graph.kronecker(6, seed=0)
    args = {"source": 1}
    first = make_plan(k, man, g, args, fixed={"blades": 4, "fpga": True}, fpga=fpga_profile)
    spec = fpga_profile(first.variant_ir, first.variant).spec
    costs.record(spec, "ultrascale+", "XCVU9P", {"depth": 64, "luts": 1234, "ffs": 2345,
                                                 "dsp": 3, "bram": 4, "fmax_mhz": 180.0})
    p = make_plan(k, man, g, args, fixed={"blades": 4, "fpga": True}, fpga=fpga_profile)
    assert p.variant == first.variant
    (row,) = htmlreport.collect(p, man, g, kernel=k, args=args)["fpga"]
    assert (row["luts"], row["ffs"], row["dsps"]) == (1234, 2345, 3)
    assert row["fmax_hz"] == row["clock_hz"] == 180e6  # below the manifest's 250 MHz
    assert row["manifest_clock_hz"] == 250e6 and row["source"].startswith("measured")
    assert row["blades"] == [0, 1]


def test_cut_matrix_counts_every_edge_once():
    g = cs.Graph.from_edges([0, 0, 1, 2, 3, 3], [1, 2, 3, 0, 3, 0], num_nodes=4)
    m = cut_matrix(g, [(0, 2), (2, 4)])
    assert m.tolist() == [[1, 2], [2, 1]]
    big = cs.Graph.kronecker(7, seed=1)
    assert cut_matrix(big, [(0, 30), (30, 64), (64, 128)]).sum() == big.m


def test_cli_plan_report_and_a_wrong_report_path(tmp_path, capsys):
    out = tmp_path / "r.html"
    with pytest.raises(SystemExit) as exc:
        main(["plan", BFS, "--manifest", MIXED, "--graph", "kron:6", "--arg", "source=1",
              "--report", str(out)])
    assert exc.value.code == 0
    assert f"report written to {out}" in capsys.readouterr().out
    doc = Doc(out.read_text())
    assert set(htmlreport.SECTION_IDS) <= set(doc.ids)
    with pytest.raises(SystemExit) as exc:  # refused before any work
        main(["plan", BFS, "--manifest", MIXED, "--graph", "kron:6", "--arg", "source=1",
              "--report", str(tmp_path / "r.txt")])
    assert exc.value.code == 2
    assert "--report" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["plan", BFS, "--manifest", MIXED, "--graph", "kron:6", "--arg", "source=1",
              "--report", str(tmp_path / "missing" / "r.html")])
    assert exc.value.code == 2


def test_simulate_report_has_measured_timeline_and_traffic(tmp_path, capsys):
    """A run on four CPU blades (no FPGA: no Verilator build in the default suite): the
    blades' recorded supersteps, communication and bytes per destination are shown."""
    out = tmp_path / "sim.html"
    with pytest.raises(SystemExit) as exc:
        main(["simulate", BFS, "--manifest", MIXED, "--graph", "kron:7", "--arg",
              "source=1", "--blades", "4", "--no-fpga", "--report", str(out)])
    assert exc.value.code == 0, capsys.readouterr().err
    doc = Doc(out.read_text())
    assert {"checks", "measured-makespan", "traffic-table"} <= set(doc.ids)
    assert "blades == networkx: ok" in doc.ids["checks"]["text"]
    assert "fpga" not in doc.ids  # all on CPUs
    assert doc.ids["fig-timeline"]["svg"] == 1 and doc.ids["fig-traffic"]["svg"] == 1


def test_measured_report_data_from_a_run():
    man = load_manifest(MIXED)
    k = example("bfs")
    g = cs.Graph.kronecker(7, seed=3)
    args = {"source": int(np.argmax(g.out_degrees()))}
    sim = simulate(k, man, g, args, blades=4, fpga=False)
    d = htmlreport.collect(sim.plan, man, g, kernel=k, args=args, sim=sim,
                           command="simulate")
    meas = d["timeline"]["measured"]
    assert len(meas) == 4
    for m, st in zip(meas, sim.stats):
        assert m["compute_s"] == st["supersteps"] and m["comm_recorded"]
        assert len(m["comm_s"]) == len(m["compute_s"]) > 0
        assert sum(m["comm_s"]) + m["comm_before_s"] == pytest.approx(st["comm"], abs=1e-8)
    sent = np.array(d["traffic"]["measured_bytes"])
    assert sent.shape == (4, 4) and np.all(np.diag(sent) == 0)
    # sent = received for exchanges and refreshes; a reduction counts once per blade in
    # "bytes" (received) and once per other blade in what it sent
    got = sum(st["bytes"] for st in sim.stats)
    assert got <= sent.sum() <= 3 * got
    assert all(r["measured_s"] is not None for r in d["nests"])


# ---------------------------------------------------------------------- in the browser

@needs_chromium
def test_plan_report_loads_in_chromium_without_errors(plan_report):
    path, text, d = plan_report
    page = browser.load(path)
    assert page.console == [], page.console
    doc = Doc(page.dom)
    body = next(iter(doc_body(page.dom)))
    assert body.get("data-ready") == "1"  # the inline script ran to the end
    assert body.get("data-figures") == str(len(FIGURES))
    assert doc.ids["js-errors"]["text"] == ""
    for sid in (*htmlreport.SECTION_IDS, "fpga", *FIGURES, "blade-0", "blade-3"):
        assert sid in doc.ids, sid


@needs_chromium
def test_the_browser_check_sees_a_broken_page(plan_report, tmp_path):
    """The check can fail: the same report with a failing script reports it both in the
    console and in #js-errors."""
    path, text, d = plan_report
    bad = tmp_path / "bad.html"
    bad.write_text(text.replace("</body>", "<script>notAFunction();</script></body>"))
    page = browser.load(str(bad))
    assert any("notAFunction" in line for line in page.console)
    assert "notAFunction" in Doc(page.dom).ids["js-errors"]["text"]


@needs_chromium
@pytest.mark.slow
def test_mixed_run_report_in_chromium(tmp_path):
    """The report of a real 4-blade mixed run (two FPGA units simulated by Verilator)."""
    out = tmp_path / "mixed.html"
    with pytest.raises(SystemExit) as exc:
        main(["simulate", BFS, "--manifest", MIXED, "--graph", "kron:8", "--arg",
              "source=3", "--blades", "4", "--fpga", "--report", str(out)])
    assert exc.value.code == 0
    page = browser.load(str(out))
    assert page.console == []
    doc = Doc(page.dom)
    assert {"fpga", "checks", "fig-fpga-cycles", "fig-fpga-resources"} <= set(doc.ids)
    assert doc_body(page.dom)[0].get("data-ready") == "1"
    assert doc.classes["fpga-run"] == 2


def doc_body(dom: str) -> list[dict]:
    """The attributes of the <body> element(s) of ``dom``."""
    found = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "body":
                found.append(dict(attrs))

    P().feed(dom)
    return found
