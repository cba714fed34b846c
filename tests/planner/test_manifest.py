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
