"""A plan is data: which blades run what, holding which data, and why.

``Plan`` serialises to YAML or JSON and reloads to an equal object; ``format()`` prints
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

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field

import yaml

from cosynth.errors import CosynthError

from .units import format_quantity

__all__ = ["Plan", "BladePlan", "Choice", "load_plan", "PlanError"]


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


@dataclass
class Choice:
    what: str
    chosen: str
    reason: str
    alternative: str = ""
    alternative_makespan_s: float | None = None


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

    # ------------------------------------------------------------------ views
    @property
    def shards(self) -> list[tuple[int, int]]:
        return [(b.lo, b.hi) for b in self.blades]

    @property
    def makespan(self) -> float:
        return self.predicted["makespan_s"]

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Plan:
        d = dict(d)
        d["blades"] = [BladePlan(**b) for b in d["blades"]]
        d["choices"] = [Choice(**c) for c in d.get("choices", [])]
        return cls(**d)

    def save(self, path: str) -> None:
        """Write atomically (temporary file, then rename) as YAML or JSON by extension."""
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise PlanError(f"cannot write '{path}': folder '{folder}' does not exist")
        if path.endswith(".json"):
            text = json.dumps(self.to_dict(), indent=2) + "\n"
        elif path.endswith((".yaml", ".yml")):
            text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        else:
            raise PlanError(f"'{path}': plans are saved as .yaml or .json")
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)

    # ------------------------------------------------------------------ text
    def format(self) -> str:
        p = self.predicted
        out = [f"plan for {self.kernel} ({self.source}) on manifest {self.manifest}, graph "
               f"{self.graph.get('name') or ''} ({self.graph['n']} vertices, "
               f"{self.graph['m']} edges)",
               f"  variant {self.variant}: {_rules(self.rewrites)}"
               if self.rewrites else f"  variant {self.variant} (as written)",
               f"  predicted: {_s(p['makespan_s'])} over ~{p['supersteps']:.0f} supersteps "
               f"({_s(p['per_superstep_s'])} each); {p['cost_per_hour']:.2f} per hour, "
               f"{p['cost']:.6f} for the run",
               f"  solver: {self.solver['name']} {self.solver['status']}, gap "
               f"{_pct(self.solver['gap'])}, {self.solver['seconds']:.2f} s "
               f"(limit {self.solver['time_limit']:.0f} s)", "",
               "  blade  kind        device  vertices            edges      compute    comm"
               "       stream     total      DRAM"]
        for b in self.blades:
            out.append(f"  {b.blade:5d}  {b.kind:10s}  {b.device:6s}  {b.lo:>8d}..{b.hi:<8d}  "
                       f"{b.edges:>9d}  {_s(b.compute_s):>9s}  {_s(b.comm_s):>9s}  "
                       f"{_s(b.stream_s):>9s}  {_s(b.total_s):>9s}  {_bytes(b.dram_bytes)}")
        out += ["", "  table          layout"]
        for name, lay in self.layouts.items():
            out.append(f"  {name:14s} {lay['layout']:22s} {lay.get('detail', '')}")
        out += ["", "  choices"]
        for c in self.choices:
            alt = ""
            if c.alternative:
                alt = f"; best alternative: {c.alternative}"
                if c.alternative_makespan_s is not None:
                    diff = c.alternative_makespan_s / self.makespan - 1 if self.makespan else 0
                    alt += f" at {_s(c.alternative_makespan_s)} ({diff:+.1%})"
            out.append(f"  - {c.what}: {c.chosen} — {c.reason}{alt}")
        if self.baselines:
            out += ["", "  baselines (same cost model)"]
            for name, t in self.baselines.items():
                ratio = t / self.makespan if self.makespan else float("nan")
                out.append(f"  - {name}: {_s(t)} ({ratio:.2f}x the plan)")
        return "\n".join(out) + "\n"


def load_plan(path: str) -> Plan:
    if not os.path.isfile(path):
        raise PlanError("no such plan file", path=path)
    with open(path) as f:
        text = f.read()
    try:
        d = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
        return Plan.from_dict(d)
    except (ValueError, TypeError, KeyError, yaml.YAMLError) as exc:
        raise PlanError(f"is not a cosynth plan: {exc}", path=path,
                        hint="make one with 'cosynth plan ... -o plan.yaml'") from None


def _s(t: float) -> str:
    if t is None:
        return "-"
    if t >= 1:
        return f"{t:.3g} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} us"


def _rules(rewrites: list[dict]) -> str:
    counts: dict[str, int] = {}
    for r in rewrites:
        counts[r["rule"]] = counts.get(r["rule"], 0) + 1
    return ", ".join(f"{n} x{c}" if c > 1 else n for n, c in counts.items())


def _bytes(b: float) -> str:
    return format_quantity(b, "size")


def _pct(g) -> str:
    return "unknown" if g is None else f"{100 * g:.2f}%"
