"""The generated C++ of a few blade programs, compared byte for byte with golden files.

They cover the emitter's parts: worklists, atomics and outboxes (cc, async), snapshots,
float literals and scalar accumulators (pagerank, bsp), in-edge loops and weights (sssp,
pull) and an FPGA offload (sssp_int, async).  Regenerate after an intended change with
``pytest tests/backends/test_golden.py --update-golden`` and review the diff.
"""

from __future__ import annotations

import os

import pytest

from cosynth.backends.cpp.emit import emit_program
from cosynth.backends.rtl.kernel import unit_spec
from cosynth.backends.rtl.offload import FpgaOffload
from cosynth.backends.rtl.regmap import RegisterMap
from cosynth.frontend.rewrite import variant as variant_of
from cosynth.loader import load_kernels
from cosynth.planner.stubs import project
from tests.helpers import ROOT

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
CASES = [("cc", "cc", "async", False), ("pagerank", "pagerank", "bsp", False),
         ("sssp", "sssp", "pull", False), ("sssp", "sssp_int", "async", True)]


def _program(file: str, kernel: str, variant: str, fpga: bool) -> str:
    source = f"examples/{file}.py"
    kf = load_kernels(os.path.join(ROOT, source))[kernel]
    # a plan with an FPGA blade keeps every refresh (the unit reads whole tables)
    prog = project(variant_of(kf.ir, variant)[0], fpga)
    hw = None
    if fpga:
        spec = unit_spec(prog, variant, name=f"unit_{prog.name}")
        hw = FpgaOffload(spec, RegisterMap.of(spec, 40), spec.name)
    return emit_program(prog, source, hw)


@pytest.mark.parametrize("file,kernel,variant,fpga", CASES,
                         ids=[f"{k}-{v}{'-fpga' if f else ''}" for _, k, v, f in CASES])
def test_generated_cpp_equals_golden(file, kernel, variant, fpga, update_golden):
    text = _program(file, kernel, variant, fpga)
    path = os.path.join(GOLDEN, f"{kernel}.{variant}{'.fpga' if fpga else ''}.cpp")
    if update_golden:
        with open(path, "w") as f:
            f.write(text)
    assert os.path.exists(path), f"{path} is missing: run with --update-golden"
    with open(path) as f:
        assert text == f.read(), f"{path} differs (--update-golden after reviewing)"
