"""Blade manifests: the machines a plan may use, in YAML or XML (Axelgraph's
``blade-manifest.xml``), one model.

A manifest lists *blade kinds* (identical blades are one kind with a count: the planner
reasons per kind, which is what keeps its ILP small), the interconnect (a link per blade,
optionally racks joined by a slower uplink), a fileserver (where streamed tables come
from), nominal costs per blade-hour, an optional budget and a priority.

YAML::

    manifest: pair
    blades:
      - kind: node
        count: 2
        cpu: {cores: 8, clock: 3.0 GHz}
        dram: {size: 32 GiB, bandwidth: 25 GB/s}
        fpga: {part: ECP5-85F, clock: 100 MHz}
        cost: 0.80            # per blade-hour
    interconnect:
      link: {bandwidth: 10 Gb/s, latency: 5 us}
      rack: {size: 16, uplink: {bandwidth: 40 Gb/s, latency: 20 us}}   # optional
    fileserver: {bandwidth: 1 GB/s}
    budget: 10                # per hour, optional
    priority: time            # time | cost
    calibration:              # measured figures replacing defaults (cosynth calibrate)
      node: {cpu_edges_per_second_per_core: 1.5e8, fpga_cycles_per_edge: 1.0}
    workloads:                # measured work laws per kernel variant (cosynth calibrate)
      bfs/par/1a2b3c4d5e: {nests: {19: {runs: {base: model, r: 1.0, b: 0.0, ref_m: 5e5},
                                        ...}}}

XML: the same fields as elements and attributes (see ``manifests/blade-manifest.xsd``,
against which every XML manifest is validated).

Every mistake is a ``ManifestError`` naming the file, the line, the field path
(``blades[0].dram.size``) and what was expected.  Every field at every depth is described
once, in ``manifest_schema.SCHEMA``: both readers refuse a key, attribute or element it
does not name (with the closest valid name: ``did you mean 'cost'?``), the XSD is
generated from it, and it caps every count and size at a plausible value (at most
``MAX_KINDS`` = 4 blade kinds and ``MAX_BLADES`` = 4096 blades, 4096 cores a blade, 64 TiB
of DRAM, ...; the table and the reasons are in ``manifest_schema``).

Hostile input is refused before it costs anything: a file larger than ``MAX_FILE_BYTES``
(1 MiB); YAML that expands to more than ``MAX_VALUES`` (100,000) values -- aliases are
followed, never copied, and counted as they are followed, so a few-hundred-byte alias
bomb is refused after 100,000 values instead of growing to gigabytes; an alias inside
the node it names (a cycle); nesting deeper than ``MAX_DEPTH`` (16); and XML with a DTD
(``<!DOCTYPE``: entities, internal or external, have no place in a manifest).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace

import yaml

from cosynth.errors import CosynthError, Loc
from cosynth.resources import schema_path

from . import manifest_schema as ms
from . import parts
from .calibration import check_workloads
from .manifest_schema import CALIBRATABLE, MAX_BLADES, MAX_KINDS
from .units import KINDS, UnitError, format_quantity, parse

__all__ = ["Manifest", "BladeKind", "Fpga", "FpgaMemory", "Interconnect", "ManifestError",
           "load_manifest",
           "CALIBRATABLE", "SCHEMA", "MAX_BLADES", "MAX_KINDS", "MAX_FILE_BYTES",
           "MAX_VALUES", "MAX_DEPTH"]

SCHEMA = schema_path()
MAX_FILE_BYTES = 2**20  # a calibrated manifest of every example kernel is under 100 KB
MAX_VALUES = 100_000  # YAML values after following aliases
MAX_DEPTH = 16  # the deepest field, a workload law, is 6 deep

class ManifestError(CosynthError):
    """A manifest that cannot be used."""


@dataclass(frozen=True)
class FpgaMemory:
    """One external-memory channel of an FPGA (``fpga.memory``): what its units' memory
    port reaches."""

    kind: str  # manifest_schema.MEMORY_KINDS
    bandwidth: float  # bytes/s
    latency: float  # s, a read command to its data
    burst_bytes: int
    ports: int = 1  # native user ports of the controller, sharing ``bandwidth``


@dataclass(frozen=True)
class Fpga:
    part: str
    family: str
    luts: int
    ffs: int
    bram_bits: int
    dsps: int
    clock_hz: float
    memory: FpgaMemory | None = None
    host_bandwidth: float = ms.HOST_BANDWIDTH  # bytes/s of the host link (``fpga.host``)
    host_latency: float = ms.HOST_LATENCY  # s to start one transfer over it


@dataclass(frozen=True)
class BladeKind:
    name: str
    count: int
    cpu_cores: int
    cpu_clock_hz: float
    dram_bytes: float
    dram_bandwidth: float
    fpga: Fpga | None
    cost_per_hour: float
    calibration: dict = field(default_factory=dict, compare=False)

    def cal(self, key: str, default: float) -> float:
        return float(self.calibration.get(key, default))

    @property
    def cpu_edges_per_second(self) -> float:
        per_core = self.cal("cpu_edges_per_second_per_core", 40e6 * self.cpu_clock_hz / 1e9)
        return per_core * self.cpu_cores

    @property
    def fpga_edges_per_second(self) -> float:
        if self.fpga is None:
            return 0.0
        clock = self.cal("fpga_clock_hz", self.fpga.clock_hz)
        return clock / self.cal("fpga_cycles_per_edge", 1.0)


@dataclass(frozen=True)
class Interconnect:
    link_bandwidth: float
    link_latency: float
    rack_size: int | None = None  # blades per rack; None: one flat switch
    uplink_bandwidth: float | None = None
    uplink_latency: float | None = None


@dataclass(frozen=True)
class Manifest:
    name: str
    kinds: tuple[BladeKind, ...]
    interconnect: Interconnect
    fileserver_bandwidth: float
    budget_per_hour: float | None
    priority: str
    path: str = field(default="", compare=False)
    workloads: dict = field(default_factory=dict, compare=False)  # calibrated laws

    @property
    def blades(self) -> int:
        return sum(k.count for k in self.kinds)

    def kind(self, name: str) -> BladeKind:
        for k in self.kinds:
            if k.name == name:
                return k
        raise KeyError(name)

    def first(self, n: int) -> Manifest:
        """The manifest restricted to its first ``n`` blades (in kind order)."""
        if n < 1:
            raise ManifestError(f"cannot use {n} blades: a plan needs at least one",
                                path=self.path)
        if n > self.blades:
            raise ManifestError(f"the manifest has {self.blades} blade{'s' * (self.blades != 1)}; "
                                f"cannot use {n}",
                                path=self.path)
        out, left = [], n
        for k in self.kinds:
            if left <= 0:
                break
            out.append(replace(k, count=min(k.count, left)))
            left -= k.count
        return replace(self, kinds=tuple(out))

    def describe(self) -> str:
        lines = [f"manifest {self.name}: {self.blades} blade{'s' * (self.blades != 1)}, "
                 f"priority {self.priority}"]
        for k in self.kinds:
            fpga = f", FPGA {k.fpga.part} @ {format_quantity(k.fpga.clock_hz, 'frequency')}" \
                if k.fpga else ""
            lines.append(f"  {k.count} x {k.name}: {k.cpu_cores} cores @ "
                         f"{format_quantity(k.cpu_clock_hz, 'frequency')}, "
                         f"{format_quantity(k.dram_bytes, 'size')} DRAM{fpga}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------ loading
def load_manifest(path: str) -> Manifest:
    """Read and check a ``.yaml``/``.yml`` or ``.xml`` manifest."""
    if not os.path.isfile(path):
        raise ManifestError("no such manifest file", path=path,
                            hint="see manifests/ for examples (single.yaml, pair.yaml, ...)")
    ext = os.path.splitext(path)[1].lower()
    if ext in (".yaml", ".yml"):
        tree, lines = _read_yaml(path)
    elif ext == ".xml":
        tree, lines = _read_xml(path)
    else:
        raise ManifestError(f"unknown manifest type '{ext or '(none)'}'", path=path,
                            hint="use .yaml, .yml or .xml")
    return _build(tree, lines, path)


def _read_text(path: str) -> bytes:
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise ManifestError(f"is {format_quantity(size, 'size')}; a manifest is at most "
                            f"{format_quantity(MAX_FILE_BYTES, 'size')}", path=path,
                            hint="is this the right file?")
    with open(path, "rb") as f:
        return f.read(MAX_FILE_BYTES + 1)


def _read_yaml(path: str):
    """(tree, lines): plain dicts, lists and scalars, and the line of every field path.
    Checks the keys against the schema; follows aliases without copying more than
    ``MAX_VALUES`` values and refuses an alias inside the node it names."""
    try:
        text = _read_text(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"is not UTF-8 text (byte {exc.start})", path=path) from None
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ManifestError(f"is not valid YAML: {getattr(exc, 'problem', exc)}", path=path,
                            line=(mark.line + 1) if mark else 0,
                            hint="check indentation and colons near this line") from None
    except RecursionError:
        raise ManifestError(f"nests too deeply (a manifest is at most {MAX_DEPTH} levels "
                            "deep)", path=path) from None
    if node is None:
        raise ManifestError("is empty", path=path)
    lines = _Lines()
    scalar = yaml.SafeLoader("")
    open_nodes: set[int] = set()  # the nodes being converted: an alias to one is a cycle
    values = 0

    def fail(n, msg: str, hint: str):
        raise ManifestError(msg, path=path, line=n.start_mark.line + 1, hint=hint)

    def conv(n, p, depth):
        nonlocal values
        values += 1
        if values > MAX_VALUES:
            fail(n, f"expands to more than {MAX_VALUES:,} values (through aliases?)",
                 "a manifest needs a few hundred; write the values out instead of aliasing "
                 "aliases")
        if depth > MAX_DEPTH:
            fail(n, f"nests more than {MAX_DEPTH} levels deep", "no field is that deep")
        if p not in lines:
            lines[p] = n.start_mark.line + 1
            lines.cols[p] = n.start_mark.column
        if isinstance(n, yaml.ScalarNode):
            return scalar.construct_object(n)
        if id(n) in open_nodes:
            fail(n, f"{p or 'the manifest'}: an alias refers to a node that contains it",
                 "a manifest is a tree: remove the alias or point it elsewhere")
        open_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            out = {}
            for k, v in n.value:
                key = str(conv(k, f"{p}.<key>", depth + 1)) if not \
                    isinstance(k, yaml.ScalarNode) else str(k.value)
                q = f"{p}.{key}" if p else key
                lines[q] = k.start_mark.line + 1  # a field's place is its key's
                lines.cols[q] = k.start_mark.column
                out[key] = conv(v, q, depth + 1)
        else:
            out = [conv(v, f"{p}[{i}]", depth + 1) for i, v in enumerate(n.value)]
        open_nodes.discard(id(n))
        return out
    tree = conv(node, "", 0)
    checker = _Checker(lines, path)
    ms.check_tree(tree, checker.fail)
    return tree, lines


def _read_xml(path: str):
    """(tree, lines) in the YAML reader's shape, read through the schema; unknown
    elements and attributes are refused first (with the closest valid name), then the
    document is validated against the XSD."""
    from lxml import etree  # lazy: only XML manifests need the schema validator
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        doc = etree.fromstring(_read_text(path), parser).getroottree()
    except etree.XMLSyntaxError as exc:
        raise ManifestError(f"is not well-formed XML: {exc.msg}", path=path,
                            line=exc.lineno or 0) from None
    if doc.docinfo.doctype or doc.docinfo.internalDTD is not None:
        raise ManifestError("has a DTD (<!DOCTYPE ...>); a blade manifest declares no "
                            "entities", path=path, line=1, hint="remove the <!DOCTYPE> line")
    root = doc.getroot()

    def fail(p: str, msg: str, line: int, hint: str | None = None):
        raise ManifestError(f"{p}: {msg}" if p else msg, hint=hint,
                            loc=Loc(path, line, _xml_column(path, line, p)))
    ms.check_xml(root, fail)
    schema = etree.XMLSchema(etree.parse(SCHEMA))
    if not schema.validate(doc):
        errors = list(schema.error_log)
        err = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ManifestError(f"does not match the blade-manifest schema: {err.message}{more}",
                            path=path, line=err.line,
                            hint=f"see {os.path.relpath(SCHEMA)} for the expected elements")
    lines: dict[str, int] = {}
    tree = ms.xml_tree(root, lines)
    return {"manifest": tree.pop("manifest", os.path.basename(path)), **tree}, lines


def _xml_column(path: str, line: int, p: str) -> int:
    """The 0-based column of the element or attribute ``p`` names (its last part) on
    ``line`` of the XML file (lxml gives lines only); 0 when it is not found there."""
    name = p.rsplit(".", 1)[-1] if p else ""
    if not name or line < 1:
        return 0
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = next((t for i, t in enumerate(f, 1) if i == line), None)
    except OSError:
        return 0
    if text is None:
        return 0
    for pattern in (rf"<{re.escape(name)}\b", rf"\s{re.escape(name)}\s*="):
        m = re.search(pattern, text)
        if m:
            return m.start() + (0 if m.group(0).startswith("<") else 1)
    return 0


class _Lines(dict):
    """Field path -> 1-based line, and ``cols``: field path -> 0-based column (YAML; an
    XML manifest's fields have lines only)."""

    def __init__(self):
        super().__init__()
        self.cols: dict[str, int] = {}


class _Checker:
    def __init__(self, lines: dict, path: str):
        self.lines = lines
        self.cols = getattr(lines, "cols", {})
        self.path = path

    def _known(self, p: str) -> str:
        """``p``, or the nearest enclosing field path with a known place."""
        while p and p not in self.lines:
            p = p.rsplit(".", 1)[0] if "." in p else p.split("[")[0]
            if p in self.lines:
                break
            if "." not in p and "[" not in p:
                break
        return p

    def line(self, p: str) -> int:
        return self.lines.get(self._known(p), 0)

    def fail(self, p: str, msg: str, hint: str | None = None):
        q = self._known(p)
        raise ManifestError(f"{p}: {msg}", loc=Loc(self.path, self.lines.get(q, 0),
                                                   self.cols.get(q, 0)), hint=hint)

    def need(self, d, key: str, p: str, what: str):
        if not isinstance(d, dict) or key not in d or d[key] is None:
            self.fail(f"{p}.{key}" if p else key, f"missing; expected {what}",
                      hint=f"add '{key}:' here")
        return d[key]

    def quantity(self, d, key: str, p: str, kind: str, default=None):
        fp = f"{p}.{key}" if p else key
        if not isinstance(d, dict) or d.get(key) is None:
            if default is not None:
                return default
            self.fail(fp, f"missing; expected {KINDS[kind]}", hint=f"add '{key}:' here")
        try:
            v = parse(d[key], kind)
        except UnitError as exc:
            self.fail(fp, str(exc))
        return self.within(v, fp)

    def within(self, v, p: str):
        """``v`` inside the schema's plausible range for the field at ``p``."""
        f = ms.find(p)
        if f is None:
            return v
        show = (lambda x: format_quantity(x, f.unit)) if f.kind == "quantity" else \
            (lambda x: f"{x:,.0f}" if f.kind == "count" else f"{x:g}")
        if f.hi is not None and v > f.hi:
            self.fail(p, f"{show(v)} is more than the plausible maximum of {show(f.hi)}",
                      hint="the caps and their reasons are in cosynth.planner."
                           "manifest_schema; a larger value is almost surely a typo")
        if f.lo is not None and 0 < v < f.lo:
            self.fail(p, f"{show(v)} is less than the plausible minimum of {show(f.lo)}",
                      hint="check the unit")
        return v

    def positive(self, v, p: str):
        if v <= 0:
            self.fail(p, f"must be positive, found {v:g}")
        return v


def _memory(c: _Checker, fd: dict, p: str) -> FpgaMemory | None:
    """The ``memory`` section of an FPGA, or None; figures no such memory could have are
    refused at their line."""
    md = fd.get("memory")
    if md is None:
        return None
    p = f"{p}.memory"
    if not isinstance(md, dict):
        c.fail(p, "must be a mapping {kind, bandwidth, latency[, burst][, ports]}")
    kind = str(c.need(md, "kind", p, f"one of {', '.join(ms.MEMORY_KINDS)}")).lower()
    if kind not in ms.MEMORY_KINDS:
        c.fail(f"{p}.kind", f"unknown memory kind '{kind}'",
               hint=f"one of {', '.join(ms.MEMORY_KINDS)}")
    bw = c.positive(c.quantity(md, "bandwidth", p, "bandwidth"), f"{p}.bandwidth")
    peak = ms.MEMORY_PEAK[kind]
    if bw > peak:
        c.fail(f"{p}.bandwidth", f"{format_quantity(bw, 'bandwidth')} is more than one "
               f"{kind} channel can move ({format_quantity(peak, 'bandwidth')} at its "
               "fastest speed grade)", hint="give one channel's bandwidth; several "
                                            "channels are several FPGAs' worth of ports")
    lat = c.quantity(md, "latency", p, "time")
    if lat < 20e-9:
        c.fail(f"{p}.latency", f"{format_quantity(lat, 'time')} is less than a DRAM row "
               "access takes (at least 20 ns)", hint="check the unit (ns, not us)")
    burst = c.quantity(md, "burst", p, "size", default=64)
    if burst < 8 or int(burst) != burst or int(burst) % 8:
        c.fail(f"{p}.burst", f"a burst of {burst:g} bytes is not a whole number of 64-bit "
               "words", hint="a burst is 8 x the channel width in bytes: 64 B for BL8 x64")
    ports = md.get("ports", 1)
    if isinstance(ports, bool) or not isinstance(ports, int) or \
            not 1 <= ports <= ms.MAX_MEMORY_PORTS:
        c.fail(f"{p}.ports", f"{ports!r} is not a number of memory ports from 1 to "
               f"{ms.MAX_MEMORY_PORTS}", hint="the controller's native user ports (LiteDRAM "
               "crossbar), each a PE's own; 1 when the PEs share one")
    return FpgaMemory(kind, bw, lat, int(burst), ports)


def _host(c: _Checker, fd: dict, p: str) -> tuple[float, float]:
    """(bandwidth, latency) of the FPGA's host link (``host``), or the documented
    defaults (``manifest_schema.HOST_BANDWIDTH``, ``HOST_LATENCY``)."""
    hd = fd.get("host")
    if hd is None:
        return ms.HOST_BANDWIDTH, ms.HOST_LATENCY
    p = f"{p}.host"
    if not isinstance(hd, dict):
        c.fail(p, "must be a mapping {bandwidth, latency}")
    bw = c.positive(c.quantity(hd, "bandwidth", p, "bandwidth"), f"{p}.bandwidth")
    return bw, c.quantity(hd, "latency", p, "time")


def _build(tree, lines: dict, path: str) -> Manifest:
    c = _Checker(lines, path)
    if not isinstance(tree, dict):
        c.fail("", "the manifest must be a mapping with 'blades:', 'interconnect:', ...")
    blades = c.need(tree, "blades", "", "a list of blade kinds")
    if not isinstance(blades, list) or not blades:
        c.fail("blades", "must be a non-empty list of blade kinds")
    if len(blades) > MAX_KINDS:
        c.fail("blades", f"{len(blades)} blade kinds; a manifest has at most {MAX_KINDS}",
               hint="the planner picks a count per kind, and its problem grows with the "
                    "product of their choices: merge kinds that differ little")
    cal_all = tree.get("calibration") or {}
    if not isinstance(cal_all, dict):
        c.fail("calibration", "must map blade kinds to measured fields")
    kinds, names = [], set()
    for i, b in enumerate(blades):
        p = f"blades[{i}]"
        if not isinstance(b, dict):
            c.fail(p, "must be a mapping (kind, count, cpu, dram, ...)")
        name = str(c.need(b, "kind", p, "a name for this kind of blade"))
        if name in names:
            c.fail(f"{p}.kind", f"kind '{name}' appears twice", hint="merge them into one count")
        names.add(name)
        count = int(c.quantity(b, "count", p, "count"))
        c.positive(count, f"{p}.count")
        cpu = c.need(b, "cpu", p, "cpu: {cores: N, clock: '3 GHz'}")
        cores = int(c.quantity(cpu, "cores", f"{p}.cpu", "count"))
        c.positive(cores, f"{p}.cpu.cores")
        clock = c.positive(c.quantity(cpu, "clock", f"{p}.cpu", "frequency"), f"{p}.cpu.clock")
        dram = c.need(b, "dram", p, "dram: {size: '32 GiB', bandwidth: '25 GB/s'}")
        size = c.positive(c.quantity(dram, "size", f"{p}.dram", "size"), f"{p}.dram.size")
        bw = c.positive(c.quantity(dram, "bandwidth", f"{p}.dram", "bandwidth"),
                        f"{p}.dram.bandwidth")
        fpga = None
        if b.get("fpga") is not None:
            fd = b["fpga"]
            part_name = str(c.need(fd, "part", f"{p}.fpga", "an FPGA part name"))
            try:
                part = parts.lookup(part_name)
            except KeyError:
                c.fail(f"{p}.fpga.part", f"unknown FPGA part '{part_name}'",
                       hint=f"known parts: {', '.join(x.name for x in parts.PARTS.values())}")
            fclock = c.positive(c.quantity(fd, "clock", f"{p}.fpga", "frequency",
                                           default=100e6), f"{p}.fpga.clock")
            res = {}
            for key, attr in (("luts", "luts"), ("ffs", "ffs"), ("bram_bits", "bram_bits"),
                              ("dsps", "dsps")):
                res[attr] = int(c.quantity(fd, key, f"{p}.fpga", "count",
                                           default=getattr(part, attr) or -1))
                if res[attr] == -1:
                    res[attr] = 0
            fpga = Fpga(part.name, part.family, res["luts"], res["ffs"], res["bram_bits"],
                        res["dsps"], fclock, _memory(c, fd, f"{p}.fpga"),
                        *_host(c, fd, f"{p}.fpga"))
        cost = float(c.quantity(b, "cost", p, "number", default=0.0)) if b.get("cost") \
            is not None else 0.0
        cal = cal_all.get(name) or {}
        for key in cal:
            if key not in CALIBRATABLE:
                c.fail(f"calibration.{name}.{key}", "not a calibratable field",
                       hint=f"calibratable: {', '.join(CALIBRATABLE)}")
        try:
            cal = {k: float(v) for k, v in cal.items()}
        except (TypeError, ValueError):
            c.fail(f"calibration.{name}", "calibrated values are numbers")
        for key, v in cal.items():
            if not math.isfinite(v) or v < 0:
                c.fail(f"calibration.{name}.{key}", f"must be a finite number, zero or more; "
                       f"found {v}")
        kinds.append(BladeKind(name, count, cores, clock, size, bw, fpga, cost, cal))
    total = sum(k.count for k in kinds)
    if total > MAX_BLADES:
        c.fail("blades", f"{total:,} blades in all; a manifest has at most {MAX_BLADES:,}",
               hint="a plan lists every blade, and the planner's work grows with them")
    for name in cal_all:
        if name not in names:
            c.fail(f"calibration.{name}", f"no blade kind '{name}'")
    ic = c.need(tree, "interconnect", "", "interconnect: {link: {bandwidth, latency}}")
    link = c.need(ic, "link", "interconnect", "link: {bandwidth: '10 Gb/s', latency: '5 us'}")
    lbw = c.positive(c.quantity(link, "bandwidth", "interconnect.link", "bandwidth"),
                     "interconnect.link.bandwidth")
    llat = c.quantity(link, "latency", "interconnect.link", "time")
    rack_size = ubw = ulat = None
    if isinstance(ic, dict) and ic.get("rack") is not None:
        rack = ic["rack"]
        rack_size = int(c.quantity(rack, "size", "interconnect.rack", "count"))
        c.positive(rack_size, "interconnect.rack.size")
        up = c.need(rack, "uplink", "interconnect.rack", "uplink: {bandwidth, latency}")
        ubw = c.positive(c.quantity(up, "bandwidth", "interconnect.rack.uplink", "bandwidth"),
                         "interconnect.rack.uplink.bandwidth")
        ulat = c.quantity(up, "latency", "interconnect.rack.uplink", "time")
    fs = c.need(tree, "fileserver", "", "fileserver: {bandwidth: '1 GB/s'}")
    fbw = c.positive(c.quantity(fs, "bandwidth", "fileserver", "bandwidth"),
                     "fileserver.bandwidth")
    budget = None
    if tree.get("budget") is not None:
        budget = c.quantity(tree, "budget", "", "number")
    priority = str(tree.get("priority") or "time")
    if priority not in ("time", "cost"):
        c.fail("priority", f"'{priority}' is not a priority", hint="use 'time' or 'cost'")
    workloads = check_workloads(tree.get("workloads"), c.fail)
    return Manifest(str(tree.get("manifest") or os.path.basename(path)), tuple(kinds),
                    Interconnect(lbw, llat, rack_size, ubw, ulat), fbw, budget, priority,
                    path, workloads)
