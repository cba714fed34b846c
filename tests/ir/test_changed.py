"""The change-flag test: values differ, NaN counting as equal to NaN."""

from __future__ import annotations

import math

from cosynth.ir.changed import changed


def test_changed():
    nan = math.nan
    assert changed(1, 2) and changed(1.0, nan) and changed(nan, 1.0)
    assert not changed(3, 3) and not changed(nan, nan) and not changed(0.0, -0.0)
    assert changed(True, False) and not changed(False, False)
