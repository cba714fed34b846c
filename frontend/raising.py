"""Raise read-modify-write idioms into reductions with a named operator.

Each rule is an equation on statements (``t[i]`` stands for any table entry, scalar
table, or iteration-private scalar; ``f`` for a bool scalar table)::

    t[i] = min(t[i], e)  |  t[i] = min(e, t[i])      ->  t[i] min= e
    t[i] = max(t[i], e)  |  t[i] = max(e, t[i])      ->  t[i] max= e
    t[i] = t[i] + e      |  t[i] = e + t[i]          ->  t[i] add= e      (t[i] += e)
    t[i] = t[i] - e                                  ->  t[i] add= -e     (t[i] -= e)
    t[i] = t[i] | e      |  t[i] = e | t[i]  (bool)  ->  t[i] or= e       (t[i] |= e)
    t[i] = t[i] & e      |  t[i] = e & t[i]  (bool)  ->  t[i] and= e      (t[i] &= e)
    if e < t[i]: t[i] = e  [; f = True]              ->  t[i] min= e  [-> f]
    if t[i] > e: t[i] = e  [; f = True]              ->  t[i] min= e  [-> f]
    if e > t[i]: t[i] = e  [; f = True]              ->  t[i] max= e  [-> f]
    if t[i] < e: t[i] = e  [; f = True]              ->  t[i] max= e  [-> f]
    t[i] = t[i] or e     |  t[i] = e or t[i]  (bool) ->  t[i] or= e
    t[i] = t[i] and e    |  t[i] = e and t[i] (bool) ->  t[i] and= e
    if not t[i]: t[i] = e  [; f = True]   (bool)     ->  t[i] or= e  [-> f]
    if t[i]: t[i] = e      [; f = True]   (bool)     ->  t[i] and= e  [-> f]
    f = True   (inside a node/edge loop)             ->  f or= True
    f = False  (inside a node/edge loop)             ->  f and= False

where ``f`` is a bool scalar table, or a bool private of an enclosing loop assigned from
inside a deeper node/edge loop (``f := True`` -> ``f or:= True``).

The guarded boolean forms cover ``if not seen[x]: seen[x] = True`` (a guarded set: an
``or`` reduction) and ``if alive[x]: alive[x] = False`` (a guarded clear: ``and``); the
guard may also be written ``t[i] == False`` / ``t[i] != True`` (set) or ``t[i] == True`` /
``t[i] != False`` (clear).  They are exact for any bool ``e``: when the guard fails the
entry already is the operator's absorbing value (``True or e == True``,
``False and e == False``), and when it holds ``t[i] op e == e``; the flag is set exactly
when the entry changed, which is when the guard held and ``e`` differs from ``t[i]``,
i.e. what ``t[i] op= e -> f`` reports.  (The unraised form sets ``f`` whenever the guard
held, even for ``e == t[i]``; the rule therefore requires ``e`` to be the constant that
changes the entry when a flag is set: ``True`` for a set, ``False`` for a clear.)

All are exact in the IR's semantics (``x - e == x + (-e)`` holds in IEEE arithmetic and in
wrapping integers; ``min(a, b)`` is ``b if b < a else a``).  The flag of a guarded
reduction is set exactly when the guard held, i.e. when the entry changed.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.ir.nodes import Assign, Bin, Const, If, Kernel, Load, Loop, Store, Un, Var
from cosynth.ir.visit import Transformer

__all__ = ["raise_reductions"]

_SYMMETRIC = {"min": "min", "max": "max", "+": "add", "|": "or", "&": "and",
              "or": "or", "and": "and"}
_GUARD = {("<", "new"): "min", (">", "old"): "min", (">", "new"): "max", ("<", "old"): "max"}


def raise_reductions(k: Kernel) -> Kernel:
    bool_scalars = {t.name for t in k.tables if t.space == "scalar" and t.dtype.is_bool}
    return replace(k, body=_Raise(bool_scalars).visit_body(k.body))


class _Raise(Transformer):
    """Applies the equations bottom-up.  ``depth``: data loops enclosing the statement;
    ``owners``: bool private -> the depth of the loop declaring it."""

    def __init__(self, flags: set[str]):
        self.flags = flags
        self.depth = 0
        self.owners: dict[str, int] = {}

    def visit_Loop(self, s: Loop):
        outer = (self.depth, self.owners)
        self.depth += s.is_data_loop
        self.owners = {**self.owners, **{name: self.depth for name, d in s.locals if d.is_bool}}
        try:
            return self.generic_visit(s)
        finally:
            self.depth, self.owners = outer

    def visit_If(self, s: If):
        s = self.generic_visit(s)
        return _guarded(s, self.flags) or s

    def visit_Store(self, s: Store):
        s = _rmw(s)
        return _flag(s, self.flags) if self.depth > 0 else s

    def visit_Assign(self, s: Assign):
        s = _rmw(s)
        return _flag(s, {s.name}) if self.owners.get(s.name, self.depth) < self.depth else s

    def visit_Expr(self, e):
        return e


def _reads_target(e, s) -> bool:
    if isinstance(s, Store):
        return isinstance(e, Load) and e.table == s.table and e.index == s.index
    return isinstance(e, Var) and e.name == s.name


def _with_op(s, value, op):
    return replace(s, value=value, op=op)


def _rmw(s):
    """``x = x op e`` -> ``x op= e``."""
    if s.op is not None or not isinstance(s.value, Bin):
        return s
    v = s.value
    if isinstance(s, Store) and s.flag is not None:
        return s
    if v.op in _SYMMETRIC:
        red = _SYMMETRIC[v.op]
        if red in ("or", "and") and not v.dtype.is_bool:
            return s
        if v.dtype != _dtype_of_target(s, v):
            return s
        if _reads_target(v.a, s):
            return _with_op(s, v.b, red)
        if _reads_target(v.b, s):
            return _with_op(s, v.a, red)
    if v.op == "-" and _reads_target(v.a, s) and v.dtype == _dtype_of_target(s, v):
        neg = v.b
        if isinstance(neg, Const) and neg.weak:
            neg = replace(neg, value=-neg.value)
        else:
            neg = Un("-", neg, neg.dtype, loc=neg.loc)
        return _with_op(s, neg, "add")
    return s


def _dtype_of_target(s, v):
    """The target's dtype as seen by the read inside ``v`` (promotion must not widen)."""
    for side in (v.a, v.b):
        if _reads_target(side, s):
            return side.dtype
    return None


def _guarded(s: If, flags):
    """``if e < x: x = e [; f = True]`` -> ``x min= e [-> f]``."""
    if s.orelse or not 1 <= len(s.then) <= 2:
        return None
    stores = [t for t in s.then if isinstance(t, Store | Assign) and t.op is None
              and not _is_flag_set(t, flags)]
    sets = [t for t in s.then if _is_flag_set(t, flags)]
    if len(stores) != 1 or len(stores) + len(sets) != len(s.then):
        return None
    st = stores[0]
    c = s.cond
    boolean_op = _bool_guard(c, st)
    if boolean_op is not None:
        return _guarded_bool(s, st, sets, boolean_op)
    if not isinstance(c, Bin) or c.op not in ("<", ">"):
        return None
    if _reads_target(c.b, st) and c.a == st.value:
        op = _GUARD[(c.op, "new")]
    elif _reads_target(c.a, st) and c.b == st.value:
        op = _GUARD[(c.op, "old")]
    else:
        return None
    if isinstance(st, Assign):
        if sets:
            return None
        return replace(st, op=op, loc=s.loc)
    flag = sets[0].table if sets else None
    if flag is not None and flag == st.table:
        return None
    return replace(st, op=op, flag=flag, loc=s.loc)


def _bool_guard(c, st) -> str | None:
    """``or`` if ``c`` says the bool target ``st`` is False, ``and`` if it says True."""
    if not _target_dtype_is_bool(st):
        return None
    if isinstance(c, Un) and c.op == "not" and _reads_target(c.a, st):
        return "or"
    if _reads_target(c, st):
        return "and"
    if isinstance(c, Bin) and c.op in ("==", "!="):
        for side, other in ((c.a, c.b), (c.b, c.a)):
            if _reads_target(side, st) and isinstance(other, Const) and \
                    isinstance(other.value, bool):
                says_true = other.value == (c.op == "==")
                return "and" if says_true else "or"
    return None


def _target_dtype_is_bool(st) -> bool:
    return st.value.dtype.is_bool


def _guarded_bool(s: If, st, sets, op: str):
    """``if not t[i]: t[i] = e [; f = True]`` -> ``t[i] or= e [-> f]`` (``and`` for a
    guard that says the entry is True)."""
    changes = op == "or"  # the value that changes the entry when the guard holds
    if sets and not (isinstance(st.value, Const) and st.value.value is changes):
        return None  # the flag would report a write that changed nothing
    if isinstance(st, Assign):
        if sets:
            return None
        return replace(st, op=op, loc=s.loc)
    flag = sets[0].table if sets else None
    if flag is not None and flag == st.table:
        return None
    return replace(st, op=op, flag=flag, loc=s.loc)


def _is_flag_set(t, flags) -> bool:
    return (isinstance(t, Store) and t.table in flags and t.index is None
            and isinstance(t.value, Const) and t.value.value is True
            and t.op in (None, "or"))


def _flag(s, flags):
    """``f = True`` -> ``f or= True`` and ``f = False`` -> ``f and= False`` inside loops."""
    name = s.table if isinstance(s, Store) else s.name
    if s.op is None and name in flags and getattr(s, "index", None) is None \
            and isinstance(s.value, Const) and isinstance(s.value.value, bool):
        return replace(s, op="or" if s.value.value else "and")
    return s
