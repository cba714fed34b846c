"""Operator laws, proved or refuted by Z3 on the actual dtype, and the policies."""

from __future__ import annotations

import pytest

from cosynth.dtypes import boolean, f32, f64, i32, i64
from cosynth.frontend.rewrite.laws import Policy, mixed_width_associative, operator_law

PROVED = [("min", d) for d in (i32, i64, f32, f64)] + [("max", d) for d in (i32, f64)]


@pytest.mark.parametrize("op,d", PROVED)
@pytest.mark.parametrize("law", ["commutative", "associative", "idempotent", "identity"])
def test_min_max_are_semilattices(op, d, law):
    r = operator_law(law, op, d)
    assert r.status == "proved", r.describe()
    if d.is_float:
        assert "nan-free" in r.policies and "IEEE 754" in r.detail
    else:
        assert f"{d.bits}-bit bit-vectors" in r.detail


@pytest.mark.parametrize("op", ["or", "and"])
def test_bool_ops(op):
    for law in ("commutative", "associative", "idempotent", "identity"):
        assert operator_law(law, op, boolean).status == "proved"


@pytest.mark.parametrize("d", [i32, i64])
def test_integer_add_wraps_consistently_but_is_not_idempotent(d):
    assert operator_law("commutative", "add", d).status == "proved"
    assert operator_law("associative", "add", d).status == "proved"  # modular arithmetic
    r = operator_law("idempotent", "add", d)
    assert r.status == "refuted" and r.counterexample["a"] != 0


@pytest.mark.parametrize("d", [f32, f64])
def test_float_add_is_not_associative_and_the_policy_says_so(d):
    r = operator_law("associative", "add", d)
    assert r.status == "assumed" and not r.status == "proved"
    assert "reassociate-float-sums" in r.policies
    a, b, c = (d.np.type(r.counterexample[x]) for x in "abc")
    assert (a + b) + c != a + (b + c)  # the witness really breaks associativity
    off = operator_law("associative", "add", d, Policy(reassociate_float_sums=False))
    assert off.status == "refuted" and not off.ok


def test_float_min_needs_the_nan_free_policy():
    r = operator_law("commutative", "min", f64, Policy(nan_free=False))
    assert r.status == "refuted"
    assert "nan" in [str(v) for v in r.counterexample.values()]


def test_i32_add_with_unwrapped_partial_sums_is_not_associative():
    """Partial sums kept in i64 and only some of them wrapped to i32 disagree."""
    r = mixed_width_associative("add", i32, i64)
    assert r.status == "refuted"
    a, b = r.counterexample["a"], r.counterexample["b"]
    assert not -(2 ** 31) <= a + b < 2 ** 31  # the inner i32 sum overflowed


def test_remembered_proofs_are_keyed_by_sort():
    """f32 and f64 formulas print alike (an expression's text names its constants, not
    their sorts); a remembered outcome of one must never answer for the other."""
    from cosynth.dtypes import f32, f64, i32, i64
    from cosynth.frontend.rewrite.smt import _key, apply_op, fresh
    keys = set()
    for d in (f32, f64, i32, i64):
        a, b = fresh("a", d), fresh("b", d)
        keys.add(_key(apply_op("add", a, b, d) == apply_op("add", b, a, d), {})[0])
    assert None not in keys and len(keys) == 4


def test_a_proof_budget_is_a_resource_count_not_wall_clock_time(monkeypatch):
    """The same formula and budget give the same outcome however loaded the machine is:
    the budget is Z3's deterministic resource count.  A factoring that a tiny budget cannot
    finish is 'unknown' every time, with the resource limit named; the same budget
    scaled up proves it."""
    import z3

    from cosynth.frontend.rewrite import smt
    monkeypatch.setattr(smt, "_remembered", lambda key: None)
    monkeypatch.setattr(smt, "_remember", lambda key, outcome: None)
    x, y = z3.BitVecs("x y", 16)
    claim = z3.Not(z3.And(x * y == 391, z3.ULT(1, x), z3.ULT(1, y), z3.ULT(x, y),
                          z3.ULT(x, 256), z3.ULT(y, 256)))  # 391 = 17 x 23
    outcomes = {smt.prove("no factors", "391", claim, samples=0, timeout_ms=0.001).status
                for _ in range(3)}
    assert outcomes == {"unknown"}
    law = smt.prove("no factors", "391", claim, samples=0, timeout_ms=0.001)
    assert "resource limit" in law.detail
    found = smt.prove("no factors", "391", claim, samples=0, timeout_ms=2000,
                      show={"x": x, "y": y})
    assert found.status == "refuted" and found.counterexample == {"x": 17, "y": 23}
