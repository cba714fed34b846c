"""The blade manifest's schema, described once: every field at every depth, its kind, its
plausible range and how it is spelt in YAML and in XML.

Both readers check a manifest against ``SCHEMA`` before anything else reads it: a key,
attribute or element the schema does not name is a ``ManifestError`` with the file, the
line and the closest valid name (``did you mean 'cost'?``), at any depth, in YAML and XML
alike.  ``manifests/blade-manifest.xsd`` is generated from ``SCHEMA`` (``python -c "from
cosynth.planner.manifest_schema import xsd; print(xsd(), end='')" >
manifests/blade-manifest.xsd``); a test checks that the
committed file is exactly what ``xsd()`` prints, so the two cannot drift apart.

A ``Field`` is one of these kinds:

* ``quantity``: a number with a unit of ``unit`` (``units.KINDS``), e.g. ``64 GiB``;
* ``count``: a whole number; ``number``: a number; ``text``: a string;
* ``enum``: one of ``choices``;
* ``section``: a mapping with the named ``fields``;
* ``list``: a list of sections with the named ``fields`` (the blade kinds);
* ``map``: free keys (blade kind names, kernel variants, source lines), each value a
  section with ``fields`` (``of`` set) or a plain value of kind ``of``.

``lo``/``hi`` bound a value in base units (bytes, bytes/s, Hz, s), both inclusive;
``items`` bounds a list's length.  The bounds are plausibility caps: they keep a
manifest's mistakes (``count: 1000000000000``, ``size: 8 EiB``) from reaching the planner,
whose work grows with the number of blades (a plan lists every blade; ranges, costs and
cuts are computed per blade) and with the number of blade kinds (the ILP picks a count
per kind, and the totals it may reach multiply).  The caps and why:

============================  ================  =============================================
field                         cap               why
============================  ================  =============================================
blades (kinds)                1 .. 4            the ILP's size grows with the product of
                                                the kinds' count choices: 4 kinds of 1024
                                                blades plan in under a minute on 2 cores,
                                                mostly solver time (``--time-limit`` bounds
                                                each solve); 8 kinds of 512 took 2.5 min
blades[].count, all blades    1 .. 4096         ``cosynth plan`` on cluster64 scaled to
                                                4096 blades takes about a second more than
                                                on 64 (a plan lists every blade)
cpu.cores                     1 .. 4096         the largest servers have under 1000
cpu.clock, fpga.clock         1 MHz .. 10 GHz
dram.size                     > 0 .. 64 TiB     the largest single machines hold 32 TB
bandwidths                    1 KB/s .. 100 TB/s
latencies                     0 .. 1 s
fpga luts, ffs                .. 100 million    the largest parts have under 20 million
fpga bram_bits                .. 10^11          (about 12 GB of on-chip memory)
fpga dsps                     .. 1 million
cost, budget (per hour)       .. 10^6, 10^9
interconnect.rack.size        1 .. 4096
============================  ================  =============================================

The reader's own caps (``manifest.py``): a manifest file is at most ``MAX_FILE_BYTES``
(1 MiB); a YAML document expands to at most ``MAX_VALUES`` values (100,000, aliases
included, so an alias bomb is refused after that many, never expanded), nests at most
``MAX_DEPTH`` (16) deep, and no alias may refer to a node that contains it; an XML
manifest may not have a DTD (so no entities, internal or external).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = ["Field", "SCHEMA", "MAX_KINDS", "MAX_BLADES", "CALIBRATABLE", "find", "suggest",
           "xsd", "xml_fields", "MEMORY_KINDS", "MEMORY_PEAK", "HOST_BANDWIDTH",
           "HOST_LATENCY", "MAX_MEMORY_PORTS"]

MAX_KINDS = 4
MAX_BLADES = 4096

#: fields a measurement may replace (cosynth calibrate), with their defaults' meaning
CALIBRATABLE = {
    "cpu_edges_per_second_per_core": "edges one core relaxes per second (default: 40M "
                                     "per GHz of clock)",
    "cpu_vertices_per_second_per_core": "vertices one core visits per second (default: "
                                        "four times its edge rate)",
    "cpu_seconds_per_run": "seconds a parallel nest's execution costs beyond its work: "
                           "fork, join, bookkeeping (default 5 us)",
    "cpu_bytes_per_edge": "DRAM bytes a CPU moves per edge (default 16)",
    "fpga_cycles_per_edge": "FPGA clock cycles per edge (default 1: one edge per clock)",
    "fpga_luts_per_kernel": "LUTs of one edge kernel (default 1500)",
    "fpga_clock_hz": "achieved FPGA clock (default: the manifest's target clock)",
    "blade_fixed_bytes": "bytes a blade process holds whatever its data: MPI, OpenMP, "
                         "libc, code (default 16 MiB)",
    "cache_bytes": "the last-level cache the blade's cores share (default 32 MiB)",
    "cpu_seconds_per_miss": "seconds one core loses to a random vertex reference that "
                            "misses the cache (default: one edge's time)",
    "l2_bytes": "one core's second-level cache (default 1 MiB)",
    "cpu_seconds_per_l2_miss": "seconds one core loses to a random vertex reference that "
                               "misses its second-level cache and hits the last level "
                               "(default 0: no L2 term)",
    "cpu_seconds_per_flip": "seconds one core loses to a branch on a vertex flag whose "
                            "value changed along the scan: a misprediction (default 0: "
                            "no term)",
    "cpu_seconds_per_row_line": "seconds one core loses to a 64-byte line of a CSR row "
                                "visited out of vertex order that misses the last-level "
                                "cache (default 0: no row term)",
    "cpu_seconds_per_stream_line": "seconds one core loses to a 64-byte line of CSR rows "
                                   "read in vertex order beyond the last-level cache (the "
                                   "stream probe; default 0: no stream term)",
    "cpu_seconds_per_row_l2_line": "seconds one core loses to a 64-byte line of a CSR "
                                   "row visited out of vertex order that misses its "
                                   "second-level cache and hits the last level (default "
                                   "0: no such term)",
}

# how a field is spelt in XML
ATTR = "attr"        # an attribute of the parent's element
ELEMENT = "element"  # a child element (a section: its scalars are attributes)
VALUE = "value"      # a child element whose one attribute (xml_value) is the value
TEXT = "text"        # a child element whose text is the value
REPEATED = "repeated"  # a list: the child element repeated, once per item
NONE = "none"        # YAML only


@dataclass(frozen=True)
class Field:
    """One field of the manifest.  Invariant: ``fields`` is non-empty exactly for
    sections, lists and maps of sections; a field with ``yaml=False`` exists in XML
    only (and one with ``xml=NONE`` in YAML only)."""

    name: str
    kind: str
    unit: str = ""
    required: bool = False
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    of: str = ""  # a map's values: "section" or a scalar kind
    items: tuple[int, int] | None = None
    xml: str = ATTR
    xml_name: str = ""
    xml_value: str = ""
    yaml: bool = True
    doc: str = ""
    unknown: str = "unknown field"  # what a section calls a key it does not have

    @property
    def xname(self) -> str:
        """The field's XML spelling: the YAML name with '-' for '_' unless given."""
        return self.xml_name or self.name.replace("_", "-")

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


GHZ, MHZ, TB, KB = 1e9, 1e6, 1e12, 1e3

#: external-memory kinds of an FPGA and the highest bandwidth one channel of each reaches
#: (JEDEC top speed grade x 64-bit channel; HBM2: one 1024-bit stack at 3.6 Gb/s per pin)
#: user ports of one memory channel a manifest may give (``fpga.memory.ports``)
MAX_MEMORY_PORTS = 8
MEMORY_KINDS = ("sdram", "ddr3", "ddr4", "lpddr4", "hbm2")
MEMORY_PEAK = {"sdram": 1.6e9, "ddr3": 17.1e9, "ddr4": 25.6e9, "lpddr4": 34.2e9,
               "hbm2": 460e9}


#: the host link of an FPGA card when the manifest gives none (``fpga.host``): PCIe 3.0 x8
#: DMA, about 6 GB/s of its 7.9 GB/s after packet overheads, 2 us to start a transfer
HOST_BANDWIDTH = 6e9
HOST_LATENCY = 2e-6


def _bw(name: str, doc: str) -> Field:
    return Field(name, "quantity", "bandwidth", True, KB, 100 * TB, doc=doc)


def _lat(name: str, doc: str) -> Field:
    return Field(name, "quantity", "time", True, 0.0, 1.0, doc=doc)


_CAL = tuple(Field(k, "number", xml_name=k, doc=v) for k, v in CALIBRATABLE.items())
_LAW = tuple([Field("base", "enum", choices=("model", "m", "log"), required=True),
              Field("r", "number", required=True), Field("b", "number", required=True),
              Field("ref_m", "number", required=True)])
_NEST = (Field("runs", "section", fields=_LAW, required=True),
         Field("edges", "section", fields=_LAW, required=True),
         Field("nodes", "section", fields=_LAW, required=True),
         Field("cost", "number", doc="how much dearer than the machine's average an edge "
                                     "of this nest is"),
         Field("overhead", "number", doc="seconds a run costs whatever its work"),
         Field("label", "text", doc="the nest as the source spells it"),
         Field("ws", "section", doc="the working-set law measured beyond the caches "
                                    "(``cosynth calibrate --ws-graph``)", fields=(
             Field("slope", "number", required=True,
                   doc="growth of the time per unit of work per doubling of the vertices"),
             Field("ref_n", "number", required=True,
                   doc="vertices of the largest calibration graph (no growth below)"),
             Field("graph", "text", doc="the graph it was measured on"),
             Field("n", "number", doc="that graph's vertices"))))
_WORKLOAD = (Field("nests", "map", of="section", fields=_NEST,
                   doc="laws per loop nest, by source line"),
             Field("graphs", "list", of="text", doc="the graphs the laws were fitted on"),
             Field("fpga_cycles_per_edge", "number", doc="measured on the Verilator model"))

BLADE = Field("blades", "list", required=True, items=(1, MAX_KINDS), xml=REPEATED,
              xml_name="blade", doc="the blade kinds: identical blades are one kind", fields=(
    Field("kind", "text", required=True, doc="the kind's name"),
    Field("count", "count", required=True, lo=1, hi=MAX_BLADES, doc="blades of this kind"),
    Field("cpu", "section", required=True, xml=ELEMENT, fields=(
        Field("cores", "count", required=True, lo=1, hi=4096),
        Field("clock", "quantity", "frequency", True, MHZ, 10 * GHZ))),
    Field("dram", "section", required=True, xml=ELEMENT, fields=(
        Field("size", "quantity", "size", True, 0.0, 64 * 2.0**40),
        _bw("bandwidth", "DRAM bandwidth of one blade"))),
    Field("fpga", "section", xml=ELEMENT, fields=(
        Field("part", "text", required=True, doc="an FPGA part (planner/parts.py)"),
        Field("clock", "quantity", "frequency", lo=MHZ, hi=10 * GHZ,
              doc="target clock (default 100 MHz)"),
        Field("luts", "count", lo=1, hi=1e8, doc="default: the part's"),
        Field("ffs", "count", lo=1, hi=1e8, doc="default: the part's"),
        Field("bram_bits", "count", lo=1, hi=1e11, doc="default: the part's"),
        Field("dsps", "count", lo=0, hi=1e6, doc="default: the part's"),
        Field("memory", "section", xml=ELEMENT, doc="the external memory the FPGA's units "
              "reach through their memory port (one channel)", fields=(
            Field("kind", "enum", choices=MEMORY_KINDS, required=True, xml=ATTR,
                  doc="the memory technology (caps the bandwidth of a channel)"),
            _bw("bandwidth", "peak bandwidth of the channel"),
            Field("latency", "quantity", "time", True, 20e-9, 10e-6,
                  doc="from a read command to its data (at least 20 ns: a DRAM row access)"),
            Field("burst", "quantity", "size", False, 8, 4096,
                  doc="bytes one DRAM burst moves (default 64: BL8 on a 64-bit channel)"),
            Field("ports", "count", lo=1, hi=MAX_MEMORY_PORTS,
                  doc="native user ports of the channel's controller (a LiteDRAM "
                      "crossbar's get_port()), sharing its bandwidth; the planner gives "
                      "each a PE of its own (default 1)"))),
        Field("host", "section", xml=ELEMENT, doc="the link between the blade's CPU and the "
              "card (PCIe DMA): what a unit call's table sync, edges and read-back cross "
              f"(default {HOST_BANDWIDTH / 1e9:g} GB/s, {HOST_LATENCY * 1e6:g} us: PCIe 3.0 "
              "x8)", fields=(
            _bw("bandwidth", "bytes per second one DMA transfer reaches"),
            Field("latency", "quantity", "time", True, 0.0, 1e-3,
                  doc="one DMA transfer's start-up (a call has two: to the card and back)"))))),
    Field("cost", "number", lo=0, hi=1e6, xml=VALUE, xml_value="per-hour",
          doc="nominal cost per blade-hour"),
    Field("calibration", "section", xml=ELEMENT, yaml=False, fields=_CAL,
          unknown="not a calibratable field",
          doc="XML: this kind's measured figures (YAML: the top-level calibration map)"),
))

SCHEMA = Field("blade-manifest", "section", xml=ELEMENT, fields=(
    Field("manifest", "text", xml_name="name", doc="the manifest's name"),
    BLADE,
    Field("interconnect", "section", required=True, xml=ELEMENT, fields=(
        Field("link", "section", required=True, xml=ELEMENT, fields=(
            _bw("bandwidth", "each blade's link"), _lat("latency", "one hop"))),
        Field("rack", "section", xml=ELEMENT, doc="racks joined by a slower uplink",
              fields=(
                  Field("size", "count", required=True, lo=1, hi=MAX_BLADES,
                        doc="blades per rack"),
                  Field("uplink", "section", required=True, xml=ELEMENT, fields=(
                      _bw("bandwidth", "a rack's uplink"), _lat("latency", "one hop"))))))),
    Field("fileserver", "section", required=True, xml=ELEMENT, fields=(
        _bw("bandwidth", "where streamed tables come from"),)),
    Field("budget", "number", lo=0, hi=1e9, xml=VALUE, xml_value="per-hour",
          doc="the most the blades may cost per hour"),
    Field("priority", "enum", choices=("time", "cost"), xml=TEXT,
          doc="what the planner minimises first"),
    Field("calibration", "map", of="section", fields=_CAL, xml=NONE,
          unknown="not a calibratable field",
          doc="per blade kind: measured figures replacing defaults (cosynth calibrate)"),
    Field("workloads", "map", of="section", fields=_WORKLOAD, xml=NONE,
          doc="per kernel variant: measured work laws (cosynth calibrate)"),
))


def find(path: str) -> Field | None:
    """The field at a manifest path such as ``blades[2].dram.size`` (list indices and a
    map's free keys are skipped), or None."""
    f = SCHEMA
    for part in path.replace("]", "").replace("[", ".").split("."):
        if not part or part.isdigit() and f.kind == "list":
            continue
        if f.kind == "map":
            if f.of != "section":
                return None
            f = Field(part, "section", fields=f.fields)
            continue
        f = f.field(part)
        if f is None:
            return None
    return f


def suggest(name: str, valid) -> str:
    """The closest valid name (difflib), or '' when none is close."""
    hits = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return hits[0] if hits else ""


def xml_fields(f: Field) -> tuple[dict[str, Field], dict[str, Field]]:
    """(attributes, child elements) of a section's XML element, by XML name."""
    attrs = {x.xname: x for x in f.fields if x.xml == ATTR}
    elems = {x.xname: x for x in f.fields if x.xml in (ELEMENT, VALUE, TEXT, REPEATED)}
    return attrs, elems


# ------------------------------------------------------------------------------ checking
def check_tree(tree, fail) -> None:
    """Refuse every key of a YAML manifest's ``tree`` that ``SCHEMA`` does not name:
    ``fail(path, message, hint)`` raises.  Only names are checked here; values, and
    whether a section is a mapping at all, are the builder's to check."""
    _walk(SCHEMA, tree, "", fail)


def _walk(f: Field, value, path: str, fail) -> None:
    if f.kind == "section" and isinstance(value, dict):
        names = {x.name: x for x in f.fields if x.yaml}
        for key, v in value.items():
            p = f"{path}.{key}" if path else str(key)
            sub = names.get(key)
            if sub is None:
                near = suggest(str(key), names)
                fail(p, f.unknown + (f"; did you mean '{near}'?" if near else ""),
                     hint=f"the fields {_where(path)} are {', '.join(names)}")
            _walk(sub, v, p, fail)
    elif f.kind == "list" and f.fields and isinstance(value, list):
        for i, item in enumerate(value):
            _walk(_item(f), item, f"{path}[{i}]", fail)
    elif f.kind == "map" and f.of == "section" and isinstance(value, dict):
        for key, v in value.items():
            _walk(_item(f), v, f"{path}.{key}", fail)


def check_xml(root, fail) -> None:
    """Refuse every element and attribute of an XML manifest that ``SCHEMA`` does not
    name: ``fail(path, message, line, hint)`` raises."""
    if root.tag != SCHEMA.xname:
        fail("", f"the root element is <{root.tag}>, not <{SCHEMA.xname}>", root.sourceline,
             f"a blade manifest is <{SCHEMA.xname} name=...> ... </{SCHEMA.xname}>")
    _xwalk(SCHEMA, root, "", fail)


def _xwalk(f: Field, el, path: str, fail) -> None:
    if f.xml == VALUE:
        attrs, elems = {f.xml_value: f}, {}
    elif f.xml == TEXT:
        attrs, elems = {}, {}
    else:
        attrs, elems = xml_fields(f)
    for name in el.attrib:
        if name not in attrs:
            near = suggest(name, attrs)
            fail(f"{path}.{name}" if path else name, f"unknown attribute '{name}' of "
                 f"<{el.tag}>" + (f"; did you mean '{near}'?" if near else ""), el.sourceline,
                 f"the attributes of <{el.tag}> are {', '.join(attrs) or '(none)'}")
    seen: dict[str, int] = {}
    for child in el:
        if not isinstance(child.tag, str):  # comments, processing instructions
            continue
        sub = elems.get(child.tag)
        p = f"{path}.{child.tag}" if path else child.tag
        if sub is None:
            near = suggest(child.tag, elems)
            fail(p, f"unknown element <{child.tag}> in <{el.tag}>"
                 + (f"; did you mean '{near}'?" if near else ""), child.sourceline,
                 f"the elements of <{el.tag}> are {', '.join(elems) or '(none)'}")
        if sub.xml == REPEATED:
            i = seen[sub.name] = seen.get(sub.name, -1) + 1
            _xwalk(_item(sub, ELEMENT), child, f"{_join(path, sub.name)}[{i}]", fail)
        else:
            _xwalk(sub, child, _join(path, sub.name), fail)


def xml_tree(root, lines: dict) -> dict:
    """A checked XML manifest as the YAML reader's tree (YAML names), recording each
    field's line in ``lines``.  A blade's ``<calibration>`` moves to the top-level
    ``calibration`` map under the blade's kind, where YAML keeps it."""
    tree = _xread(SCHEMA, root, "", lines)
    for blade in tree.get("blades", []):
        cal = blade.pop("calibration", None)
        if cal is not None:
            tree.setdefault("calibration", {})[blade.get("kind")] = cal
    return tree


def _xread(f: Field, el, path: str, lines: dict) -> dict:
    lines[path] = el.sourceline
    out: dict = {}
    attrs, elems = xml_fields(f)
    for xname, sub in attrs.items():
        if xname in el.attrib:
            out[sub.name] = el.attrib[xname]
            lines[_join(path, sub.name)] = el.sourceline
    for child in el:
        sub = elems.get(child.tag) if isinstance(child.tag, str) else None
        if sub is None:
            continue
        p = _join(path, sub.name)
        if sub.xml == REPEATED:
            items = out.setdefault(sub.name, [])
            items.append(_xread(_item(sub, ELEMENT), child, f"{p}[{len(items)}]", lines))
            continue
        lines[p] = child.sourceline
        if sub.xml == VALUE:
            out[sub.name] = child.get(sub.xml_value)
        elif sub.xml == TEXT:
            out[sub.name] = (child.text or "").strip()
        else:
            out[sub.name] = _xread(sub, child, p, lines)
    return out


def _item(f: Field, xml: str = ATTR) -> Field:
    """The section each item of a list (or value of a map) is."""
    return Field(f.name, "section", fields=f.fields, xml=xml, unknown=f.unknown)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _where(path: str) -> str:
    if not path:
        return "of a manifest"
    return "of a blade" if path.startswith("blades[") and "." not in path else f"of {path}"


# ------------------------------------------------------------------------------ XSD
_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Schema of cosynth blade manifests (XML form, after Axelgraph's blade-manifest.xml).
     Generated by xsd() in cosynth/planner/manifest_schema.py (do not edit: edit the
     description there, then write this file again with its output).
     Quantities carry units ("64 GiB", "10 Gb/s", "2.4 GHz", "5 us"); cosynth checks the
     units and ranges after the schema has checked the structure. -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:simpleType name="quantity">
    <xs:restriction base="xs:string">
      <xs:pattern value="\\s*[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?\\s*[A-Za-zµ/]+\\s*"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="number">
    <xs:restriction base="xs:decimal"><xs:minInclusive value="0"/></xs:restriction>
  </xs:simpleType>
"""


def xsd() -> str:
    """The XML schema of ``SCHEMA``: every XML field as an element or attribute, the
    counts' ranges as facets."""
    out = [_HEAD]
    _element(SCHEMA, out, 1, SCHEMA.name, "")
    out.append("</xs:schema>\n")
    return "".join(out)


def _element(f: Field, out: list, depth: int, name: str, occurs: str) -> None:
    pad = "  " * depth
    if f.xml == VALUE:
        out.append(f'{pad}<xs:element name="{name}"{occurs}>\n{pad}  <xs:complexType>\n')
        out.append(f'{pad}    <xs:attribute name="{f.xml_value}"{_type(f)} use="required"/>\n')
        out.append(f"{pad}  </xs:complexType>\n{pad}</xs:element>\n")
        return
    if f.xml == TEXT:
        out.append(f'{pad}<xs:element name="{name}"{occurs}>\n')
        _simple(f, out, depth + 1)
        out.append(f"{pad}</xs:element>\n")
        return
    attrs, elems = xml_fields(f)
    out.append(f'{pad}<xs:element name="{name}"{occurs}>\n{pad}  <xs:complexType>\n')
    if elems:
        out.append(f"{pad}    <xs:sequence>\n")
        for xname, sub in elems.items():
            if sub.xml == REPEATED:
                hi = sub.items[1] if sub.items else "unbounded"
                occ = f' maxOccurs="{hi}"'
            else:
                occ = "" if sub.required else ' minOccurs="0"'
            _element(sub, out, depth + 3, xname, occ)
        out.append(f"{pad}    </xs:sequence>\n")
    for xname, sub in attrs.items():
        use = ' use="required"' if sub.required else ""
        if sub.kind in ("count", "enum") and (sub.hi is not None or sub.choices):
            out.append(f'{pad}    <xs:attribute name="{xname}"{use}>\n')
            _simple(sub, out, depth + 3)
            out.append(f"{pad}    </xs:attribute>\n")
        else:
            out.append(f'{pad}    <xs:attribute name="{xname}"{_type(sub)}{use}/>\n')
    out.append(f"{pad}  </xs:complexType>\n{pad}</xs:element>\n")


def _type(f: Field) -> str:
    t = {"quantity": "quantity", "text": "xs:string", "count": "xs:nonNegativeInteger",
         "number": "number" if f.lo is not None else "xs:double"}[f.kind]
    return f' type="{t}"'


def _simple(f: Field, out: list, depth: int) -> None:
    """An inline simple type: an enum's choices, or a count's range."""
    pad = "  " * depth
    if f.kind == "enum":
        out.append(f'{pad}<xs:simpleType>\n{pad}  <xs:restriction base="xs:string">\n')
        for c in f.choices:
            out.append(f'{pad}    <xs:enumeration value="{c}"/>\n')
    else:
        base = "xs:positiveInteger" if (f.lo or 0) >= 1 else "xs:nonNegativeInteger"
        out.append(f'{pad}<xs:simpleType>\n{pad}  <xs:restriction base="{base}">\n')
        out.append(f'{pad}    <xs:maxInclusive value="{f.hi:.0f}"/>\n')
    out.append(f"{pad}  </xs:restriction>\n{pad}</xs:simpleType>\n")
