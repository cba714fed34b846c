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
