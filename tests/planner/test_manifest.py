"""Blade manifests: both formats, the examples, units, and every kind of mistake."""

from __future__ import annotations

import os

import pytest

from cosynth.planner.manifest import ManifestError, load_manifest
from cosynth.planner.units import UnitError, parse
from tests.helpers import ROOT

M = os.path.join(ROOT, "manifests")


@pytest.mark.parametrize("name,blades,kinds", [("single", 1, 1), ("pair", 2, 1),
                                               ("rack16", 16, 2), ("cluster64", 64, 2)])
def test_examples_load(name, blades, kinds):
    m = load_manifest(os.path.join(M, f"{name}.yaml"))
    assert m.blades == blades and len(m.kinds) == kinds
    assert m.interconnect.link_bandwidth > 0 and m.fileserver_bandwidth > 0


@pytest.mark.parametrize("name", ["pair", "cluster64"])
def test_xml_and_yaml_are_one_model(name):
    assert load_manifest(os.path.join(M, f"{name}.yaml")) == \
        load_manifest(os.path.join(M, f"{name}.xml"))


def test_units_and_parts():
    m = load_manifest(os.path.join(M, "cluster64.yaml"))
    cpu, fpga = m.kinds
    assert cpu.dram_bytes == 128 * 2**30 and cpu.cpu_clock_hz == 2.6e9
    assert m.interconnect.link_bandwidth == 25e9 / 8 and m.interconnect.link_latency == 2e-6
    assert m.interconnect.rack_size == 16 and m.interconnect.uplink_bandwidth == 100e9 / 8
    assert fpga.fpga.part == "XCVU9P" and fpga.fpga.luts == 1182240
    assert fpga.fpga.clock_hz == 250e6
    assert m.first(20).blades == 20 and m.first(20).kinds[0].count == 20
    assert parse("8 GB", "size") == 8e9 and parse("8 GiB", "size") == 8 * 2**30
    for text, kind in (("8 Gb", "size"), ("64", "size"), ("10 GB", "bandwidth"),
                       ("-1 MHz", "frequency")):
        with pytest.raises(UnitError):
            parse(text, kind)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


GOOD = """manifest: t
blades:
  - kind: a
    count: 2
    cpu: {cores: 4, clock: 2 GHz}
    dram: {size: 8 GiB, bandwidth: 10 GB/s}
interconnect:
  link: {bandwidth: 10 Gb/s, latency: 5 us}
fileserver: {bandwidth: 1 GB/s}
"""


@pytest.mark.parametrize("old,new,field,line,msg", [
    ("    dram: {size: 8 GiB, bandwidth: 10 GB/s}\n", "", "blades[0].dram", 3, "missing"),
    ("size: 8 GiB", "size: 8 Gb", "blades[0].dram.size", 6, "not a unit of size"),
    ("size: 8 GiB", "size: 8", "blades[0].dram.size", 6, "has no unit"),
    ("count: 2", "count: -2", "blades[0].count", 4, "must not be negative"),
    ("cores: 4", "cores: 0", "blades[0].cpu.cores", 5, "must be positive"),
    ("    dram:", "    fpga: {part: XC9000}\n    dram:", "blades[0].fpga.part", 6,
     "unknown FPGA part 'XC9000'"),
    ("latency: 5 us", "latency: 5 parsecs", "interconnect.link.latency", 8,
     "is not a unit of time"),
    ("manifest: t", "manifest: t\nspeed: fast", "speed", 2, "unknown field"),
    ("fileserver: {bandwidth: 1 GB/s}", "fileserver: {bandwidth: 1 GB/s}\npriority: soon",
     "priority", 10, "not a priority"),
])
def test_bad_yaml_names_file_line_and_field(tmp_path, old, new, field, line, msg):
    assert old in GOOD
    p = write(tmp_path, "m.yaml", GOOD.replace(old, new))
    with pytest.raises(ManifestError) as info:
        load_manifest(p)
    err = info.value
    assert msg in err.message and err.message.startswith(field), err.format()
    assert err.loc.file == p and err.loc.line == line, err.format()


def test_yaml_that_does_not_parse(tmp_path):
    p = write(tmp_path, "m.yaml", GOOD.replace("  link: {", "  link: {{"))
    with pytest.raises(ManifestError, match="is not valid YAML") as info:
        load_manifest(p)
    assert info.value.loc.line == 9


def test_xml_that_fails_the_schema(tmp_path):
    p = write(tmp_path, "m.xml", """<?xml version="1.0"?>
<blade-manifest name="x">
  <blade kind="a" count="2">
    <cpu cores="4" clock="2 GHz"/>
    <dram size="8 GiB"/>
  </blade>
</blade-manifest>
""")
    with pytest.raises(ManifestError, match="does not match the blade-manifest schema") as info:
        load_manifest(p)
    assert info.value.loc.line == 5 and "bandwidth" in info.value.message


def test_xml_that_is_not_well_formed_and_units_in_xml(tmp_path):
    with pytest.raises(ManifestError, match="not well-formed") as info:
        load_manifest(write(tmp_path, "m.xml", "<blade-manifest>\n<blade>\n"))
    assert info.value.loc.line >= 2
    text = open(os.path.join(M, "pair.xml")).read().replace('size="32 GiB"', 'size="32 GHz"')
    with pytest.raises(ManifestError, match="not a unit of size") as info:
        load_manifest(write(tmp_path, "u.xml", text))
    assert info.value.loc.line == 6


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(ManifestError, match="no such manifest file"):
        load_manifest(str(tmp_path / "none.yaml"))
    with pytest.raises(ManifestError, match="unknown manifest type"):
        load_manifest(write(tmp_path, "m.toml", "x"))


def test_calibration_fields(tmp_path):
    text = GOOD + "calibration:\n  a: {cpu_edges_per_second_per_core: 2.5e+8}\n"
    m = load_manifest(write(tmp_path, "c.yaml", text))
    assert m.kinds[0].cpu_edges_per_second == 4 * 2.5e8
    with pytest.raises(ManifestError, match="not a calibratable field"):
        load_manifest(write(tmp_path, "d.yaml", GOOD + "calibration:\n  a: {speed: 3}\n"))


# ------------------------------------------------------------------ strict keys, one schema
PAIR_YAML = open(os.path.join(M, "pair.yaml")).read()
PAIR_XML = open(os.path.join(M, "pair.xml")).read()


@pytest.mark.parametrize("ext,old,new,field,line,near", [
    ("yaml", "cost: 0.80", "cots: 0.80", "blades[0].cots", 9, "cost"),
    ("yaml", "    count: 2\n", "    count: 2\n    threads: 16\n", "blades[0].threads", 6, ""),
    ("yaml", "    count: 2\n", "    count: 2\n    gpu: {part: A100}\n", "blades[0].gpu", 6,
     "cpu"),
    ("yaml", "bandwidth: 25 GB/s", "bandwith: 25 GB/s", "blades[0].dram.bandwith", 7,
     "bandwidth"),
    ("yaml", "  link:", "  rack: {size: 2, uplnk: {bandwidth: 1 Gb/s, latency: 1 us}}\n  link:",
     "interconnect.rack.uplnk", 11, "uplink"),
    ("yaml", "priority: time", "priorty: time", "priorty", 13, "priority"),
    ("xml", "<cost per-hour", "<cots per-hour", "blades[0].cots", 8, "cost"),
    ("xml", 'cores="8"', 'cores="8" threads="16"', "blades[0].cpu.threads", 5, ""),
    ("xml", "    <dram", '    <gpu part="A100"/>\n    <dram', "blades[0].gpu", 6, "cpu"),
    ("xml", 'bandwidth="25 GB/s"', 'bandwith="25 GB/s"', "blades[0].dram.bandwith", 6,
     "bandwidth"),
    ("xml", "per-hour=", "per-huor=", "blades[0].cost.per-huor", 8, "per-hour"),
    ("xml", "<fileserver", "<fileservr", "fileservr", 13, "fileserver"),
])
def test_unknown_keys_anywhere_name_line_and_the_closest_key(tmp_path, ext, old, new, field,
                                                             line, near):
    text = PAIR_YAML if ext == "yaml" else PAIR_XML
    assert old in text
    if ext == "xml" and old == "<fileserver":
        new_text = text.replace(old, new).replace("</fileserver>", "</fileservr>")
    else:
        new_text = text.replace(old, new, 1)
    p = write(tmp_path, f"m.{ext}", new_text)
    with pytest.raises(ManifestError) as info:
        load_manifest(p)
    err = info.value
    assert err.message.startswith(f"{field}: unknown"), err.format()
    assert err.loc.file == p and err.loc.line == line, err.format()
    if near:
        assert err.message.endswith(f"did you mean '{near}'?"), err.format()
    else:
        assert "did you mean" not in err.message and err.hint, err.format()


def test_unknown_keys_in_calibration_and_workloads(tmp_path):
    text = GOOD + "calibration:\n  a: {cpu_edges_per_second_per_cor: 2.5e+8}\n"
    with pytest.raises(ManifestError, match=r"calibration\.a\.cpu_edges_per_second_per_cor: "
                                            r"not a calibratable field; did you mean "
                                            r"'cpu_edges_per_second_per_core'\?"):
        load_manifest(write(tmp_path, "c.yaml", text))
    law = "{base: model, r: 1.0, b: 0.0, ref_m: 5.0e+5}"
    text = GOOD + (f"workloads:\n  cc/par/0123456789:\n    nests:\n      19: {{runs: {law}, "
                   f"edges: {law}, nodes: {law}, cots: 1.0}}\n")
    with pytest.raises(ManifestError, match=r"workloads\.cc/par/0123456789\.nests\.19\.cots: "
                                            r"unknown field; did you mean 'cost'\?") as info:
        load_manifest(write(tmp_path, "w.yaml", text))
    assert info.value.loc.line == 13
    m = load_manifest(write(tmp_path, "ok.yaml", text.replace("cots", "cost")))
    assert m.workloads["cc/par/0123456789"]["nests"][19]["cost"] == 1.0


def test_xsd_is_generated_from_the_schema():
    from cosynth.planner.manifest_schema import xsd
    with open(os.path.join(M, "blade-manifest.xsd"), encoding="utf-8") as f:
        assert f.read() == xsd(), "regenerate manifests/blade-manifest.xsd from xsd()"


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(M)
                                        if f.endswith((".yaml", ".xml"))))
def test_every_manifest_loads_and_every_field_read_is_in_the_schema(name):
    from cosynth.planner import manifest_schema as ms
    from cosynth.planner.manifest import _read_xml, _read_yaml
    path = os.path.join(M, name)
    assert load_manifest(path).blades >= 1
    _, lines = (_read_xml if name.endswith(".xml") else _read_yaml)(path)
    for p in lines:
        assert p == "" or ms.find(p) is not None, p


def test_schema_finds_fields_at_every_depth():
    from cosynth.planner import manifest_schema as ms
    assert ms.find("blades[3].dram.size").unit == "size"
    assert ms.find("interconnect.rack.uplink.latency").kind == "quantity"
    assert ms.find("calibration.cpu.fpga_clock_hz").kind == "number"
    assert ms.find("workloads.k/v/h.nests.12.runs.ref_m").kind == "number"
    assert ms.find("blades[0].gpu") is None and ms.find("interconnect.lnk") is None


# ------------------------------------------------------------------ hostile input
def _bomb() -> str:
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        rows.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(rows) + "\nblades: *i\n"  # 9^9 strings if expanded


def test_alias_bomb_is_refused_quickly_and_small(tmp_path):
    import tracemalloc
    p = write(tmp_path, "bomb.yaml", _bomb())
    assert os.path.getsize(p) < 600
    # bounded by a count, not a clock: the reader stops at 100,000 values
    with pytest.raises(ManifestError, match="expands to more than 100,000 values"):
        load_manifest(p)
    tracemalloc.start()  # slows the load down: measured apart from its time
    try:
        with pytest.raises(ManifestError):
            load_manifest(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, peak


@pytest.mark.parametrize("text", ["manifest: &m\n  x: *m\n", "blades: &b\n  - *b\n",
                                  "blades:\n  - &k\n    kind: a\n    cpu: [*k]\n"])
def test_self_referencing_alias_is_refused(tmp_path, text):
    with pytest.raises(ManifestError, match="an alias refers to a node that contains it"):
        load_manifest(write(tmp_path, "self.yaml", text))


def test_plain_aliases_still_work(tmp_path):
    text = GOOD.replace("cpu: {cores: 4, clock: 2 GHz}", "cpu: &c {cores: 4, clock: 2 GHz}")
    text = text.replace("interconnect:", "  - kind: b\n    count: 1\n    cpu: *c\n"
                        "    dram: {size: 8 GiB, bandwidth: 10 GB/s}\ninterconnect:")
    m = load_manifest(write(tmp_path, "alias.yaml", text))
    assert m.kinds[1].cpu_cores == 4 and m.blades == 3


def test_deep_nesting_and_big_files_are_refused(tmp_path):
    with pytest.raises(ManifestError, match="nest"):
        load_manifest(write(tmp_path, "deep.yaml", "blades: " + "[" * 5000 + "]" * 5000))
    with pytest.raises(ManifestError, match="levels deep"):
        load_manifest(write(tmp_path, "deep2.yaml", "blades: " + "[" * 40 + "]" * 40))
    with pytest.raises(ManifestError, match="a manifest is at most 1 MiB"):
        load_manifest(write(tmp_path, "big.yaml", GOOD + "#" * 2**20 + "\n"))


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'])
def test_xml_entities_are_refused(tmp_path, doctype):
    text = PAIR_XML.replace("<blade-manifest name=\"pair\">",
                            f'{doctype}\n<blade-manifest name="pair">')
    with pytest.raises(ManifestError, match=r"has a DTD|external entity"):
        load_manifest(write(tmp_path, "dtd.xml", text))


@pytest.mark.parametrize("ext,old,new,msg", [
    ("yaml", "count: 2", "count: 1000000000000",
     "blades[0].count: 1,000,000,000,000 is more than the plausible maximum of 4,096"),
    ("yaml", "cores: 8", "cores: 100000", "more than the plausible maximum of 4,096"),
    ("yaml", "size: 32 GiB", "size: 1000000 TiB",
     "blades[0].dram.size: 1e+06 TiB is more than the plausible maximum of 64 TiB"),
    ("yaml", "clock: 3.0 GHz", "clock: 3.0 Hz", "less than the plausible minimum of 1 MHz"),
    ("yaml", "cost: 0.80", "cost: .nan", "expected a number"),
    ("xml", 'count="2"', 'count="1000000000000"', "greater than the maximum value allowed "
     "('4096')"),
    ("xml", 'size="32 GiB"', 'size="100 TiB"', "more than the plausible maximum of 64 TiB"),
])
def test_counts_and_sizes_are_capped(tmp_path, ext, old, new, msg):
    text = PAIR_YAML if ext == "yaml" else PAIR_XML
    assert old in text
    with pytest.raises(ManifestError) as info:
        load_manifest(write(tmp_path, f"m.{ext}", text.replace(old, new)))
    assert msg in info.value.message, info.value.format()


def test_blades_and_kinds_in_all_are_capped(tmp_path):
    kind = ("  - kind: k{i}\n    count: {n}\n    cpu: {{cores: 4, clock: 2 GHz}}\n"
            "    dram: {{size: 8 GiB, bandwidth: 10 GB/s}}\n")
    tail = GOOD[GOOD.index("interconnect:"):]
    two = "blades:\n" + kind.format(i=0, n=4096) + kind.format(i=1, n=1) + tail
    with pytest.raises(ManifestError, match="4,097 blades in all; a manifest has at most"):
        load_manifest(write(tmp_path, "two.yaml", two))
    five = "blades:\n" + "".join(kind.format(i=i, n=1) for i in range(5)) + tail
    with pytest.raises(ManifestError, match="5 blade kinds; a manifest has at most 4"):
        load_manifest(write(tmp_path, "five.yaml", five))
    ok = "blades:\n" + kind.format(i=0, n=4000) + kind.format(i=1, n=96) + tail
    assert load_manifest(write(tmp_path, "ok.yaml", ok)).blades == 4096


@pytest.mark.slow  # a wall-clock comparison: a busy machine can fail it
def test_planning_the_largest_accepted_manifest_stays_quick(tmp_path):
    import time

    from cosynth.graphio import parse_graph_spec
    from cosynth.loader import resolve_kernel
    from cosynth.planner import make_plan
    from cosynth.planner.workload import no_fpga
    text = open(os.path.join(M, "cluster64.yaml")).read().replace("count: 56", "count: 4088")
    big = load_manifest(write(tmp_path, "c4096.yaml", text))
    assert big.blades == 4096
    k = resolve_kernel(os.path.join(ROOT, "examples", "cc.py") + ":cc")
    g = parse_graph_spec("kron:10", seed=1, directed=True)
    small = load_manifest(os.path.join(M, "cluster64.yaml"))
    t0 = time.perf_counter()
    make_plan(k, small, g, {}, fpga=no_fpga)
    t1 = time.perf_counter()
    plan = make_plan(k, big, g, {}, fpga=no_fpga)
    t2 = time.perf_counter()
    assert plan.blades and t2 - t1 < 2 * (t1 - t0) + 5.0, (t1 - t0, t2 - t1)


def test_tiny_dram_reports_a_meaningful_shortfall(tmp_path):
    from cosynth.errors import CosynthError
    from cosynth.graphio import parse_graph_spec
    from cosynth.loader import resolve_kernel
    from cosynth.planner import make_plan
    from cosynth.planner.workload import no_fpga
    # the blade process's own memory calibrated away: the shortfall is the data, KiB
    text = PAIR_YAML.replace("size: 32 GiB", "size: 1 B") + \
        "calibration:\n  cpu-fpga: {blade_fixed_bytes: 0}\n"
    man = load_manifest(write(tmp_path, "d.yaml", text))
    k = resolve_kernel(os.path.join(ROOT, "examples", "cc.py") + ":cc")
    with pytest.raises(CosynthError) as info:
        make_plan(k, man, parse_graph_spec("kron:8", seed=1, directed=True), {}, fpga=no_fpga)
    msg = info.value.message
    assert "DRAM on each cpu-fpga blade: short by" in msg and "(has 1 B)" in msg, msg
    assert "0.00 GiB" not in msg and "KiB" in msg, msg


def test_blades_zero_says_a_plan_needs_a_blade():
    from tests.test_cli import EX, cosynth
    pair = os.path.join(M, "pair.yaml")
    p = cosynth("plan", EX("cc") + ":cc", "--manifest", pair, "--graph", "kron:6",
                "--blades", "0")
    assert p.returncode == 2 and "cannot use 0 blades: a plan needs at least one" in p.stderr
    assert "has 2 blades" not in p.stderr
    m = load_manifest(pair)
    with pytest.raises(ManifestError, match="needs at least one"):
        m.first(0)
    with pytest.raises(ManifestError, match="has 2 blades; cannot use 3"):
        m.first(3)
