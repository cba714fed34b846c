"""Algebraic laws of reduction operators, proved with Z3 on the actual operator and dtype.

``operator_law(law, op, dtype, policy)`` proves one of ``commutative``, ``associative``,
``idempotent`` or ``identity`` for ``t op= v`` on a table of ``dtype``: bit-vectors for
integers (wrap-around included), IEEE 754 for floats.  Results are cached per process.

Policies (``Policy``), recorded in every law they touch:

* ``nan-free`` (on by default): float data are never NaN.  Without it float ``min`` and
  ``max`` are not even commutative (``min(nan, 1)`` is nan, ``min(1, nan)`` is 1).
  cosynth refuses NaN weights and inputs; the result checks catch any NaN produced later.
* ``reassociate-float-sums`` (on by default): IEEE addition is not associative; Z3 finds
  a counterexample, which is kept, and the law is *assumed* so that float sums may be
  reordered.  Results of such rewrites are then compared within ``cosynth.check``'s
  tolerance instead of exactly.  Switch it off and every rule that needs it refuses.
* ``value-bound`` (on by default): an integer proof that Z3 refutes in wrapping
  arithmetic may be redone assuming table entries stay within ``+-2**(bits-2)`` (or are
  a min/max fill) and weights within ``[0, 2**(bits-2)]``; the driver checks the graph
  and the result against it at run time (``rewrite/bounds.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import z3

from cosynth import ops
from cosynth.dtypes import DType

from .smt import Encoder, Law, apply_op, fresh, not_nan, prove, same

__all__ = ["Policy", "DEFAULT_POLICY", "operator_law", "identity_value", "reorderable",
           "semilattice", "mixed_width_associative"]


@dataclass(frozen=True)
class Policy:
    nan_free: bool = True
    reassociate_float_sums: bool = True
    value_bounds: bool = True  # integer proofs may assume bounds.HYPOTHESIS (then checked)

    def names(self) -> tuple[str, ...]:
        out = []
        if self.nan_free:
            out.append("nan-free")
        if self.reassociate_float_sums:
            out.append("reassociate-float-sums")
        return tuple(out)


DEFAULT_POLICY = Policy()


def identity_value(op: str, d: DType):
    """The identity element of ``op`` on ``d`` (``x op e == x`` for every x), from the
    operator table; ``operator_law("identity", ...)`` proves it."""
    if op not in ops.REDUCTIONS:
        raise ValueError(op)
    return ops.identity(op, d)


def _const(v, d: DType):
    return Encoder(leaf=None).const(v, d)


@cache
def operator_law(law: str, op: str, d: DType, policy: Policy = DEFAULT_POLICY) -> Law:
    subject = f"{op} on {d}"
    detail = (f"Z3, {d.bits}-bit bit-vectors" if d.is_int else
              f"Z3, IEEE 754 binary{d.bits} round-to-nearest-even" if d.is_float else "Z3")
    a, b, c = fresh("a", d), fresh("b", d), fresh("c", d)
    hyp = []
    pol = []
    if d.is_float and policy.nan_free:
        hyp = [not_nan(x, d) for x in (a, b, c)]
        pol.append("nan-free")
    show = {"a": a, "b": b, "c": c}
    f = lambda x, y: apply_op(op, x, y, d)  # noqa: E731
    if law == "commutative":
        r = prove(law, subject, same(f(a, b), f(b, a), d), hyp, {"a": a, "b": b}, detail, pol)
    elif law == "associative":
        wit = []
        if d.is_float:  # cancellation: (big + -big) + 1 != big + (-big + 1)
            big = 2.0 ** ({32: 24, 64: 53}[d.bits] + 1)
            wit = [[(a, _const(big, d)), (b, _const(-big, d)), (c, _const(1.0, d))]]
        r = prove(law, subject, same(f(f(a, b), c), f(a, f(b, c)), d), hyp, show, detail, pol,
                  witnesses=wit)
        if r.status == "refuted" and d.is_float and op == "add" and \
                policy.reassociate_float_sums:
            r.status = "assumed"
            r.policies = r.policies + ("reassociate-float-sums",)
            r.detail += "; IEEE addition is not associative: reordering accepted by policy, " \
                        "results compared within tolerance"
    elif law == "idempotent":
        r = prove(law, subject, same(f(a, a), a, d), hyp, {"a": a}, detail, pol)
    elif law == "identity":
        e = identity_value(op, d)
        r = prove(law, f"{subject} (identity {e})", same(f(a, _const(e, d)), a, d), hyp,
                  {"a": a}, detail, pol)
    else:
        raise ValueError(law)
    return r


def reorderable(op: str, d: DType, policy: Policy = DEFAULT_POLICY) -> list[Law]:
    """The laws that let contributions ``t op= v`` be applied in any order and combined
    before applying (commutative and associative)."""
    return [operator_law("commutative", op, d, policy),
            operator_law("associative", op, d, policy)]


def semilattice(op: str, d: DType, policy: Policy = DEFAULT_POLICY) -> list[Law]:
    """Commutative, associative and idempotent: duplicated or reordered contributions are
    harmless (what asynchronous relaxation needs of its reduction)."""
    return reorderable(op, d, policy) + [operator_law("idempotent", op, d, policy)]


def mixed_width_associative(op: str, narrow: DType, wide: DType) -> Law:
    """Is combining partial results in ``wide`` (unwrapped) and storing into ``narrow`` the
    same as applying ``op`` in ``narrow`` throughout?  ``(a op b) op c`` with the inner
    result wrapped to ``narrow`` and the outer kept in ``wide``, against ``a op (b op c)``
    kept in ``wide``."""
    a, b, c = fresh("a", narrow), fresh("b", narrow), fresh("c", narrow)
    ext = lambda x: z3.SignExt(wide.bits - narrow.bits, x)  # noqa: E731
    left = apply_op(op, ext(apply_op(op, a, b, narrow)), ext(c), wide)
    right = apply_op(op, ext(a), apply_op(op, ext(b), ext(c), wide), wide)
    return prove("associative", f"{op} on {narrow} with partial results in {wide}",
                 left == right, (), {"a": a, "b": b, "c": c},
                 f"Z3, {narrow.bits}-bit values, {wide.bits}-bit partial sums")
