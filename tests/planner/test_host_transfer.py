"""Host transfers in the FPGA cost model (issue 16 item 5): every unit call syncs the
unit's O(n) tables over the card's host link (``fpga.host``), so a kernel calling the
unit many times with little work per call is costed honestly and kept on the CPU."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

import cosynth as cs
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.frontend.rewrite import variant
from cosynth.loader import resolve_kernel
from cosynth.planner import ManifestError, load_manifest, make_plan
from cosynth.planner.cost import Config, evaluate, host_terms
from cosynth.planner.manifest_schema import HOST_BANDWIDTH, HOST_LATENCY
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import profile

CARD = """manifest: card
blades:
  - kind: card
    count: 1
    cpu: {{cores: 1, clock: 1.0 GHz}}
    dram: {{size: 64 GiB, bandwidth: 25 GB/s}}
    fpga: {{part: XCVU9P, clock: 250 MHz{host}}}
interconnect:
  link: {{bandwidth: 25 Gb/s, latency: 2 us}}
fileserver: {{bandwidth: 2 GB/s}}
"""
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
FREE = ", host: {bandwidth: 100 TB/s, latency: 0 s}"


def _manifest(tmp_path, host: str = ""):
    p = tmp_path / f"card{len(host)}.yaml"
    p.write_text(CARD.format(host=host))
    return load_manifest(str(p))


def _kcore(scale: int, batch: bool = False):
    """k-core's ``par`` workload; ``batch=False``: its peel one vertex at a time (as
    written, without the ``rounds`` rule), the transfer-bound form."""
    kf = resolve_kernel(os.path.join(EXAMPLES, "kcore.py") + ":kcore")
    st = GraphStats.of(cs.Graph.kronecker(scale, seed=1))
    kv, _ = variant(kf.ir, "par", batch=batch)
    return kf, st, profile(kv, "par", st, fpga=fpga_profile)


def test_host_link_defaults_and_is_validated(tmp_path):
    f = _manifest(tmp_path).kinds[0].fpga
    assert (f.host_bandwidth, f.host_latency) == (HOST_BANDWIDTH, HOST_LATENCY)
    f = _manifest(tmp_path, ", host: {bandwidth: 2 GB/s, latency: 5 us}").kinds[0].fpga
    assert f.host_bandwidth == pytest.approx(2e9) and f.host_latency == pytest.approx(5e-6)
    with pytest.raises(ManifestError, match=r"fpga\.host\.latency") as exc:
        _manifest(tmp_path, ", host: {bandwidth: 2 GB/s, latency: 5 s}")
    assert ".yaml:7:" in str(exc.value)  # the file and the line of the field
    with pytest.raises(ManifestError, match=r"fpga\.host\.bandwidth"):
        _manifest(tmp_path, ", host: {latency: 5 us}")
    # XML: the same field, validated by the XSD generated from the schema
    xml = open(os.path.join(EXAMPLES, "..", "manifests", "pair.xml")).read().replace(
        '<fpga part="ECP5-85F" clock="100 MHz"/>', '<fpga part="ECP5-85F" clock="100 MHz">'
        '<host bandwidth="1 GB/s" latency="10 us"/></fpga>')
    (tmp_path / "pair.xml").write_text(xml)
    f = load_manifest(str(tmp_path / "pair.xml")).kinds[0].fpga
    assert f.host_bandwidth == pytest.approx(1e9) and f.host_latency == pytest.approx(1e-5)


def test_fpga_time_grows_with_calls_times_table_bytes(tmp_path):
    k = _manifest(tmp_path).kinds[0]
    bw, lat = k.fpga.host_bandwidth, k.fpga.host_latency
    _, st, w = _kcore(9)
    hw = w.hw
    # k-core's unit runs the removed vertex's edge loop: one call per execution, each
    # syncing every entry of the unit's tables (8 bytes each)
    assert w.fpga_ok and w.fpga_calls > st.n and hw.host_bytes_per_vertex >= 8
    share, fixed = host_terms(k, w, st.n)
    assert share == 0.0  # no parallel nest on the unit: all of it is replicated work
    expect = w.fpga_calls * (2 * lat + st.n * hw.host_bytes_per_vertex / bw) + \
        w.replicated_fpga_edges * hw.host_bytes_per_edge / bw
    assert fixed == pytest.approx(expect)
    cfg = Config("par", (1,), (True,), (1.0,))
    est = evaluate(cfg, w, st, _manifest(tmp_path))
    assert est.per_blade[0]["host_transfer"] == pytest.approx(fixed)
    # twice the calls: the time grows by exactly the calls x (start-ups + table bytes)
    w2 = replace(w, replicated_fpga_calls=2 * w.replicated_fpga_calls)
    est2 = evaluate(cfg, w2, st, _manifest(tmp_path))
    grow = w.replicated_fpga_calls * (2 * lat + st.n * hw.host_bytes_per_vertex / bw)
    assert est2.makespan - est.makespan == pytest.approx(grow)
    # a graph twice the size: more calls, each syncing a table twice the size
    _, st2, wb = _kcore(10)
    assert wb.fpga_calls > w.fpga_calls
    table = wb.fpga_calls * st2.n * hw.host_bytes_per_vertex / bw
    assert table > 2 * w.fpga_calls * st.n * hw.host_bytes_per_vertex / bw
    assert host_terms(k, wb, st2.n)[1] == pytest.approx(
        wb.fpga_calls * 2 * lat + table + wb.replicated_fpga_edges * hw.host_bytes_per_edge / bw)
    # a CPU plan pays nothing for the link
    cpu = evaluate(Config("par", (1,), (False,), (1.0,)), w, st, _manifest(tmp_path))
    assert cpu.per_blade[0]["host_transfer"] == 0.0


def test_transfer_bound_kernel_is_placed_on_the_cpu(tmp_path):
    """One call per removed vertex is transfer bound on the card's default link: that
    workload costs more on the FPGA than on the CPU (so its plan kept k-core on the CPU);
    with the peel batched into rounds (one call per round, the planner's variants) the
    calls fall tenfold and the planner takes whichever device ``evaluate`` prices lower
    -- on this kron-10 the two are within 2% on the default link (the expand loop walks
    ``m`` edges on either, ``Workload._peel_expand``), so the link decides -- and
    puts it on the FPGA when the link is free."""
    kf, st, per_vertex = _kcore(10)
    man = _manifest(tmp_path)
    on_fpga = evaluate(Config("par", (1,), (True,), (1.0,)), per_vertex, st, man)
    on_cpu = evaluate(Config("par", (1,), (False,), (1.0,)), per_vertex, st, man)
    assert on_fpga.makespan > on_cpu.makespan
    assert on_fpga.per_blade[0]["host_transfer"] > on_cpu.makespan
    _, _, rounds = _kcore(10, batch=True)
    assert rounds.fpga_calls < per_vertex.fpga_calls / 10
    g = cs.Graph.kronecker(10, seed=1)
    batched = make_plan(kf, man, g, fpga=fpga_profile)
    st1 = GraphStats.of(g)
    kv, _ = variant(kf.ir, batched.variant)
    w = profile(kv, batched.variant, st1, fpga=fpga_profile)
    fpga_s, cpu_s = (evaluate(Config(batched.variant, (1,), (d,), (1.0,)), w, st1,
                              man).makespan for d in (True, False))
    assert abs(fpga_s - cpu_s) < 0.05 * cpu_s  # a near tie on the default link
    assert [b.device for b in batched.blades] == ["fpga" if fpga_s < cpu_s else "cpu"]
    fast = make_plan(kf, _manifest(tmp_path, FREE), g, fpga=fpga_profile)
    assert [b.device for b in fast.blades] == ["fpga"]
