"""The gather probe behind the two-level working-set term: compiled with the real
toolchain, it reports one positive cost per working-set size asked for (no timing is
asserted: that belongs in bench/)."""

from __future__ import annotations

from cosynth.backends.cpp.memprobe import probe


def test_probe_reports_each_size():
    sizes = [64 << 10, 1 << 20]
    got = probe(sizes, refs=1 << 16)
    assert [b for b, _ in got] == sizes
    assert all(0 < t < 1e-5 for _, t in got)


def test_branch_probe_prices_a_change_of_the_branch():
    """The branch probe (``flip_probe``): compiled with the real toolchain, a random flag
    costs more than a sorted one per element (the branch stays a branch: a compiler that
    turned it into a conditional move would give 0), one figure per repeat."""
    from cosynth.backends.cpp.memprobe import flip_probe
    c, each = flip_probe(n=1 << 16, repeats=3)
    assert len(each) == 3
    assert 0 < c < 1e-6
