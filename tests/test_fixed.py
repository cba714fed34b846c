"""Fixed-point policies (cosynth.fixed): how they are declared (decorator, text for the
CLI), what they refuse (bad formats, no tolerance, values out of range, NaN), and that a
kernel's policy survives its rewrites."""

from __future__ import annotations

import numpy as np
import pytest

import cosynth as cs
from cosynth.errors import ArgumentError
from cosynth.fixed import FixedRangeError, parse_fixed
from cosynth.frontend.rewrite import variant
from tests.helpers import example


def test_declared_in_the_decorator_or_as_text():
    q = cs.fixed("Q16.47", atol=1e-9)
    assert (q.int_bits, q.frac_bits, q.atol, q.rtol) == (16, 47, 1e-9, 0.0)
    assert parse_fixed("Q16.47,atol=1e-9") == q
    assert parse_fixed("q8.20, atol=1e-3, rtol=1e-6") == cs.fixed("Q8.20", atol=1e-3,
                                                                   rtol=1e-6)
    assert parse_fixed(None) is None and parse_fixed(q) is q
    assert parse_fixed(q.as_text()) == q

    @cs.kernel(fixed="Q16.47,atol=1e-9")
    def total(g: cs.Graph) -> cs.NodeArray:
        s = g.node_array(cs.f64, 0.0)
        for v in g.nodes():
            for e in g.out_edges(v):
                s[e.dst] += 0.5
        return s
    assert total.fixed == q and total.ir.fixed == q
    assert total.with_fixed(None).ir.fixed is None
    assert example("pagerank").ir.fixed is None  # no policy unless declared


@pytest.mark.parametrize("text, why", [
    ("Q16.47", "state a finite"),  # a policy states its tolerance
    ("Q40.40,atol=1", "does not fit a 64-bit word"),
    ("16.47,atol=1", "is not Qm.n"),
    ("Q16.47,atol=x", "not a number"),
    ("Q16.47,tol=1", "unknown part"),
])
def test_bad_policies_are_refused_with_the_fix(text, why):
    with pytest.raises(ArgumentError, match=why) as exc:
        parse_fixed(text)
    assert exc.value.hint


def test_encoding_rounds_and_refuses_what_does_not_fit():
    q = cs.fixed("Q4.8", atol=1e-2)
    words = q.encode([0.5, -1.0, 1 / 3, 15.99])
    assert words.tolist() == [128, -256, 85, 4093]
    assert np.allclose(q.decode(words), [0.5, -1.0, 1 / 3, 15.99], atol=2 ** -9)
    with pytest.raises(FixedRangeError, match=r"'rank'\[2\] = 16.0 does not fit .*Q4.8"):
        q.encode([0.0, 1.0, 16.0], "'rank'")
    with pytest.raises(FixedRangeError, match="nan"):
        q.encode(float("nan"), "the scalar 'share'")


def test_the_policy_survives_every_rewrite():
    kf = example("pagerank").with_fixed("Q16.47,atol=1e-9")
    for v in ("par", "async", "pull", "edges"):
        kv, _ = variant(kf.ir, v)
        assert kv.fixed == kf.fixed, v
