"""The ``cosynth rewrite`` report: per loop, each rule, whether it applies, and why.

Written for a reader who never saw the code: each loop is named by its header and source
line; each rule's verdict comes with its one-line reason and the laws behind it (proved,
refuted with Z3's counterexample, or assumed by a named policy).
"""

from __future__ import annotations

import textwrap

from cosynth.ir.nodes import Kernel

from . import report, variant
from .laws import DEFAULT_POLICY, Policy

__all__ = ["format_report", "report_data"]

_MARK = {"proved": "proved ", "refuted": "REFUTED", "assumed": "assumed", "unknown": "unknown"}


def _laws(r, indent: str) -> list[str]:
    """Laws grouped: ``proved  min on f64: commutative, associative (how) [policy]``."""
    groups: list = []
    for law in r.laws:
        key = (law.status, law.subject, law.detail, law.policies,
               repr(law.counterexample))
        if groups and groups[-1][0] == key:
            groups[-1][1].append(law.name)
        else:
            groups.append((key, [law.name]))
    out = []
    for (status, subject, detail, policies, _), names in groups:
        law = next(x for x in r.laws if x.subject == subject and x.status == status)
        text = f"{_MARK[status]} {', '.join(names)}: {subject}"
        if detail:
            text += f" ({detail})"
        if policies:
            text += f" [policy: {', '.join(policies)}]"
        if law.counterexample:
            text += "; counterexample: " + ", ".join(f"{k}={v}" for k, v in
                                                     law.counterexample.items())
        out.extend(textwrap.wrap(text, 100, initial_indent=indent,
                                 subsequent_indent=indent + "    "))
    return out


def _section(k: Kernel, policy: Policy, title: str) -> list[str]:
    loops, proj = report(k, policy)
    lines = [title, "=" * len(title)]
    for i, lr in enumerate(loops, 1):
        lines.append(f"loop {i}: {lr.label}")
        for name, r in lr.results:
            verdict = "applies" if r.applied else "does not apply"
            head = f"  {name}: {verdict} — {r.reason}"
            lines.extend(textwrap.wrap(head, 100, subsequent_indent="      "))
            lines.extend(_laws(r, "      "))
        lines.append("")
    verdict = "applies" if proj.applied else "does not apply"
    lines.extend(textwrap.wrap(f"whole kernel: project (owner-computes on blade shards): "
                               f"{verdict} — {proj.reason}", 100, subsequent_indent="      "))
    lines.extend(_laws(proj, "      "))
    return lines


def format_report(k: Kernel, policy: Policy = DEFAULT_POLICY) -> str:
    lines = [f"kernel {k.name}: rewrite rules  [policies: {', '.join(policy.names()) or 'none'}]",
             ""]
    lines += _section(k, policy, "As written (every loop sequential, as Python runs it)")
    par, steps = variant(k, "par", policy)
    if steps:
        lines += ["", ""]
        lines += _section(par, policy, f"After the proven schedules ({len(steps)} "
                          f"rewrite{'s' * (len(steps) != 1)}: "
                          f"{', '.join(sorted({s.rule for s in steps}))})")
    return "\n".join(lines) + "\n"


def report_data(k: Kernel, policy: Policy = DEFAULT_POLICY) -> dict:
    """The same report as data (for ``--json``)."""
    def section(kk):
        loops, proj = report(kk, policy)
        return {"loops": [{"loop": lr.label, "path": [list(p) for p in lr.path],
                           "rules": [{"rule": n, **r.certificate()} for n, r in lr.results]}
                          for lr in loops],
                "project": proj.certificate()}
    par, _ = variant(k, "par", policy)
    return {"kernel": k.name, "policies": list(policy.names()), "as_written": section(k),
            "parallel": section(par)}
