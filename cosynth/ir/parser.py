"""Read the IR's text form back: ``parse_kernel(text) -> Kernel``.

The parser reads the canonical form ``cosynth.ir.printer`` writes and rebuilds every
node.  What the canonical form leaves out it *reads by default*, with the rules the
frontend types a kernel by (so most kernels' canonical form reads back exactly):

* a bare int literal is a weak ``i64``, a float literal a weak ``f64`` (both strong as a
  whole table's fill), ``True``/``False`` a strong ``bool``; ``T(literal)`` is a strong
  constant of type ``T``;
* a name is the innermost loop variable (``i64``, weak), private local (its declared
  type) or parameter (its type, weak) of that name, else a scalar table (a load), else a
  node or edge table (a whole-table result);
* a local or a scalar table is weak when every value assigned to it is weak (the largest
  such set: a fixed point); an indexed load is strong;
* ``a op b`` has NumPy's promoted type (comparisons and ``and``/``or`` give ``bool``,
  ``/`` of integers ``f64``); ``not`` gives ``bool``, other unary operators their
  operand's type; ``T(e)`` is a strong cast;
* a kernel's weight type is its ``weight`` table's type, or ``f64``.

The *exact* form (``printer.print_kernel_exact``) is the canonical form plus what these
rules would get wrong: ``(e : T weak)`` / ``(e : T strong)`` ascribes a type and
weakness to one expression, a ``weights: T`` line the kernel's weight type, and a
trailing ``#@`` comment the source locations of a line's nodes (statement or table or
kernel and parameters first, then its expressions in pre-order, ``-`` for none; the
header's comment starts with the kernel's file as a JSON string).  Invariant:
``parse_kernel(print_kernel_exact(k)) == k`` and every node's ``loc`` is restored.

Errors raise ``IRSyntaxError`` naming the line and column of the text.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields, replace

from ..dtypes import DTYPES, DType, boolean, f64, i64, promote
from ..errors import CosynthError, Loc
from .nodes import (
    CMP_OPS,
    GRAPH_FNS,
    LOOP_KINDS,
    REDUCE_OPS,
    SCHEDULES,
    Alloc,
    AllReduce,
    Assign,
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Exchange,
    Expr,
    GraphQuery,
    If,
    Kernel,
    Load,
    Loop,
    Param,
    Refresh,
    Select,
    Stmt,
    Store,
    Table,
    TableRef,
    Un,
    Var,
)

__all__ = ["parse_kernel", "IRSyntaxError", "loc_order", "default_weight_dtype"]


class IRSyntaxError(CosynthError):
    """IR text that does not parse; ``loc`` is the line and column in that text."""


# ----------------------------------------------------------------------- shared helpers
def loc_order(node) -> list:
    """The nodes whose locations one text line carries, in order: ``node`` itself, then
    (for a statement: its expressions; for an expression: its operands) in pre-order,
    never descending into nested statements."""
    out = [node]
    for f in fields(node):
        v = getattr(node, f.name)
        if isinstance(v, Expr):
            out.extend(loc_order(v))
        elif isinstance(v, tuple):
            out.extend(x for e in v if isinstance(e, Expr) for x in loc_order(e))
    return out


def default_weight_dtype(tables) -> DType:
    """The weight type a kernel reads as when its text names none."""
    for t in tables:
        if t.role == "weight":
            return t.dtype
    return f64


def _with_locs(node, locs: list):
    """``node`` rebuilt with ``locs`` (consumed front first) in ``loc_order``."""
    loc = locs.pop(0) if locs else None
    changes = {}
    for f in fields(node):
        v = getattr(node, f.name)
        if isinstance(v, Expr):
            changes[f.name] = _with_locs(v, locs)
        elif isinstance(v, tuple) and any(isinstance(e, Expr) for e in v):
            changes[f.name] = tuple(_with_locs(e, locs) if isinstance(e, Expr) else e
                                    for e in v)
    return replace(node, loc=loc, **changes)


# ---------------------------------------------------------------------------- lexing
_TOKEN = re.compile(r"""
    (?P<num>\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\.\d+(?:[eE][-+]?\d+)?|\d+)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>:=|->|\*\*|//|<<|>>|<=|>=|==|!=|[-+*/%&|^~<>()\[\]:,.=@])
  | (?P<space>\s+)
""", re.VERBOSE)
_LOC = re.compile(r'\s*(?:(-)|(?:("(?:[^"\\]|\\.)*"):)?(\d+):(\d+))')


@dataclass
class _Tok:
    kind: str  # num | name | op | end
    text: str
    line: int
    col: int


@dataclass
class _Line:
    no: int
    depth: int
    toks: list[_Tok]
    trailer: str  # the text after '#@', or ""
    trailer_col: int


def _lex(text: str, file: str) -> list[_Line]:
    out = []
    for no, raw in enumerate(text.split("\n"), 1):
        code, _, comment = raw.partition("#")
        if not code.strip():
            continue
        indent = len(code) - len(code.lstrip(" "))
        if indent % 2:
            raise IRSyntaxError("indentation is not a multiple of two spaces",
                                loc=Loc(file, no, indent))
        toks, pos = [], indent
        body = code.rstrip()
        while pos < len(body):
            m = _TOKEN.match(body, pos)
            if m is None:
                raise IRSyntaxError(f"unexpected character {body[pos]!r}",
                                    loc=Loc(file, no, pos))
            if m.lastgroup != "space":
                toks.append(_Tok(m.lastgroup, m.group(), no, pos))
            pos = m.end()
        toks.append(_Tok("end", "", no, len(body)))
        trailer = comment[1:] if comment.startswith("@") else ""
        out.append(_Line(no, indent // 2, toks, trailer, len(code) + 2))
    return out


# --------------------------------------------------------------------------- parsing
_PREC = {"or": 1, "and": 2, "<": 4, "<=": 4, ">": 4, ">=": 4, "==": 4, "!=": 4, "|": 5,
         "^": 6, "&": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "//": 10,
         "%": 10}
_LITERAL_NAMES = {"inf": math.inf, "nan": math.nan, "True": True, "False": False}


def parse_kernel(text: str, file: str = "<ir>") -> Kernel:
    """The kernel that ``text`` (the canonical or the exact form) prints."""
    lines = _lex(text, file)
    weak_tables: set | None = None
    weak_locals: set | None = None
    for _ in range(1000):  # the weak sets only shrink: a fixed point within their size
        p = _Parser(lines, file, weak_tables, weak_locals)
        k = p.kernel()
        if (p.weak_tables_out, p.weak_locals_out) == (weak_tables, weak_locals):
            return k
        weak_tables, weak_locals = p.weak_tables_out, p.weak_locals_out
    raise AssertionError("weak fixed point did not converge")  # pragma: no cover


class _Parser:
    def __init__(self, lines, file, weak_tables, weak_locals):
        self.lines, self.file, self.i = lines, file, 0
        self.weak_tables, self.weak_locals = weak_tables, weak_locals
        self.assigned: dict[tuple[str, str], list[bool]] = {}
        self.toks: list[_Tok] = []
        self.t = 0
        self.scopes: list[dict[str, tuple[DType, str]]] = []
        self.tables: dict[str, Table] = {}
        self.default_file = file

    # ------------------------------------------------------------------ results
    @property
    def weak_tables_out(self) -> set:
        return {n for n, t in self.tables.items() if t.space == "scalar"
                and all(self.assigned.get(("table", n), []))}

    @property
    def weak_locals_out(self) -> set:
        names = {n for scope in self._all_locals for n in scope}
        return {n for n in names if all(self.assigned.get(("local", n), []))}

    # ------------------------------------------------------------------ errors
    def error(self, msg: str, tok: _Tok | None = None):
        tok = tok or self.peek()
        raise IRSyntaxError(msg, loc=Loc(self.file, tok.line, tok.col))

    # ------------------------------------------------------------------ lines
    def line(self) -> _Line | None:
        return self.lines[self.i] if self.i < len(self.lines) else None

    def start(self, ln: _Line):
        self.toks, self.t = ln.toks, 0

    def next_line(self, depth: int) -> _Line:
        ln = self.line()
        if ln is None:
            last = self.lines[-1] if self.lines else None
            raise IRSyntaxError("the text ends before the kernel's 'return' line",
                                loc=Loc(self.file, last.no + 1 if last else 1, 0))
        if ln.depth != depth:
            raise IRSyntaxError(f"expected indentation {2 * depth}, found {2 * ln.depth}",
                                loc=Loc(self.file, ln.no, 2 * ln.depth))
        self.i += 1
        self.start(ln)
        return ln

    # ------------------------------------------------------------------ tokens
    def peek(self, ahead: int = 0) -> _Tok:
        return self.toks[min(self.t + ahead, len(self.toks) - 1)]

    def take(self) -> _Tok:
        tok = self.peek()
        self.t += 1
        return tok

    def at(self, text: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind in ("op", "name") and tok.text == text

    def expect(self, text: str) -> _Tok:
        if not self.at(text):
            tok = self.peek()
            self.error(f"expected '{text}', found {_describe(tok)}")
        return self.take()

    def name(self, what: str = "a name") -> str:
        tok = self.peek()
        if tok.kind != "name":
            self.error(f"expected {what}, found {_describe(tok)}")
        return self.take().text

    def end(self):
        if self.peek().kind != "end":
            self.error(f"unexpected {_describe(self.peek())}")

    def dtype(self) -> DType:
        tok = self.peek()
        if tok.kind != "name" or tok.text not in DTYPES:
            self.error(f"expected a type ({', '.join(DTYPES)}), found {_describe(tok)}")
        return DTYPES[self.take().text]

    # ------------------------------------------------------------------ locations
    def locs(self, ln: _Line, count: int) -> list:
        if not ln.trailer:
            return []
        out, text = [], ln.trailer
        pos = self.file_end if ln is self.lines[0] else 0
        while text[pos:].strip():
            m = _LOC.match(text, pos)
            if m is None:
                raise IRSyntaxError("a location is 'LINE:COL', '\"FILE\":LINE:COL' or '-'",
                                    loc=Loc(self.file, ln.no, ln.trailer_col + pos))
            if m.group(1):
                out.append(None)
            else:
                f = json.loads(m.group(2)) if m.group(2) else self.default_file
                out.append(Loc(f, int(m.group(3)), int(m.group(4))))
            pos = m.end()
        if len(out) != count:
            raise IRSyntaxError(f"{len(out)} location(s) for the {count} node(s) of this line",
                                loc=Loc(self.file, ln.no, ln.trailer_col))
        return out

    def located(self, node, ln: _Line):
        n = len(loc_order(node))
        return _with_locs(node, self.locs(ln, n)) if ln.trailer else node

    # ------------------------------------------------------------------ kernel
    def kernel(self) -> Kernel:
        self._all_locals: list[dict] = []
        head = self.next_line(0)
        self.file_end = 0  # the header's '#@' names the kernel's file first
        m = re.match(r'\s*("(?:[^"\\]|\\.)*")', head.trailer)
        if m:
            self.default_file = json.loads(m.group(1))
            self.file_end = m.end()
        self.expect("kernel")
        kname = self.name("the kernel's name")
        self.expect("(")
        params = []
        while not self.at(")"):
            if params:
                self.expect(",")
            params.append(self.param())
        self.expect(")")
        self.expect("->")
        ret_toks = self.toks[self.t:]
        weights = None
        ln = self.line()
        if ln is not None and ln.depth == 1 and ln.toks[0].text == "weights":
            self.next_line(1)
            self.take()
            self.expect(":")
            if self.at("none"):
                self.take()
                weights = "none"
            else:
                weights = self.dtype()
            self.end()
        self.next_line(1)
        self.expect("tables")
        self.expect(":")
        self.end()
        tables = []
        while (ln := self.line()) is not None and ln.depth == 2:
            self.next_line(2)
            tables.append(self.located(self.table(), ln))
        self.tables = {t.name: t for t in tables}
        self.params = {p.name: p for p in params}
        self.scopes = []
        body = self.block(1, until_return=True)
        ret_line = self.next_line(1)
        self.expect("return")
        rets = self.returns()
        self.end()
        if [t.text for t in self.toks[1:-1]] != [t.text for t in ret_toks[:-1]]:
            self.error("the header's results differ from the 'return' line's",
                       ret_toks[0])
        if self.line() is not None:
            ln = self.line()
            raise IRSyntaxError("text after the kernel's 'return' line",
                                loc=Loc(self.file, ln.no, 2 * ln.depth))
        if ret_line.trailer:
            order = [x for r in rets for x in loc_order(r)]
            locs = self.locs(ret_line, len(order))
            rets = tuple(_with_locs(r, locs) for r in rets)
        wd = default_weight_dtype(tables) if weights is None else (
            None if weights == "none" else weights)
        k = Kernel(kname, tuple(params), tuple(tables), body, rets, wd)
        if head.trailer:
            locs = self.locs(head, 1 + len(params))
            k = replace(k, loc=locs[0],
                        params=tuple(replace(p, loc=lc) for p, lc in zip(params, locs[1:])))
        return k

    def param(self) -> Param:
        pname = self.name("a parameter name")
        self.expect(":")
        kind = "scalar"
        if self.at("node") and self.peek(1).text in DTYPES:
            self.take()
            kind = "array"
        dt = self.dtype()
        if self.at("shard"):
            self.take()
            kind = "shard"
        node = False
        if self.at("node"):
            self.take()
            node = True
        default, has = None, False
        if self.at("="):
            self.take()
            default, has = self.literal(), True
        return Param(pname, kind, dt, default, has, node)

    def literal(self):
        neg = self.at("-") and bool(self.take())
        tok = self.take()
        if tok.kind == "num":
            v = float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        elif tok.kind == "name" and tok.text in _LITERAL_NAMES:
            v = _LITERAL_NAMES[tok.text]
        else:
            self.error(f"expected a literal, found {_describe(tok)}", tok)
        if neg:
            if isinstance(v, bool):
                self.error("'-' before a bool literal", tok)
            v = -v
        return v

    def table(self) -> Table:
        tname = self.name("a table name")
        self.expect(":")
        space = self.name("a table space (node, edge or scalar)")
        if space not in ("node", "edge", "scalar"):
            self.error(f"a table space is node, edge or scalar, not '{space}'",
                       self.toks[self.t - 1])
        dt = self.dtype()
        role = "local"
        if self.peek().kind == "name":
            role = self.take().text
            if role not in ("input", "weight"):
                self.error(f"a table role is input or weight, not '{role}'",
                           self.toks[self.t - 1])
        self.end()
        return Table(tname, space, dt, role)

    def returns(self) -> tuple:
        rets = [self.expr()]
        while self.at(","):
            self.take()
            rets.append(self.expr())
        return tuple(rets)

    # ------------------------------------------------------------------ statements
    def block(self, depth: int, until_return: bool = False) -> tuple[Stmt, ...]:
        out = []
        while (ln := self.line()) is not None and ln.depth >= depth:
            if ln.depth > depth:
                raise IRSyntaxError("unexpected indentation",
                                    loc=Loc(self.file, ln.no, 2 * ln.depth))
            first = ln.toks[0].text
            if until_return and first == "return":
                break
            if first == "else":
                break
            self.next_line(depth)
            if first == "pass":
                self.take()
                self.end()
                continue
            out.append(self.stmt(ln, depth))
        return tuple(out)

    def stmt(self, ln: _Line, depth: int) -> Stmt:
        tok = self.peek()
        word = tok.text if tok.kind == "name" else ""
        nxt = self.peek(1)
        if word == "if":  # if, for and while are Python keywords: never table names
            return self.if_stmt(ln, depth)
        if word in ("for", "while"):
            return self.loop(ln, depth)
        if word in ("exchange", "refresh", "allreduce") and nxt.kind == "name":
            return self.located(self.comm(word), ln)
        return self.located(self.simple(), ln)

    def comm(self, word: str) -> Stmt:
        self.take()
        table = self.table_name()
        if word == "refresh":
            self.end()
            return Refresh(table)
        op = self.reduce_op()
        if word == "allreduce":
            self.end()
            return AllReduce(table, op)
        flag = self.flag()
        self.end()
        return Exchange(table, op, flag)

    def table_name(self) -> str:
        tok = self.peek()
        n = self.name("a table name")
        if n not in self.tables:
            self.error(f"no table named '{n}'", tok)
        return n

    def reduce_op(self) -> str:
        tok = self.peek()
        op = self.name("a reduction operator")
        if op not in REDUCE_OPS:
            self.error(f"a reduction operator is one of {', '.join(REDUCE_OPS)}", tok)
        return op

    def flag(self) -> str | None:
        if not self.at("->"):
            return None
        self.take()
        return self.table_name()

    def simple(self) -> Stmt:
        target = self.peek()
        n = self.name("a statement")
        if self.at("["):
            self.take()
            if self.at(":") and self.peek(1).text == "]":
                self.take()
                self.take()
                self.expect("=")
                first = self.t
                fill = self.expr()
                if isinstance(fill, Const) and self.t - first <= 2:
                    fill = replace(fill, weak=False)  # a fill literal takes the table's type
                self.end()
                self.need_table(n, target)
                self.note_assign("table", n, fill)
                return Alloc(n, fill)
            index = self.expr()
            self.expect("]")
            self.need_table(n, target)
            op = self.assign_op("=")
            value = self.expr()
            flag = self.flag()
            self.end()
            return Store(n, index, value, op, flag)
        if self.at(":=") or (self.peek(1).text == ":=" and self.peek().text in REDUCE_OPS):
            op = self.assign_op(":=")
            value = self.expr()
            self.end()
            if self.lookup_local(n) is None:
                self.error(f"'{n}' is not a private local of an enclosing loop", target)
            self.note_assign("local", n, value)
            return Assign(n, value, op)
        self.need_table(n, target)
        op = self.assign_op("=")
        value = self.expr()
        flag = self.flag()
        self.end()
        self.note_assign("table", n, value)
        return Store(n, None, value, op, flag)

    def need_table(self, n: str, tok: _Tok):
        if n not in self.tables:
            self.error(f"no table named '{n}'", tok)

    def assign_op(self, sym: str) -> str | None:
        if self.at(sym):
            self.take()
            return None
        tok = self.peek()
        if tok.kind == "name" and tok.text in REDUCE_OPS and self.at(sym, 1):
            self.take()
            self.take()
            return tok.text
        self.error(f"expected '{sym}' or a reduction ('min{sym}', 'add{sym}', ...), "
                   f"found {_describe(tok)}")

    def note_assign(self, space: str, n: str, value: Expr):
        self.assigned.setdefault((space, n), []).append(value.weak)

    def if_stmt(self, ln: _Line, depth: int) -> If:
        self.take()
        cond = self.expr()
        self.expect(":")
        self.end()
        head = self.located(If(cond, ()), ln)
        then = self.block(depth + 1)
        orelse = ()
        nxt = self.line()
        if nxt is not None and nxt.depth == depth and nxt.toks[0].text == "else":
            self.next_line(depth)
            self.take()
            self.expect(":")
            self.end()
            orelse = self.block(depth + 1)
        return replace(head, then=then, orelse=orelse)

    def loop(self, ln: _Line, depth: int) -> Loop:
        word = self.take().text
        var, of, start, stop, step, cond = None, None, None, None, None, None
        if word == "while":
            kind = "while"
            cond = self.expr()
        else:
            var = self.name("a loop variable")
            self.expect("in")
            ktok = self.peek()
            kind = self.name("a loop kind")
            if kind not in LOOP_KINDS or kind == "while":
                self.error(f"a loop runs over nodes(), out_edges(v), in_edges(v), edges() "
                           f"or range(...), not '{kind}'", ktok)
            self.expect("(")
            if kind in ("out_edges", "in_edges"):
                of = self.expr()
            elif kind == "range":
                start = self.expr()
                self.expect(",")
                stop = self.expr()
                step = Const(1, i64, True)
                if self.at(","):
                    self.take()
                    step = self.expr()
            elif not self.at(")"):
                start = self.expr()
                self.expect(",")
                stop = self.expr()
            self.expect(")")
        self.expect("@")
        stok = self.peek()
        schedule = self.name("a schedule")
        if schedule not in SCHEDULES:
            self.error(f"a schedule is one of {', '.join('@' + s for s in SCHEDULES)}", stok)
        self.expect(":")
        self.end()
        locals_ = ()
        nxt = self.line()
        if nxt is not None and nxt.depth == depth + 1 and nxt.toks[0].text == "private" \
                and nxt.toks[1].kind == "name":
            self.next_line(depth + 1)
            self.take()
            decl = []
            while True:
                n = self.name("a local's name")
                self.expect(":")
                decl.append((n, self.dtype()))
                if not self.at(","):
                    break
                self.take()
            self.end()
            locals_ = tuple(decl)
        head = self.located(Loop(kind, var, (), schedule, of, start, stop, step, cond,
                                 locals_), ln)
        scope = {n: (d, "local") for n, d in locals_}
        if var is not None and kind != "while":
            scope[var] = (i64, "var")
        self._all_locals.append({n: d for n, d in locals_})
        self.scopes.append(scope)
        body = self.block(depth + 1)
        self.scopes.pop()
        return replace(head, body=body)

    def lookup_local(self, n: str):
        for scope in reversed(self.scopes):
            if n in scope:
                return scope[n]
        return None

    # ------------------------------------------------------------------ expressions
    def expr(self) -> Expr:
        a = self.binary(1)
        if self.at("if"):
            self.take()
            cond = self.binary(1)
            self.expect("else")
            b = self.expr()
            return Select(cond, a, b, promote(a.dtype, b.dtype, a.weak, b.weak))
        return a

    def binary(self, min_prec: int) -> Expr:
        if min_prec <= 3 and self.at("not"):
            self.take()
            a = Un("not", self.binary(3), boolean)
        else:
            a = self.unary()
        while True:
            tok = self.peek()
            op = tok.text if tok.kind in ("op", "name") else ""
            p = _PREC.get(op)
            if p is None or p < min_prec:
                return a
            self.take()
            if p == 4:
                b = self.binary(5)
                a = Bin(op, a, b, boolean)
                if _PREC.get(self.peek().text) == 4:
                    self.error("comparisons do not chain in the IR: parenthesise them")
                continue
            a = _bin(op, a, self.binary(p + 1))

    def unary(self) -> Expr:
        if self.at("-") or self.at("~"):
            op = self.take().text
            nxt = self.peek()
            if op == "-" and (nxt.kind == "num" or nxt.text in ("inf", "nan")) \
                    and not self.at("**", 1):
                return self.atom_literal(negate=True)
            a = self.unary()
            return Un(op, a, a.dtype)
        return self.power()

    def power(self) -> Expr:
        a = self.atom()
        if self.at("**"):
            self.take()
            b = self.unary()
            return _bin("**", a, b)
        return a

    def atom_literal(self, negate: bool = False) -> Const:
        tok = self.take()
        v = (float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)) \
            if tok.kind == "num" else _LITERAL_NAMES[tok.text]
        if negate:
            v = -v
        if isinstance(v, bool):
            return Const(v, boolean, False)
        return Const(v, i64 if isinstance(v, int) else f64, True)

    def atom(self) -> Expr:
        tok = self.peek()
        if tok.kind == "num" or (tok.kind == "name" and tok.text in _LITERAL_NAMES):
            return self.atom_literal()
        if self.at("("):
            self.take()
            e = self.expr()
            if self.at(":"):
                e = self.ascribe(e)
            self.expect(")")
            return e
        if tok.kind != "name":
            self.error(f"expected an expression, found {_describe(tok)}")
        n = self.take().text
        if self.at("("):
            return self.call(n, tok)
        if self.at("["):
            self.take()
            index = self.expr()
            self.expect("]")
            self.need_table(n, tok)
            return Load(n, index, self.tables[n].dtype, False)
        if self.at("."):
            self.take()
            atok = self.peek()
            attr = self.name("src, dst or id")
            if attr not in ("src", "dst", "id"):
                self.error(f"an edge has src, dst and id, not '{attr}'", atok)
            if self.lookup_local(n) is None:
                self.error(f"'{n}' is not a loop variable in scope", tok)
            return EdgeAttr(n, attr)
        return self.name_ref(n, tok)

    def name_ref(self, n: str, tok: _Tok) -> Expr:
        local = self.lookup_local(n)
        if local is not None:
            dt, what = local
            weak = True if what == "var" else (self.weak_locals is None
                                               or n in self.weak_locals)
            return Var(n, dt, weak)
        if n in self.params:
            return Var(n, self.params[n].dtype, True)
        if n in self.tables:
            t = self.tables[n]
            if t.space == "scalar":
                weak = self.weak_tables is None or n in self.weak_tables
                return Load(n, None, t.dtype, weak)
            return TableRef(n, t.dtype)
        self.error(f"'{n}' is no loop variable, local, parameter or table", tok)

    def call(self, n: str, tok: _Tok) -> Expr:
        self.expect("(")
        if n in DTYPES:
            if self._literal_call():
                v = self.literal()
                self.expect(")")
                return Const(v, DTYPES[n], False)
            a = self.expr()
            self.expect(")")
            return Cast(a, DTYPES[n], False)
        args = []
        while not self.at(")"):
            if args:
                self.expect(",")
            args.append(self.expr())
        self.expect(")")
        if n in ("min", "max") and len(args) == 2:
            return _bin(n, *args)
        if n == "abs" and len(args) == 1:
            return Un("abs", args[0], args[0].dtype)
        if n in GRAPH_FNS and len(args) == GRAPH_FNS[n]:
            return GraphQuery(n, tuple(args))
        self.error(f"'{n}' with {len(args)} argument(s) is no operator of the IR", tok)

    def _literal_call(self) -> bool:
        k = 1 if self.at("-") else 0
        tok = self.peek(k)
        lit = tok.kind == "num" or (tok.kind == "name" and tok.text in _LITERAL_NAMES)
        return lit and self.at(")", k + 1)

    def ascribe(self, e: Expr) -> Expr:
        self.expect(":")
        dt = self.dtype()
        weak = None
        if self.at("weak") or self.at("strong"):
            weak = self.take().text == "weak"
        return _ascribed(e, dt, weak, self)


def _bin(op: str, a: Expr, b: Expr) -> Bin:
    if op in CMP_OPS or op in ("and", "or"):
        return Bin(op, a, b, boolean)
    dt = promote(a.dtype, b.dtype, a.weak, b.weak)
    if op == "/" and not dt.is_float:
        dt = f64
    return Bin(op, a, b, dt)


def _ascribed(e: Expr, dt: DType, weak: bool | None, p: _Parser) -> Expr:
    """``e`` with the ascribed type (and weakness, where ``e`` stores one)."""
    names = {f.name for f in fields(e)}
    if "dtype" in names:
        e = replace(e, dtype=dt)
    elif dt != e.dtype:
        p.error(f"a {type(e).__name__} is always {e.dtype}, not {dt}")
    if weak is not None:
        if "weak" in names:
            e = replace(e, weak=weak)
        elif weak != e.weak:
            p.error(f"this {type(e).__name__} is {'weak' if e.weak else 'strong'} by its "
                    "operands")
    return e


def _describe(tok: _Tok) -> str:
    return "the end of the line" if tok.kind == "end" else f"'{tok.text}'"
