"""From a kernel to its edge unit: pick the variant, extract the rules, build the component.

``unit_for(kernel_ir, variant=None)`` returns the ``UnitSpec`` of the first variant (in
``kernel.HW_VARIANTS`` order, or the one named) whose loops can go to hardware, or raises
``NotEligible`` with every variant's reason.  ``build_unit`` also instantiates the Amaranth
component for a given depth (vertices held on chip).
"""

from __future__ import annotations

from cosynth.frontend.rewrite import variant as make_variant

from .kernel import HW_VARIANTS, NotEligible, UnitSpec, unit_spec
from .unit import EdgeUnit

__all__ = ["unit_for", "build_unit", "eligibility"]


def unit_for(k, variant: str | None = None, name: str | None = None) -> UnitSpec:
    """The unit of kernel IR ``k`` (as written: the variant's rewrites are applied here)."""
    tried = [variant] if variant else list(HW_VARIANTS)
    reasons = []
    for v in tried:
        kv, _ = make_variant(k, v)
        try:
            return unit_spec(kv, v, name or k.name)
        except NotEligible as exc:
            reasons.append((v, exc.message))
    why = reasons[0][1] if variant else f"{reasons[0][1]} (variant {reasons[0][0]}; " \
        f"{'the other variants fail too' if len(reasons) > 1 else 'no other variant'})"
    raise NotEligible(f"kernel '{k.name}' cannot go to an FPGA: {why}", loc=k.loc,
                      hint="FPGA edge units take proven-parallel edge loops that make "
                           "min/max/add/or/and reductions into vertex tables at the edge's "
                           "endpoints, computing on integers and bools (floats only under a "
                           "declared fixed-point policy: @cs.kernel(fixed=...) or --fixed) "
                           "and reading scalars defined outside the loop as registers; the "
                           "planner keeps this kernel on the CPU")


def build_unit(kfn, *, variant: str | None = None, depth: int = 1024):
    """(component, spec) for a ``cs.kernel`` function (or kernel IR)."""
    k = getattr(kfn, "ir", kfn)
    spec = unit_for(k, variant)
    return EdgeUnit(spec, depth), spec


def eligibility(k, variant: str | None = None) -> tuple[bool, str]:
    """(eligible, reason or the sites that go to hardware): what the planner asks."""
    try:
        spec = unit_for(k, variant)
    except NotEligible as exc:
        return False, str(exc)
    return True, ", ".join(s.label for s in spec.sites)
