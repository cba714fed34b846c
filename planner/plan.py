"""A plan is data: which blades run what, holding which data, and why.

``Plan`` serialises to YAML or JSON and reloads to an equal object; it carries the
programs it was made for (the rewritten kernel ``variant_ir`` and the ``program`` every
blade runs, in the IR's exact text form when saved) with the SHA-256 of the kernel's source
file and of its as-written IR text, so later stages read the programs from the plan and
never re-run a rewrite, and a plan whose kernel source changed is detected. ``format()`` prints
it as tables: the blades with their shards and predicted times, each table's layout (after
Axelgraph's plan types), each choice with its reason and what the best alternative would
have cost, the baselines, and the solver's status and gap.

Layouts: ``solo_home`` (one blade holds it), ``sharded`` (vertex ranges -> blades, the
owner writes) with ``mirrored`` copies refreshed after each superstep, ``mirrored``
(every blade holds and computes the same copy), ``streamed`` (edges read from the
fileserver each superstep), ``local_private`` (a loop iteration's scalar),
``assoc_reduction_tree`` (a global reduction combined across blades).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields, replace

import yaml

from cosynth.errors import ArgumentError, CosynthError
from cosynth.fixed import parse_fixed
from cosynth.ir.nodes import Kernel
from cosynth.ir.parser import IRSyntaxError, parse_kernel
from cosynth.ir.printer import print_kernel, print_kernel_exact
from cosynth.outputs import write_file
from cosynth.tables import Column, render

from .units import format_quantity

__all__ = ["Plan", "BladePlan", "Choice", "load_plan", "PlanError", "source_sha256",
           "ir_sha256"]

_PROGRAMS = ("variant_ir", "program")


class PlanError(CosynthError):
    """A plan file that cannot be read, or a plan that cannot be made."""


@dataclass
class BladePlan:
    blade: int
    kind: str
    device: str
    lo: int
    hi: int
    edges: int
    compute_s: float
    comm_s: float
    stream_s: float
    total_s: float
    dram_bytes: float
    # an FPGA blade's unit: {"luts", "bram_bits", "fpga_figures"} (the model's figures
    # against the part; "fpga_figures" says whether measured or defaults) and, when the
    # graph does not fit on chip, "unit": the interval unit the planner sized (interval,
    # pes, fifo_depth, memory in cycles, memory_source); {} on a CPU
    fpga_use: dict = field(default_factory=dict)


@dataclass
class Choice:
    what: str
    chosen: str
    reason: str
    alternative: str = ""
    alternative_makespan_s: float | None = None
    alternative_cost_per_hour: float | None = None  # what the alternative's blades cost


@dataclass
class Plan:
    kernel: str
    source: str
    variant: str
    rewrites: list[dict]
    manifest: str
    manifest_path: str
    graph: dict
    args: dict
    blades: list[BladePlan]
    layouts: dict[str, dict]
    predicted: dict
    solver: dict
    choices: list[Choice] = field(default_factory=list)
    baselines: dict = field(default_factory=dict)
    variant_ir: Kernel | None = None  # the kernel after the variant's rewrites
    program: Kernel | None = None  # the blade program (variant_ir projected onto shards)
    source_sha256: str = ""  # of the kernel's source file when planned ("" if unreadable)
    ir_sha256: str = ""  # of print_kernel(kernel as written)

    # ------------------------------------------------------------------ views
    @property
    def shards(self) -> list[tuple[int, int]]:
        return [(b.lo, b.hi) for b in self.blades]

    @property
    def makespan(self) -> float:
        return self.predicted["makespan_s"]

    @property
    def source_file(self) -> str:
        """The kernel's source file (``source`` is ``FILE:KERNEL``)."""
        return self.source.rsplit(":", 1)[0]

    def check_source(self) -> None:
        """Refuse a plan whose kernel source file exists but differs from the one planned
        (by SHA-256); an absent file is fine: the plan carries its programs."""
        path = self.source_file
        if not self.source_sha256 or not os.path.isfile(path):
            return
        if source_sha256(path) != self.source_sha256:
            raise PlanError(f"the kernel source '{path}' changed since this plan was made "
                            "(its SHA-256 differs)", path=path,
                            hint="re-plan: 'cosynth plan ... -o plan.yaml' with the current "
                                 "source")

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """Plain data; the programs as IR text (``print_kernel_exact``)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in _PROGRAMS:
                out[f.name] = None if v is None else print_kernel_exact(v)
            elif f.name in ("blades", "choices"):
                out[f.name] = [asdict(x) for x in v]
            else:
                out[f.name] = v
        # the IR text has no syntax for the kernel's fixed-point policy: it travels beside
        # the programs and is put back on both when the plan is read
        fx = next((p.fixed for p in (self.variant_ir, self.program)
                   if p is not None and p.fixed is not None), None)
        if fx is not None:
            out["fixed"] = fx.as_text()
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Plan:
        d = dict(d)
        d["blades"] = [BladePlan(**b) for b in d["blades"]]
        d["choices"] = [Choice(**c) for c in d.get("choices", [])]
        fx = parse_fixed(d.pop("fixed", None))
        for name in _PROGRAMS:
            if d.get(name) is not None:
                d[name] = parse_kernel(d[name], f"<plan {name}>")
                if fx is not None:
                    d[name] = replace(d[name], fixed=fx)
        return cls(**d)

    def save(self, path: str) -> None:
        """Write atomically (temporary file, then rename) as YAML or JSON by extension."""
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise PlanError(f"cannot write '{path}': folder '{folder}' does not exist")
        if path.endswith(".json"):
            text = json.dumps(self.to_dict(), indent=2) + "\n"
        elif path.endswith((".yaml", ".yml")):
            text = yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False)
        else:
            raise PlanError(f"'{path}': plans are saved as .yaml or .json")
        write_file(path, text, what="plan")

    # ------------------------------------------------------------------ text
    def format(self, fancy: bool | None = None) -> str:
        """The plan as text; its tables through ``cosynth.tables`` (rich on a terminal,
        or as ``fancy`` says)."""
        p = self.predicted
        out = [f"plan for {self.kernel} ({self.source}) on manifest {self.manifest}, graph "
               f"{self.graph.get('name') or ''} ({self.graph['n']} vertices, "
               f"{self.graph['m']} edges)",
               f"  variant {self.variant}: {_rules(self.rewrites)}"
               if self.rewrites else f"  variant {self.variant} (as written)",
               f"  predicted: {_s(p['makespan_s'])} over ~{p['supersteps']:.0f} "
               f"superstep{'s' * (round(p['supersteps']) != 1)} "
               f"({_s(p['per_superstep_s'])} each); {p['cost_per_hour']:.2f} per hour, "
               f"{_money(p['cost'])} for the run",
               f"  solver: {self.solver['name']} {self.solver['status']}, gap "
               f"{_pct(self.solver['gap'])}, {self.solver['seconds']:.2f} s "
               f"(limit {self.solver['time_limit']:.0f} s)", ""]
        out += render([Column("blade", True), Column("kind"), Column("device"),
                       Column("vertices"), Column("edges", True), Column("compute", True),
                       Column("comm", True), Column("stream", True), Column("total", True),
                       Column("DRAM", True)],
                      [[str(b.blade), b.kind, b.device, f"{b.lo}..{b.hi}", str(b.edges),
                        _s(b.compute_s), _s(b.comm_s), _s(b.stream_s), _s(b.total_s),
                        _bytes(b.dram_bytes)] for b in self.blades], fancy=fancy)
        out.append("")
        out += render([Column("table"), Column("layout"), Column("detail")],
                      [[name, lay["layout"], lay.get("detail", "")]
                       for name, lay in self.layouts.items()], fancy=fancy)
        out += ["", "  choices"]
        for c in self.choices:
            alt = ""
            if c.alternative:
                alt = f"; best alternative: {c.alternative}"
                if c.alternative_makespan_s is not None:
                    diff = c.alternative_makespan_s / self.makespan - 1 if self.makespan else 0
                    alt += f" at {_s(c.alternative_makespan_s)} ({diff:+.1%})"
                    why = self._rejected(c)
                    alt += f" {why}" if why else ""
            out.append(f"  - {c.what}: {c.chosen} — {c.reason}{alt}")
        if self.baselines:
            out += ["", "  baselines (same cost model)"]
            for name, t in self.baselines.items():
                ratio = t / self.makespan if self.makespan else float("nan")
                out.append(f"  - {name}: {_s(t)} ({ratio:.2f}x the plan)")
        return "\n".join(out) + "\n"


    def _rejected(self, c: Choice) -> str:
        """Why the alternative of ``c`` lost: slower, or (faster but) its cost per hour;
        the planner minimises the makespan plus a weight on the cost per hour."""
        t, alt_t = self.makespan, c.alternative_makespan_s
        mine = self.predicted.get("cost_per_hour")
        other = c.alternative_cost_per_hour
        cost = ""
        if other is not None and mine and other != mine:
            cost = f"cost {other / mine:.1f}x per hour"
        elif other is not None and not mine and other > 0:
            cost = f"cost {other:.2f} per hour against 0"
        if alt_t > t:
            return "rejected: slower" + (f", and {cost}" if cost and other > (mine or 0)
                                         else "")
        if other is None:
            return ""  # a plan saved before the alternatives' costs were recorded
        if cost and other > (mine or 0):
            return f"rejected: {cost}"
        if alt_t == t:
            return "rejected: no faster (ties go to the earlier variant, edges in DRAM)"
        return "rejected: the solver stopped at its gap or time limit before reaching it"


def load_plan(path: str) -> Plan:
    if not os.path.isfile(path):
        raise PlanError("no such plan file", path=path)
    with open(path) as f:
        text = f.read()
    try:
        d = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
        return Plan.from_dict(d)
    except IRSyntaxError as exc:
        raise PlanError(f"holds a program that does not parse: {exc}", path=path,
                        hint="re-plan: 'cosynth plan ... -o plan.yaml'") from None
    except ArgumentError as exc:
        raise PlanError(f"holds a fixed-point policy that does not parse: {exc}", path=path,
                        hint="re-plan: 'cosynth plan ... -o plan.yaml'") from None
    except (ValueError, TypeError, KeyError, yaml.YAMLError) as exc:
        raise PlanError(f"is not a cosynth plan: {exc}", path=path,
                        hint="make one with 'cosynth plan ... -o plan.yaml'") from None


def source_sha256(path: str) -> str:
    """SHA-256 (hex) of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ir_sha256(k: Kernel) -> str:
    """SHA-256 (hex) of a kernel's canonical IR text."""
    return hashlib.sha256(print_kernel(k).encode()).hexdigest()


class _Dumper(yaml.SafeDumper):
    """Safe YAML, with multi-line strings (the programs) as literal blocks."""


def _str(dumper, s: str):
    style = "|" if "\n" in s and not any(ln != ln.rstrip() for ln in s.split("\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", s, style=style)


_Dumper.add_representer(str, _str)


def _s(t: float) -> str:
    if t is None:
        return "-"
    if t >= 1:
        return f"{t:.3g} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} us"


def _money(x: float) -> str:
    """Two decimals, or two significant digits below a cent (a run of microseconds costs
    millionths: "0.000000" would say it is free)."""
    return f"{x:.2f}" if x == 0 or abs(x) >= 0.01 else f"{x:.2g}"


def _rules(rewrites: list[dict]) -> str:
    counts: dict[str, int] = {}
    for r in rewrites:
        counts[r["rule"]] = counts.get(r["rule"], 0) + 1
    return ", ".join(f"{n} x{c}" if c > 1 else n for n, c in counts.items())


def _bytes(b: float) -> str:
    return format_quantity(b, "size")


def _pct(g) -> str:
    return "unknown" if g is None else f"{100 * g:.2f}%"
