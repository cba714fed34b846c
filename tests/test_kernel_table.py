"""docs/kernels.md is what bench/kernel_table.py computes today: the FPGA-eligibility
column (as written, and under ``--fixed``) is true of the current backend."""

from __future__ import annotations

import os
import sys

import pytest

from tests.helpers import ROOT


@pytest.mark.slow  # ~30 s: traces and reports every example kernel
def test_docs_kernels_md_is_current():
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import kernel_table
    finally:
        sys.path.pop(0)
    rows = kernel_table.kernel_rows()
    with open(os.path.join(ROOT, "docs", "kernels.md")) as f:
        assert f.read() == kernel_table.markdown(rows), \
            "docs/kernels.md is stale: run python bench/kernel_table.py"
    by = {r["kernel"]: r for r in rows}
    assert by["khop"]["fpga"]  # the loop counter is a register
    assert not by["pagerank"]["fpga"] and by["pagerank"]["fpga_fixed"]
    assert not by["sssp"]["fpga_fixed"] and "starts at inf" in by["sssp"]["fpga_fixed_refusal"]
