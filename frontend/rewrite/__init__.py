"""Semantics-preserving rewrite rules, one module per rule, each with its proof.

Each rule is a pure function ``apply(kernel, path, policy, ...) -> Rewrite``: the new
kernel, or the precise reason it does not apply, and the laws it relied on (proved,
refuted with a counterexample, or assumed by a named policy).

======================  =========================================================
rule                    what it does
======================  =========================================================
``parallelize``         ``seq`` -> ``par`` for loops with independent iterations
``relax``               fixed-point loops -> ``async`` (chaotic) or ``bsp`` (Jacobi)
``direction``           push (out-edges) <-> pull (in-edges)
``edge_centric``        node loop + edge loop <-> one loop over the edge list
``fuse`` / ``fission``  merge two adjacent loops / split one
``project``             owner-computes blade program for a sharded run
``hybrid``              push or pull chosen per execution of a frontier loop
``contrib``             a gather's per-edge division of source data, once per vertex
``rotate``              a while's map loop to the end of the previous iteration, fused
``rounds``              a guarded sequential sweep of a fixed point -> frontier rounds
``deadfill``            a whole-table fill every entry of which is overwritten unread
======================  =========================================================

Schedules the C++ backend applies from analyses of the same package, each with its
legality argument: ``intersect`` (has_edge loops as merges of sorted rows),
``saturation`` (early exit of a saturating gather), ``relabel`` (may the vertices be
renamed; the plan decides), ``mirror`` (an in-edge loop that repeats its out-edge loop
is skipped on a blade whose rows are symmetric).

``variant(kernel, name)`` composes them into the standard variants the planner and the
benchmarks compare; ``report(kernel)`` lists, per loop, what each rule says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cosynth.ir.nodes import Kernel, Loop

from . import (
    contrib,
    deadfill,
    direction,
    edge_centric,
    fusion,
    hybrid,
    parallelize,
    projection,
    relax,
    rotate,
    rounds,
)
from .core import Rewrite, loop_label, loops
from .laws import DEFAULT_POLICY, Policy

__all__ = ["RULES", "report", "variant", "VARIANTS", "Policy", "DEFAULT_POLICY", "Rewrite",
           "LoopReport", "apply_rule"]

RULES = ("parallelize", "relax", "rounds", "direction", "edge_centric", "fuse", "fission",
         "project")
VARIANTS = ("seq", "par", "async", "bsp", "pull", "edges", "hybrid")


def apply_rule(name: str, k: Kernel, path, policy: Policy = DEFAULT_POLICY, **opts) -> Rewrite:
    if name == "parallelize":
        return parallelize.apply(k, path, policy, **opts)
    if name == "relax":
        return relax.apply(k, path, policy, **opts)
    if name == "direction":
        return direction.apply(k, path, policy, **opts)
    if name == "edge_centric":
        return edge_centric.apply(k, path, policy, **opts)
    if name == "fuse":
        return fusion.fuse(k, path, policy)
    if name == "fission":
        return fusion.fission(k, path, policy, **opts)
    if name == "project":
        return projection.apply(k, path, policy)
    if name == "contrib":
        return contrib.apply(k, path, policy)
    if name == "rounds":
        return rounds.apply(k, path, policy)
    if name == "rotate":
        return rotate.apply(k, path, policy, **opts)
    if name == "deadfill":
        return deadfill.apply(k, path, policy)
    raise ValueError(f"unknown rule {name!r}; rules: {', '.join(RULES)}")


def _applicable(name: str, loop: Loop) -> bool:
    if name == "relax":
        return loop.kind == "while"
    if name == "rounds":
        return rounds.applies_to(loop)
    if name in ("direction",):
        return loop.kind == "nodes"
    if name in ("edge_centric", "fuse", "fission"):
        return loop.kind in ("nodes", "edges")
    if name == "parallelize":
        return loop.is_data_loop
    return False


@dataclass
class LoopReport:
    path: tuple
    label: str
    results: list[tuple[str, Rewrite]] = field(default_factory=list)


def report(k: Kernel, policy: Policy = DEFAULT_POLICY) -> tuple[list[LoopReport], Rewrite]:
    """What every rule says about every loop of ``k``, and about projecting ``k``."""
    out = []
    for path, loop in loops(k):
        lr = LoopReport(path, loop_label(loop))
        for name in RULES:
            if name == "project" or not _applicable(name, loop):
                continue
            if name == "relax":
                for to in ("async", "bsp"):
                    lr.results.append((f"relax -> {to}", relax.apply(k, path, policy, to=to)))
            elif name == "direction":
                lr.results.append(("direction", direction.apply(k, path, policy)))
            else:
                lr.results.append((name, apply_rule(name, k, path, policy)))
        out.append(lr)
    return out, projection.apply(k, (), policy)


def _fixpoint(k: Kernel, step) -> tuple[Kernel, list[Rewrite]]:
    applied: list[Rewrite] = []
    for _ in range(200):
        for path, loop in loops(k):
            r = step(k, path, loop)
            if r is not None and r.applied:
                k = r.kernel
                applied.append(r)
                break
        else:
            return k, applied
    return k, applied  # pragma: no cover - each step only ever relaxes a schedule


def variant(k: Kernel, name: str, policy: Policy = DEFAULT_POLICY, *, batch: bool = True,
            rotate_maps: bool = True, dead_fills: bool = True) -> tuple[Kernel, list[Rewrite]]:
    """A standard variant of ``k`` and the rewrites that made it.

    ``seq``: as written.  ``async`` / ``bsp``: fixed points relaxed that way, the
    guarded sweeps of the others run as frontier rounds (``rounds``), then every loop
    with independent iterations ``par`` (``batch=False``: no ``rounds``, the sweeps stay
    one vertex at a time, as the kernel is written).  ``par``: the same with ``bsp`` relaxation.
    ``pull``: ``bsp`` with every push nest that may change direction turned to pull (after
    splitting sweeps whose loop has several edge loops), then each per-iteration map loop
    whose tables only the rest of the iteration reads rotated into the previous
    iteration's update and fused (``rotate``; ``rotate_maps=False``: left where the
    direction rule put them).  ``edges``: ``bsp`` with every
    node+out-edge nest turned edge-centric.  ``hybrid``: ``par`` with every frontier
    push nest whose pull form saturates choosing its direction per execution.  In every
    variant but ``seq``, whole-table fills whose values no read can see are then dropped
    (``deadfill``; ``dead_fills=False``: kept, for A/B runs).
    """
    if name == "seq":
        return k, []
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; variants: {', '.join(VARIANTS)}")
    to = "async" if name == "async" else "bsp"
    done: list[Rewrite] = []

    def relax_step(k, path, loop):
        if loop.kind == "while":
            r = relax.apply(k, path, policy, to=to)
            return r
        return None

    def par_step(k, path, loop):
        if loop.is_data_loop and loop.schedule == "seq":
            return parallelize.apply(k, path, policy)
        return None
    def rounds_step(k, path, loop):
        if batch and rounds.applies_to(loop):
            r = rounds.apply(k, path, policy)
            return r if r.applied else None
        return None
    k, a = _fixpoint(k, relax_step)
    done += a
    k, a = _fixpoint(k, rounds_step)
    done += a
    k, a = _fixpoint(k, par_step)
    done += a

    def contrib_step(k, path, loop):
        if contrib.applies_to(loop) and loop.schedule != "seq":
            r = contrib.apply(k, path, policy)
            return r if r.applied else None
        return None
    k, a = _fixpoint(k, contrib_step)
    done += a
    if name == "pull":
        def split_step(k, path, loop):
            if loop.kind == "nodes" and loop.schedule != "seq" and sum(
                    isinstance(s, Loop) and s.is_edge_loop for s in loop.body) > 1:
                return fusion.fission(k, path, policy)
            return None

        def pull_step(k, path, loop):
            if loop.kind == "nodes" and loop.schedule != "seq":
                r = direction.apply(k, path, policy, to="pull")
                return r if r.applied else None
            return None
        k, a = _fixpoint(k, split_step)
        done += a
        k, a = _fixpoint(k, pull_step)
        done += a

        def rotate_step(k, path, loop):  # the materialised shares join the update
            if rotate.applies_to(loop) and loop.schedule != "seq":
                r = rotate.apply(k, path, policy)
                return r if r.applied else None
            return None
        if rotate_maps:
            k, a = _fixpoint(k, rotate_step)
            done += a
    if name == "hybrid":  # each loop once: the push branch is again a push nest
        for path, loop in reversed(loops(k)):
            if hybrid.applies_to(loop) and loop.schedule != "seq":
                r = hybrid.apply(k, path, policy)
                if r.applied:
                    k = r.kernel
                    done.append(r)
    if name == "edges":
        def edge_step(k, path, loop):
            if loop.kind == "nodes" and loop.schedule != "seq":
                r = edge_centric.apply(k, path, policy, to="edges")
                return r if r.applied and r.kernel is not None else None
            return None
        k, a = _fixpoint(k, edge_step)
        done += a
    for path in reversed(deadfill.dead_fills(k) if dead_fills else []):  # later first
        r = deadfill.apply(k, path, policy)
        if r.applied:
            k = r.kernel
            done.append(r)
    return k, done
