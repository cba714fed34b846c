"""When a reduction changes an entry: the change-flag test every executor of the IR shares.

A reduction ``t[i] op= v`` sets its flag exactly when ``changed(new, old)`` for the entry
(``cosynth.ir.nodes``): the values differ, a NaN counting as equal to a NaN (so a float
entry that stays NaN does not keep a fixed-point loop running).
"""

from __future__ import annotations

__all__ = ["changed"]


def changed(new, old) -> bool:
    """``new != old``, except that NaN and NaN count as the same value."""
    return new != old and (new == new or old == old)
