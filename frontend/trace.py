"""Python source of a kernel -> IR, by reading its AST (the kernel is never run).

``trace(fn)`` parses the function's source, resolves every name (graph, tables, scalars,
loop variables, parameters, module constants such as ``cs.INF``), infers the dtype of
every expression and scalar, and emits IR in which every scalar is still an ``Assign`` /
``Var``.  The passes in ``frontend.scopes`` (which scalars are private to an iteration)
and ``frontend.raising`` (idioms -> reductions) finish the job; ``frontend.trace_kernel``
runs all three and the verifier.

Anything outside the language is refused with the user's ``file:line:col``, the construct,
and what to write instead.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import sys
import textwrap
from dataclasses import dataclass, field, replace

import numpy as np

from cosynth import dtypes as dt
from cosynth import ops
from cosynth.dtypes import DType, boolean, f64, i64
from cosynth.errors import KernelError, Loc
from cosynth.ir.nodes import (
    EDGE,
    GRAPH_FNS,
    Alloc,
    Assign,
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Expr,
    GraphQuery,
    If,
    Load,
    Loop,
    Param,
    Select,
    Stmt,
    Store,
    Table,
    TableRef,
    Un,
    Var,
)
from cosynth.lang import EdgeArray, NodeArray

__all__ = ["RawKernel", "trace_source"]

_ALLOWED_CALLS = ("min, max, abs, int, float, the casts cs.i32/cs.i64/cs.f32/cs.f64/"
                  "cs.boolean, and the graph methods g.num_nodes(), g.num_edges(), "
                  "g.out_degree(v), g.in_degree(v), g.has_edge(u, v)")
_ITERABLES = "g.nodes(), g.edges(), g.out_edges(v), g.in_edges(v) or range(...)"
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
           ast.LShift: "<<", ast.RShift: ">>"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
           ast.NotEq: "!="}
# Every stage walks expressions recursively (the tracer, the visitors, the printer, the
# interpreter, the emitters), each taking a few Python frames per level of nesting.  A kernel
# as deep as Python itself compiles (about 3000 levels at the default recursion limit, e.g.
# a 3000-term sum) gets a recursion limit that fits it; deeper ones are refused.
# Names the IR itself uses: a blade program's shard bounds (the projection rule), the edge
# weight table; and generated names are ``<name>__<suffix>`` (``s__part``, ``d__box``).
_RESERVED = {"shard_lo": "the first vertex of a blade's shard",
             "shard_hi": "the end of a blade's shard",
             "weight": "the graph's edge weights (read them as e.weight)"}
_FRAMES_PER_LEVEL = 6
_SPARE_FRAMES = 1000
_MAX_DEPTH = 4000


@dataclass
class RawKernel:
    """The tracer's output: IR whose scalars are not yet split into private / global."""

    name: str
    params: list[Param]
    tables: dict[str, Table]
    scalars: dict[str, DType]
    scalar_locs: dict[str, Loc]
    body: tuple
    returns: tuple
    weight_dtype: DType
    loc: Loc
    node_params: set[str] = field(default_factory=set)
    weak_scalars: dict[str, bool] = field(default_factory=dict)


@dataclass
class _NodeArrayAnn:
    dtype: DType


def trace_source(fn, weight_dtype: DType = f64) -> RawKernel:
    """Trace ``fn`` (a plain Python function) into a ``RawKernel``."""
    try:
        lines, first = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(fn) or "<unknown>"
    except (OSError, TypeError):
        raise KernelError(f"cannot read the source of kernel '{fn.__name__}'",
                          hint="define kernels in a .py file (not in an interactive prompt "
                               "or exec)") from None
    src = "".join(lines)
    dedented = textwrap.dedent(src)
    indent = len(lines[0]) - len(lines[0].lstrip()) if dedented != src else 0
    try:
        tree = ast.parse(dedented)
    except SyntaxError as exc:  # pragma: no cover - Python already imported it
        raise KernelError(f"syntax error: {exc.msg}",
                          loc=Loc(file, first + (exc.lineno or 1) - 1, 0)) from None
    fdef = tree.body[0]
    if not isinstance(fdef, ast.FunctionDef):
        raise KernelError("a kernel must be a plain 'def' function",
                          loc=Loc(file, first, indent))
    _allow_depth(fdef, file, first - 1, indent)
    globals_ = dict(fn.__globals__)
    if fn.__closure__:
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__):
            try:
                globals_[name] = cell.cell_contents
            except ValueError:
                pass
    tracer = _Tracer(file, first - 1, indent, globals_, weight_dtype)
    # Types of scalars are the join of everything assigned to them; a pass may widen a
    # type that an earlier pass used, so trace until the types stop changing.
    for _ in range(8):
        before = (dict(tracer.scalars), dict(tracer.weak_scalars))
        raw = tracer.run(fdef)
        if (tracer.scalars, tracer.weak_scalars) == before:
            raw.weak_scalars = dict(tracer.weak_scalars)
            return raw
    raise KernelError("the types of the kernel's scalars do not settle",
                      loc=tracer.loc(fdef))  # pragma: no cover


class _Tracer:
    def __init__(self, file: str, line_offset: int, col_offset: int, globals_: dict,
                 weight_dtype: DType):
        self.file = file
        self.line_offset = line_offset
        self.col_offset = col_offset
        self.globals = globals_
        self.weight_dtype = weight_dtype
        self.scalars: dict[str, DType] = {}
        self.weak_scalars: dict[str, bool] = {}

    # ------------------------------------------------------------------ utilities
    def loc(self, node) -> Loc:
        return Loc(self.file, node.lineno + self.line_offset,
                   node.col_offset + self.col_offset)

    def error(self, node, message: str, hint: str | None = None):
        raise KernelError(message, loc=self.loc(node), hint=hint)

    # ------------------------------------------------------------------ entry
    def run(self, fdef: ast.FunctionDef) -> RawKernel:
        self.fdef = fdef
        self.tables: dict[str, Table] = {}
        self.table_decl: dict[str, ast.AST] = {}
        self.scalar_locs: dict[str, Loc] = {}
        self.seen_scalars: dict[str, DType] = {}
        self.seen_weak: dict[str, bool] = {}
        self.loop_vars: dict[str, DType] = {}  # in scope now: name -> i64 or EDGE
        self.node_loop_vars: set[str] = set()
        self.used_weight = False
        self.node_params: set[str] = set()
        self._params(fdef)
        self._prescan(fdef)
        body = list(fdef.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # docstring
        if not body or not isinstance(body[-1], ast.Return):
            last = body[-1] if body else fdef
            self.error(last, f"kernel '{fdef.name}' must end with a return statement",
                       hint="return the node array, edge array or scalar the kernel computes")
        stmts = self.block(body[:-1])
        returns = self._returns(body[-1])
        tables = dict(self.tables)
        if self.used_weight:
            tables["weight"] = Table("weight", "edge", self.weight_dtype, "weight")
        for name, d in self.seen_scalars.items():
            old = self.scalars.get(name)
            self.scalars[name] = d if old is None else self._join(name, old, d, None)
        for name, w in self.seen_weak.items():
            self.weak_scalars[name] = self.weak_scalars.get(name, True) and w
        params = [p if p.name not in self.node_params else _with_node(p) for p in self.params]
        return RawKernel(fdef.name, params, tables, dict(self.scalars), self.scalar_locs,
                         tuple(stmts), tuple(returns), self.weight_dtype, self.loc(fdef),
                         set(self.node_params))

    # ------------------------------------------------------------------ parameters
    def _params(self, fdef: ast.FunctionDef) -> None:
        a = fdef.args
        for bad, what in ((a.vararg, "*args"), (a.kwarg, "**kwargs")):
            if bad is not None:
                self.error(bad, f"{what} is outside the cosynth language",
                           hint="list every parameter by name")
        if a.posonlyargs or a.kwonlyargs:
            node = (a.posonlyargs or a.kwonlyargs)[0]
            self.error(node, "positional-only and keyword-only parameters are not supported",
                       hint="use plain parameters")
        args = a.args
        if not args:
            self.error(fdef, f"kernel '{fdef.name}' needs the graph as its first parameter",
                       hint=f"write 'def {fdef.name}(g: cs.Graph, ...)'")
        self.graph_name = args[0].arg
        defaults = [None] * (len(args) - len(a.defaults)) + list(a.defaults)
        if defaults[0] is not None:
            self.error(args[0], "the graph parameter cannot have a default")
        self.params: list[Param] = []
        self.param_kinds: dict[str, tuple[str, DType]] = {}
        for arg, default in zip(args[1:], defaults[1:]):
            kind, dtype, dval = self._param_type(arg, default)
            self.params.append(Param(arg.arg, kind, dtype, dval, default is not None,
                                     loc=self.loc(arg)))
            self.param_kinds[arg.arg] = (kind, dtype)

    def _param_type(self, arg: ast.arg, default):
        dval = None
        if default is not None:
            try:
                dval = ast.literal_eval(default)
            except ValueError:
                dval = self._resolve_global(default)
        ann = None
        if arg.annotation is not None:
            ann = self._eval_annotation(arg.annotation)
        if ann is None and default is not None:
            ann = type(dval)
        if ann is None:
            self.error(arg, f"parameter '{arg.arg}' needs a type",
                       hint=f"annotate it: '{arg.arg}: int', 'float', 'bool' or "
                            "'cs.NodeArray[cs.f64]'")
        if ann is bool:
            kind, dtype = "scalar", boolean
        elif ann is int:
            kind, dtype = "scalar", i64
        elif ann is float:
            kind, dtype = "scalar", f64
        elif isinstance(ann, DType):
            kind, dtype = "scalar", ann
        elif isinstance(ann, _NodeArrayAnn):
            kind, dtype = "array", ann.dtype
        else:
            self.error(arg.annotation or arg, f"parameter '{arg.arg}' has unsupported type "
                       f"{getattr(ann, '__name__', ann)!s}",
                       hint="parameters are int, float, bool or cs.NodeArray[dtype]")
        if default is not None and kind == "array":
            self.error(default, f"node-array parameter '{arg.arg}' cannot have a default",
                       hint="pass the array in every call")
        if default is not None:
            ok = (kind == "scalar" and (
                (dtype.is_bool and isinstance(dval, bool)) or
                (dtype.is_int and isinstance(dval, int) and not isinstance(dval, bool)) or
                (dtype.is_float and isinstance(dval, int | float)
                 and not isinstance(dval, bool))))
            if not ok:
                self.error(default, f"default {dval!r} of parameter '{arg.arg}' is not a "
                           f"{dtype}", hint="give a default of the parameter's type")
            if dtype.is_float:
                dval = float(dval)
        return kind, dtype, dval

    def _eval_annotation(self, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                self.error(node, f"cannot read the annotation {node.value!r}")
        obj = self._resolve_global(node, what="annotation")
        if obj is NodeArray:
            return _NodeArrayAnn(f64)
        if isinstance(obj, _NodeArrayAnn):
            return obj
        if getattr(obj, "__cosynth_node_array__", None) is not None:
            return _NodeArrayAnn(obj.__cosynth_node_array__)
        return obj

    def _resolve_global(self, node, what: str = "name"):
        """Evaluate a name, attribute chain or subscript of constants in the globals."""
        if isinstance(node, ast.Name):
            if node.id in self.globals:
                return self.globals[node.id]
            if hasattr(builtins, node.id):
                return getattr(builtins, node.id)
            self.error(node, f"name '{node.id}' is not defined",
                       hint="assign it before use, or pass it as a parameter")
        if isinstance(node, ast.Attribute):
            base = self._resolve_global(node.value, what)
            try:
                return getattr(base, node.attr)
            except AttributeError:
                self.error(node, f"'{ast.unparse(node.value)}' has no attribute '{node.attr}'")
        if isinstance(node, ast.Subscript):
            base = self._resolve_global(node.value, what)
            idx = self._resolve_global(node.slice, what)
            try:
                return base[idx]
            except Exception as exc:  # noqa: BLE001 - any failure is the user's annotation
                self.error(node, f"cannot evaluate {what} '{ast.unparse(node)}': {exc}")
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = self._resolve_global(node.operand, what)
            if isinstance(v, int | float):
                return -v
        self.error(node, f"cannot evaluate {what} '{ast.unparse(node)}'",
                   hint="use a literal or a module-level constant")

    # ------------------------------------------------------------------ pre-scan
    def _prescan(self, fdef: ast.FunctionDef) -> None:
        """Find table allocations, scalar names and loop variables before emitting."""
        self.table_names: set[str] = set()
        self.scalar_names: set[str] = set()
        self.loopvar_names: set[str] = set()
        self._refuse_reserved(fdef)
        reserved = {self.graph_name} | set(self.param_kinds)
        for node in ast.walk(fdef):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name) and self._is_alloc(node.value):
                self.table_names.add(node.targets[0].id)
        for node in ast.walk(fdef):
            if isinstance(node, ast.For):
                if isinstance(node.target, ast.Name):
                    self.loopvar_names.add(node.target.id)
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name) and t.id not in self.table_names:
                        self.scalar_names.add(t.id)
        for name in sorted((self.table_names | self.scalar_names | self.loopvar_names)
                           & reserved):
            node = next(n for n in ast.walk(fdef) if isinstance(n, ast.Name)
                        and n.id == name and isinstance(n.ctx, ast.Store))
            what = "the graph" if name == self.graph_name else "a parameter"
            self.error(node, f"'{name}' is {what} and cannot be assigned",
                       hint=f"parameters are read-only; assign to a new name such as "
                            f"'{name}2'")
        for a, b, what in ((self.table_names, self.scalar_names, "a scalar"),
                           (self.table_names, self.loopvar_names, "a loop variable"),
                           (self.scalar_names, self.loopvar_names, "a loop variable")):
            both = sorted(a & b)
            if both:
                node = next(n for n in ast.walk(fdef) if isinstance(n, ast.Name)
                            and n.id == both[0] and isinstance(n.ctx, ast.Store))
                self.error(node, f"'{both[0]}' is used both as "
                           f"{'a table' if a is self.table_names else 'a scalar'} and as "
                           f"{what}", hint="give each its own name")

    def _refuse_reserved(self, fdef: ast.FunctionDef) -> None:
        """Refuse a parameter, variable, table or loop variable that takes a name cosynth's
        IR or generated code uses (the C++ emitter prefixes user names, but the IR does not)."""
        for node in ast.walk(fdef):
            if isinstance(node, ast.arg):
                name = node.arg
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                name = node.id
            else:
                continue
            if name in _RESERVED:
                self.error(node, f"the name '{name}' is reserved: cosynth uses it for "
                           f"{_RESERVED[name]}", hint=f"rename it, e.g. '{name}_'")
            if "__" in name:
                self.error(node, f"the name '{name}' contains '__', which is reserved for the "
                           "names cosynth generates (such as 'total__part')",
                           hint=f"rename it, e.g. '{name.replace('__', '_')}'")

    def _is_alloc(self, node) -> bool:
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == getattr(self, "graph_name", None)
                and node.func.attr in ("node_array", "edge_array"))

    # ------------------------------------------------------------------ statements
    def block(self, stmts) -> list:
        out: list = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, node) -> list:
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is None:
            self._refuse_stmt(node)
        return method(node)

    def _refuse_stmt(self, node):
        kind = type(node).__name__
        hints = {
            "Break": ("'break' is outside the cosynth language",
                      "loop with 'while flag:' and clear the flag instead"),
            "Continue": ("'continue' is outside the cosynth language",
                         "put the rest of the loop body under an 'if'"),
            "FunctionDef": ("nested functions are outside the cosynth language",
                            "define helpers as kernels of their own or inline them"),
            "Import": ("imports inside a kernel are outside the language",
                       "import at module level"),
            "ImportFrom": ("imports inside a kernel are outside the language",
                           "import at module level"),
            "With": ("'with' is outside the cosynth language", "remove it"),
            "Try": ("'try' is outside the cosynth language",
                    "kernels cannot catch errors; check values with 'if'"),
            "Raise": ("'raise' is outside the cosynth language",
                      "check inputs before calling the kernel"),
            "Assert": ("'assert' is outside the cosynth language",
                       "check inputs before calling the kernel"),
            "Global": ("'global' is outside the cosynth language",
                       "pass values in as parameters and return results"),
            "Nonlocal": ("'nonlocal' is outside the cosynth language",
                         "pass values in as parameters and return results"),
            "Delete": ("'del' is outside the cosynth language", "remove it"),
            "Return": ("'return' is allowed only as the kernel's last statement",
                       "set a flag and let the loops finish, then return once at the end"),
            "Match": ("'match' is outside the cosynth language", "use if/else"),
        }
        msg, hint = hints.get(kind, (f"statement '{kind}' is outside the cosynth language",
                                     "use assignments, if/else, while and for loops"))
        self.error(node, msg, hint)

    def stmt_Pass(self, node) -> list:
        return []

    def stmt_Expr(self, node) -> list:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return []  # a string used as a comment
        if isinstance(node.value, ast.Call):
            self.expr(node.value)  # refuses print() and friends with their own message
        self.error(node, f"the expression '{ast.unparse(node.value)[:40]}' has no effect",
                   hint="assign its value to a variable or a table entry")

    def stmt_Assign(self, node: ast.Assign) -> list:
        if len(node.targets) != 1:
            self.error(node, "chained assignment 'a = b = ...' is outside the language",
                       hint="assign each name on its own line")
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in self.table_names:
            return [self._alloc(target, node.value)]
        if isinstance(target, ast.Tuple | ast.List):
            self.error(target, "tuple unpacking is outside the cosynth language",
                       hint="assign each value on its own line")
        return [self._write(target, self.expr(node.value), node)]

    def stmt_AnnAssign(self, node: ast.AnnAssign) -> list:
        """``x: float = v`` is ``x = v``: Python does not convert, and neither do we."""
        if node.value is None:
            self.error(node, "a declaration without a value is outside the language",
                       hint="give the variable its initial value")
        if not isinstance(node.target, ast.Name):
            self.error(node.target, "annotated assignment must assign a plain name")
        return [self._write(node.target, self.expr(node.value), node)]

    def stmt_AugAssign(self, node: ast.AugAssign) -> list:
        op = _BINOPS.get(type(node.op))
        target = node.target
        if isinstance(target, ast.Name) and target.id in self.table_names:
            self.error(target, f"'{target.id}' is a table; index it to update an entry",
                       hint=f"write '{target.id}[v] {op}= ...'")
        current = self._load_target(target)
        value = self.binop(op, current, self.expr(node.value), node)
        return [self._write(target, value, node)]

    def stmt_If(self, node: ast.If) -> list:
        cond = self._cond(node.test, "if")
        then = tuple(self.block(node.body))
        orelse = tuple(self.block(node.orelse))
        return [If(cond, then, orelse, loc=self.loc(node))]

    def stmt_While(self, node: ast.While) -> list:
        if node.orelse:
            self.error(node.orelse[0], "'while ... else' is outside the language",
                       hint="put the else-part after the loop")
        cond = self._cond(node.test, "while")
        body = tuple(self.block(node.body))
        return [Loop("while", None, body, cond=cond, loc=self.loc(node))]

    def stmt_For(self, node: ast.For) -> list:
        if node.orelse:
            self.error(node.orelse[0], "'for ... else' is outside the language",
                       hint="put the else-part after the loop")
        if not isinstance(node.target, ast.Name):
            self.error(node.target, "a for loop must bind a single name",
                       hint="write 'for v in g.nodes():' or 'for e in g.out_edges(v):'")
        var = node.target.id
        if var in self.loop_vars:
            self.error(node.target, f"loop variable '{var}' is already in use by an "
                       "enclosing loop", hint="give the inner loop variable another name")
        it = node.iter
        kind, of, start, stop, step = self._iteration(it)
        vtype = EDGE if kind in ("out_edges", "in_edges", "edges") else i64
        self.loop_vars[var] = vtype
        if kind == "nodes":
            self.node_loop_vars.add(var)
        try:
            body = tuple(self.block(node.body))
        finally:
            del self.loop_vars[var]
            self.node_loop_vars.discard(var)
        return [Loop(kind, var, body, of=of, start=start, stop=stop, step=step,
                     loc=self.loc(node))]

    def _iteration(self, it):
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and \
                self._global_is(it.func, range) and it.func.id not in self._locals():
            if it.keywords or not 1 <= len(it.args) <= 3:
                self.error(it, "range() takes one to three positional arguments")
            args = [self._int_expr(a, "range bound") for a in it.args]
            if len(args) == 1:
                args = [Const(0, i64, True)] + args
            if len(args) == 2:
                args.append(Const(1, i64, True))
            if isinstance(args[2], Const) and args[2].value == 0:
                self.error(it.args[2], "range() step must not be zero")
            return "range", None, args[0], args[1], args[2]
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and \
                isinstance(it.func.value, ast.Name) and it.func.value.id == self.graph_name:
            meth = it.func.attr
            if meth in ("nodes", "edges"):
                if it.args or it.keywords:
                    self.error(it, f"g.{meth}() takes no arguments")
                return meth, None, None, None, None
            if meth in ("out_edges", "in_edges"):
                if len(it.args) != 1 or it.keywords:
                    self.error(it, f"g.{meth}(v) takes one vertex")
                return meth, self._node_expr(it.args[0]), None, None, None
            if meth in ("neighbors", "successors", "predecessors"):
                self.error(it, f"g.{meth}() is not part of the cosynth language",
                           hint="iterate 'for e in g.out_edges(v):' and use e.dst "
                                "(or g.in_edges(v) and e.src)")
        self.error(it, f"cannot iterate over '{ast.unparse(it)[:40]}'",
                   hint=f"a for loop iterates over {_ITERABLES}")

    def _locals(self) -> set[str]:
        return self.table_names | self.scalar_names | self.loopvar_names | set(self.param_kinds)

    def _alloc(self, target: ast.Name, value: ast.AST) -> Alloc:
        if not self._is_alloc(value):
            self.error(value, f"'{target.id}' is a table; it can only be created with "
                       "g.node_array(dtype, fill) or g.edge_array(dtype, fill)",
                       hint="copy tables entry by entry in a loop")
        space = "node" if value.func.attr == "node_array" else "edge"
        args = list(value.args)
        kw = {k.arg: k.value for k in value.keywords}
        if set(kw) - {"dtype", "fill"} or len(args) > 2:
            self.error(value, f"g.{value.func.attr}(dtype, fill) takes a dtype and a fill")
        dtype_node = args[0] if args else kw.get("dtype")
        fill_node = args[1] if len(args) > 1 else kw.get("fill")
        if dtype_node is None:
            self.error(value, f"g.{value.func.attr}() needs a dtype",
                       hint=f"write g.{value.func.attr}(cs.f64, 0.0)")
        dtype = self._resolve_global(dtype_node, "dtype")
        if dtype in (int, float, bool):
            dtype = {int: i64, float: f64, bool: boolean}[dtype]
        if not isinstance(dtype, DType) or dtype.kind == "edge":
            self.error(dtype_node, f"'{ast.unparse(dtype_node)}' is not a cosynth dtype",
                       hint="use cs.i32, cs.i64, cs.f32, cs.f64 or cs.boolean")
        fill = self.expr(fill_node) if fill_node is not None else Const(
            False if dtype.is_bool else 0, dtype)
        fill = self._check_fill(fill, dtype, fill_node or value)
        name = target.id
        old = self.tables.get(name)
        if old is not None and (old.space, old.dtype) != (space, dtype):
            self.error(value, f"table '{name}' was created as a {old.space} {old.dtype} array "
                       f"at line {old.loc.line}; here it is a {space} {dtype} array",
                       hint="use a different name for the second table")
        if old is None:
            self.tables[name] = Table(name, space, dtype, "local", loc=self.loc(target))
        return Alloc(name, fill, loc=self.loc(target))

    def _check_fill(self, fill: Expr, dtype: DType, node) -> Expr:
        if isinstance(fill, Const) and fill.dtype.is_float and dtype.is_int:
            if fill.value in (math.inf, -math.inf):
                return Const(dtype.max if fill.value > 0 else dtype.min, dtype)
        if not dt.can_store(fill.dtype, dtype):
            self.error(node, f"a {dtype} table cannot be filled with a {fill.dtype} value",
                       hint=_store_hint(fill.dtype, dtype))
        if isinstance(fill, Const):
            try:
                return Const(dt.fill_value(dtype, fill.value), dtype)
            except TypeError as exc:
                self.error(node, str(exc))
        return fill

    def _write(self, target, value: Expr, node) -> Stmt:
        if isinstance(target, ast.Name):
            name = target.id
            if name in self.loopvar_names:
                self.error(target, f"loop variable '{name}' cannot be assigned",
                           hint="assign to a new name")
            if value.dtype == EDGE:
                self.error(node.value if hasattr(node, "value") else target,
                           "an edge cannot be stored in a variable",
                           hint="store the field you need: e.dst, e.src, e.weight or e.id")
            d = value.dtype
            self.seen_weak[name] = self.seen_weak.get(name, True) and value.weak
            old = self.seen_scalars.get(name)
            self.seen_scalars[name] = d if old is None else self._join(name, old, d, target)
            self.scalar_locs.setdefault(name, self.loc(target))
            return Assign(name, value, loc=self.loc(target))
        if isinstance(target, ast.Subscript):
            table, index = self._subscript(target, store=True)
            t = self.tables[table]
            if not dt.can_store(value.dtype, t.dtype) or (
                    isinstance(value, Const) and value.weak and value.dtype.is_float
                    and t.dtype.is_int):
                self.error(target, f"cannot store a {value.dtype} value into '{table}', a "
                           f"{t.dtype} table", hint=_store_hint(value.dtype, t.dtype))
            return Store(table, index, value, loc=self.loc(target))
        if isinstance(target, ast.Attribute):
            self.error(target, f"cannot assign to '{ast.unparse(target)}'",
                       hint="edges and the graph are read-only; store into a table")
        self.error(target, f"cannot assign to '{ast.unparse(target)[:40]}'",
                   hint="assign to a name or a table entry 't[i]'")

    def _join(self, name: str, old: DType, new: DType, node) -> DType:
        if old == new:
            return old
        if old.is_bool != new.is_bool:
            msg = (f"'{name}' holds a {old} value in one place and a {new} value in another")
            hint = "use separate variables, or compare explicitly (x != 0)"
            if node is None:
                raise KernelError(msg, loc=self.scalar_locs.get(name), hint=hint)
            self.error(node, msg, hint)
        return dt.promote(old, new)

    def _load_target(self, target) -> Expr:
        if isinstance(target, ast.Name):
            return self.expr(target)
        if isinstance(target, ast.Subscript):
            table, index = self._subscript(target, store=True)
            return Load(table, index, self.tables[table].dtype, loc=self.loc(target))
        self.error(target, f"cannot update '{ast.unparse(target)[:40]}'",
                   hint="update a name or a table entry 't[i]'")

    def _returns(self, node: ast.Return) -> list:
        if node.value is None:
            self.error(node, "the kernel returns nothing",
                       hint="return the table or scalar the kernel computes")
        items = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
        out = []
        for item in items:
            if isinstance(item, ast.Name) and item.id in self.table_names:
                t = self.tables.get(item.id)
                if t is None:
                    self.error(item, f"table '{item.id}' is returned but never created")
                out.append(TableRef(item.id, t.dtype, loc=self.loc(item)))
            elif isinstance(item, ast.Name) and item.id in self.param_kinds and \
                    self.param_kinds[item.id][0] == "array":
                self.error(item, f"'{item.id}' is an input array; returning it is pointless",
                           hint="return the tables the kernel computes")
            else:
                out.append(self.expr(item))
        self._check_return_annotation(node, items, out)
        return out

    def _check_return_annotation(self, node: ast.Return, items: list, out: list) -> None:
        """Refuse a return annotation that the returned values contradict.

        ``cs.NodeArray[d]`` / ``cs.EdgeArray[d]`` need a node / edge table of dtype ``d``
        (bare ``cs.NodeArray`` / ``cs.EdgeArray``: any dtype); ``int``, ``float``, ``bool``
        and ``cs.<dtype>`` need a scalar of that kind (dtype); ``tuple[...]`` checks each
        item.  Annotations outside this list (``tuple``, strings, NumPy types) are not
        checked."""
        ann_node = self.fdef.returns
        if ann_node is None:
            return
        ann = self._eval_return_annotation(ann_node)
        if ann is None:
            return
        if isinstance(ann, tuple):
            if len(ann) != len(out):
                self.error(node, f"the kernel returns {len(out)} value(s) but its annotation "
                           f"'{ast.unparse(ann_node)}' declares {len(ann)}",
                           hint="make the return annotation match the returned values")
            pairs = list(zip(ann, items, out))
        elif len(out) != 1:
            self.error(node, f"the kernel returns {len(out)} values but its annotation "
                       f"'{ast.unparse(ann_node)}' declares one",
                       hint="annotate it '-> tuple[...]' with one type per value")
        else:
            pairs = [(ann, items[0], out[0])]
        for want, item, got in pairs:
            problem = _return_mismatch(want, got, self.tables)
            if problem is not None:
                self.error(item, f"'{ast.unparse(item)[:40]}' is {problem}, but the return "
                           f"annotation '{ast.unparse(ann_node)}' declares "
                           f"{_describe_return(want)}",
                           hint="make the return annotation match the returned value (or "
                                "convert the value)")

    def _eval_return_annotation(self, node):
        """The annotation as a checkable spec: a DType kind marker, an array spec, a tuple
        of those, or None when cosynth does not check it."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return None
        try:
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) and \
                    self._resolve_global(node.value, what="annotation") is tuple:
                items = node.slice.elts
                if any(isinstance(x, ast.Constant) and x.value is Ellipsis for x in items):
                    return None
                specs = tuple(_return_spec(self._resolve_global(x, what="annotation"))
                              for x in items)
                return specs if all(x is not None for x in specs) else None
            obj = self._resolve_global(node, what="annotation")
        except KernelError:
            return None
        return _return_spec(obj)

    # ------------------------------------------------------------------ expressions
    def expr(self, node) -> Expr:
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            self._refuse_expr(node)
        return method(node)

    def _refuse_expr(self, node):
        kind = type(node).__name__
        text = ast.unparse(node)[:40]
        hints = {
            "List": "lists are outside the language; use g.node_array(dtype, fill)",
            "Tuple": "tuples are allowed only in the final return",
            "Dict": "dicts are outside the language; use g.node_array(dtype, fill)",
            "Set": "sets are outside the language; use a cs.boolean node array",
            "ListComp": "comprehensions are outside the language; write a for loop",
            "SetComp": "comprehensions are outside the language; write a for loop",
            "DictComp": "comprehensions are outside the language; write a for loop",
            "GeneratorExp": "generator expressions are outside the language; write a loop",
            "Lambda": "lambdas are outside the language; inline the expression",
            "JoinedStr": "strings are outside the language",
            "NamedExpr": "':=' is outside the language; assign on its own line",
            "Await": "'await' is outside the language",
            "Yield": "'yield' is outside the language",
            "Starred": "'*' unpacking is outside the language",
            "Slice": "slices are outside the language; loop over the entries",
        }
        self.error(node, f"'{text}' is outside the cosynth language",
                   hint=hints.get(kind, "use arithmetic, comparisons, table entries and "
                                        "the allowed calls: " + _ALLOWED_CALLS))

    def expr_Constant(self, node: ast.Constant) -> Expr:
        v = node.value
        if isinstance(v, bool):
            return Const(v, boolean, loc=self.loc(node))
        if isinstance(v, int):
            return Const(v, i64, True, loc=self.loc(node))
        if isinstance(v, float):
            return Const(v, f64, True, loc=self.loc(node))
        self._refuse_expr(node)

    def expr_Name(self, node: ast.Name) -> Expr:
        name = node.id
        loc = self.loc(node)
        if name in self.loop_vars:
            return Var(name, self.loop_vars[name], weak=True, loc=loc)
        if name in self.loopvar_names:
            self.error(node, f"loop variable '{name}' is used outside its loop",
                       hint="copy the value you need into a scalar inside the loop")
        if name in self.param_kinds:
            kind, dtype = self.param_kinds[name]
            if kind == "array":
                self.error(node, f"'{name}' is a node array; index it with a vertex",
                           hint=f"write {name}[v]")
            return Var(name, dtype, weak=True, loc=loc)
        if name in self.table_names:
            self.error(node, f"'{name}' is a table; index it with a vertex or edge id",
                       hint=f"write {name}[v] (or {name}[e.id] for an edge array)")
        if name == self.graph_name:
            self.error(node, f"the graph '{name}' can only be used through its methods",
                       hint=f"call {name}.nodes(), {name}.out_edges(v), ...")
        if name in self.scalar_names:
            d = self.scalars.get(name) or self.seen_scalars.get(name)
            if d is None:
                self.error(node, f"'{name}' is used before it is assigned",
                           hint=f"give '{name}' a value before this line")
            weak = self.weak_scalars.get(name, self.seen_weak.get(name, True))
            return Var(name, d, weak=weak, loc=loc)
        return self._constant(node, self._resolve_global(node))

    def _constant(self, node, v) -> Expr:
        loc = self.loc(node)
        if isinstance(v, bool):
            return Const(v, boolean, loc=loc)
        if isinstance(v, int):
            return Const(v, i64, True, loc=loc)
        if isinstance(v, float):
            return Const(v, f64, True, loc=loc)
        if isinstance(v, np.generic):
            d = dt.from_numpy(v.dtype) if v.dtype.kind in "biuf" else None
            if d is not None:
                return Const(v.item(), d, loc=loc)
        self.error(node, f"'{ast.unparse(node)}' is a {type(v).__name__}, which a kernel "
                   "cannot use as a value", hint="kernels use numbers, bools, tables and "
                   "the graph; pass other data as a parameter")

    def expr_Attribute(self, node: ast.Attribute) -> Expr:
        base = node.value
        if isinstance(base, ast.Name) and base.id in self.loop_vars and \
                self.loop_vars[base.id] == EDGE:
            loc = self.loc(node)
            if node.attr in ("src", "dst", "id"):
                return EdgeAttr(base.id, node.attr, loc=loc)
            if node.attr == "weight":
                self.used_weight = True
                return Load("weight", EdgeAttr(base.id, "id", loc=loc), self.weight_dtype,
                            loc=loc)
            self.error(node, f"an edge has no field '{node.attr}'",
                       hint="edges have .src, .dst, .weight and .id")
        if isinstance(base, ast.Name) and base.id in self.loop_vars:
            self.error(node, f"'{base.id}' is a vertex (an integer) and has no fields",
                       hint="vertices are plain integers; use tables to hold their data")
        if isinstance(base, ast.Name) and base.id == self.graph_name:
            self.error(node, f"'{ast.unparse(node)}' must be called",
                       hint=f"write {ast.unparse(node)}(...)")
        if isinstance(base, ast.Name) and base.id in self._locals():
            self.error(node, f"'{base.id}' has no attribute '{node.attr}'")
        return self._constant(node, self._resolve_global(node))

    def expr_Subscript(self, node: ast.Subscript) -> Expr:
        table, index = self._subscript(node, store=False)
        t = self.tables[table]
        return Load(table, index, t.dtype, loc=self.loc(node))

    def _subscript(self, node: ast.Subscript, store: bool):
        base = node.value
        if not isinstance(base, ast.Name):
            self.error(node, f"cannot index '{ast.unparse(base)[:40]}'",
                       hint="index a table by name: t[v]")
        name = base.id
        if name in self.param_kinds and self.param_kinds[name][0] == "array":
            if store:
                self.error(node, f"'{name}' is an input array and is read-only",
                           hint=f"copy it into a table first: t = g.node_array(...); "
                                f"t[v] = {name}[v]")
            if name not in self.tables:
                self.tables[name] = Table(name, "node", self.param_kinds[name][1], "input",
                                          loc=self.loc(base))
        elif name not in self.table_names:
            if name in self.scalar_names or name in self.loop_vars or name in self.param_kinds:
                self.error(node, f"'{name}' is a scalar and cannot be indexed")
            self.error(node, f"'{name}' is not a table of this kernel",
                       hint="create it with g.node_array(dtype, fill) before use")
        elif name not in self.tables:
            self.error(node, f"table '{name}' is used before it is created",
                       hint=f"create it with {name} = g.node_array(dtype, fill) first")
        if isinstance(node.slice, ast.Slice):
            self.error(node, "slices are outside the cosynth language",
                       hint="loop over the entries")
        if isinstance(node.slice, ast.Name) and node.slice.id in self.loop_vars and \
                self.loop_vars[node.slice.id] == EDGE:
            self.error(node.slice, "index edge arrays with the edge id, not the edge",
                       hint=f"write {name}[{node.slice.id}.id]")
        t = self.tables[name]
        if t.space == "node":
            index = self._node_expr(node.slice)
        else:
            index = self._int_expr(node.slice, "edge index")
        return name, index

    def _node_expr(self, node) -> Expr:
        e = self._int_expr(node, "vertex")
        if isinstance(e, Var) and e.name in self.param_kinds:
            self.node_params.add(e.name)
        return e

    def _int_expr(self, node, what: str) -> Expr:
        e = self.expr(node)
        if e.dtype == EDGE:
            self.error(node, f"an edge is not a {what}",
                       hint="use e.src, e.dst or e.id")
        if not e.dtype.is_int:
            self.error(node, f"a {what} must be an integer, but '{ast.unparse(node)[:40]}' "
                       f"is {e.dtype}", hint="convert with int(...)")
        return e

    def expr_BinOp(self, node: ast.BinOp) -> Expr:
        op = _BINOPS.get(type(node.op))
        if op is None:
            self.error(node, f"operator '{type(node.op).__name__}' is outside the language")
        return self.binop(op, self.expr(node.left), self.expr(node.right), node)

    def binop(self, op: str, a: Expr, b: Expr, node) -> Expr:
        loc = self.loc(node)
        for x in (a, b):
            if x.dtype == EDGE:
                self.error(node, "edges cannot be used in arithmetic",
                           hint="use e.src, e.dst, e.weight or e.id")
        aw, bw = _weak(a), _weak(b)
        if op in ("&", "|", "^"):
            if a.dtype.is_bool and b.dtype.is_bool:
                return Bin(op, a, b, boolean, loc=loc)
            if a.dtype.is_int and b.dtype.is_int:
                return Bin(op, a, b, dt.promote(a.dtype, b.dtype, aw, bw), loc=loc)
            self.error(node, f"'{op}' needs two ints or two bools, not {a.dtype} and {b.dtype}")
        if op in ("<<", ">>"):
            if a.dtype.is_int and b.dtype.is_int:
                return Bin(op, a, b, a.dtype if not aw else dt.promote(a.dtype, b.dtype, aw, bw),
                           loc=loc)
            self.error(node, f"'{op}' needs two ints, not {a.dtype} and {b.dtype}")
        for x in (a, b):
            if x.dtype.is_bool:
                self.error(node, f"arithmetic '{op}' on a bool value",
                           hint="convert with int(...) if you mean 0/1")
        d = dt.promote(a.dtype, b.dtype, aw, bw)
        if op == "/" and d.is_int:
            d = f64
        if aw and bw and isinstance(a, Const) and isinstance(b, Const):
            folded = ops.fold(op, a.value, b.value)
            if folded is not None:
                return Const(folded, f64 if isinstance(folded, float) else i64, True, loc=loc)
        return Bin(op, a, b, d, loc=loc)

    def expr_UnaryOp(self, node: ast.UnaryOp) -> Expr:
        a = self.expr(node.operand)
        loc = self.loc(node)
        if a.dtype == EDGE:
            self.error(node, "edges cannot be used in arithmetic")
        if isinstance(node.op, ast.Not):
            if not a.dtype.is_bool:
                self.error(node, f"'not' needs a bool, but the operand is {a.dtype}",
                           hint="compare explicitly, e.g. 'x == 0'")
            return Un("not", a, boolean, loc=loc)
        if isinstance(node.op, ast.UAdd):
            return a
        if a.dtype.is_bool:
            self.error(node, "arithmetic on a bool value", hint="convert with int(...)")
        if isinstance(node.op, ast.USub):
            if isinstance(a, Const) and a.weak:
                return Const(-a.value, a.dtype, True, loc=loc)
            return Un("-", a, a.dtype, loc=loc)
        if not a.dtype.is_int:
            self.error(node, "'~' needs an int")
        return Un("~", a, a.dtype, loc=loc)

    def expr_BoolOp(self, node: ast.BoolOp) -> Expr:
        op = "and" if isinstance(node.op, ast.And) else "or"
        vals = [self._cond(v, op) for v in node.values]
        out = vals[0]
        for v in vals[1:]:
            out = Bin(op, out, v, boolean, loc=self.loc(node))
        return out

    def expr_Compare(self, node: ast.Compare) -> Expr:
        left = self.expr(node.left)
        out = None
        for opnode, rnode in zip(node.ops, node.comparators):
            op = _CMPOPS.get(type(opnode))
            if op is None:
                self.error(node, f"comparison '{type(opnode).__name__}' is outside the "
                           "language", hint="use <, <=, >, >=, == or !=")
            right = self.expr(rnode)
            for x in (left, right):
                if x.dtype == EDGE:
                    self.error(node, "edges cannot be compared",
                               hint="compare e.src, e.dst or e.id")
            if left.dtype.is_bool != right.dtype.is_bool or \
                    (left.dtype.is_bool and op not in ("==", "!=")):
                self.error(node, f"cannot compare {left.dtype} with {right.dtype} using '{op}'")
            for x, y in ((left, right), (right, left)):
                if x.dtype.is_int and isinstance(y, Const) and y.dtype.is_float and \
                        y.value in (math.inf, -math.inf):
                    self.error(node, f"comparing the integer '{ast.unparse(node)[:40]}' with "
                               "an infinity is decided by the types alone (an integer is "
                               "never infinite; a table filled with cs.INF holds its "
                               "type's maximum)",
                               hint=f"compare with cs.{x.dtype}.max (or .min) instead")
            c = Bin(op, left, right, boolean, loc=self.loc(node))
            out = c if out is None else Bin("and", out, c, boolean, loc=self.loc(node))
            left = right
        return out

    def expr_IfExp(self, node: ast.IfExp) -> Expr:
        c = self._cond(node.test, "conditional expression")
        a, b = self.expr(node.body), self.expr(node.orelse)
        if a.dtype.is_bool != b.dtype.is_bool:
            self.error(node, f"the two branches have types {a.dtype} and {b.dtype}")
        d = a.dtype if a.dtype.is_bool else dt.promote(a.dtype, b.dtype, _weak(a),
                                                       _weak(b))
        return Select(c, a, b, d, loc=self.loc(node))

    def expr_Call(self, node: ast.Call) -> Expr:
        f = node.func
        loc = self.loc(node)
        if node.keywords:
            self.error(node, f"keyword arguments are not allowed in '{ast.unparse(f)}(...)'")
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                f.value.id == self.graph_name:
            return self._graph_call(node, f.attr)
        if isinstance(f, ast.Name) and f.id in self._locals():
            self.error(node, f"'{f.id}' is not a function")
        try:
            fn = self._resolve_global(f, "function")
        except KernelError:
            fn = None
        if fn is min or fn is max:
            if len(node.args) < 2:
                self.error(node, f"{fn.__name__}() needs at least two values",
                           hint="to reduce over a loop, write "
                                f"'x = {fn.__name__}(x, value)' inside the loop")
            args = [self.expr(a) for a in node.args]
            out = args[0]
            for a in args[1:]:
                if out.dtype.is_bool or a.dtype.is_bool:
                    self.error(node, f"{fn.__name__}() of bool values",
                               hint="use 'or' / 'and'")
                if a.dtype == EDGE or out.dtype == EDGE:
                    self.error(node, f"{fn.__name__}() of edges")
                out = Bin(fn.__name__, out, a, dt.promote(out.dtype, a.dtype, _weak(out),
                                                          _weak(a)), loc=loc)
            return out
        if fn is abs:
            a = self._one_arg(node, "abs")
            if not (a.dtype.is_int or a.dtype.is_float):
                self.error(node, f"abs() of a {a.dtype}")
            return Un("abs", a, a.dtype, loc=loc)
        if fn in (int, float, bool) or isinstance(fn, DType):
            target = {int: i64, float: f64, bool: boolean}.get(fn, fn)
            if getattr(target, "kind", None) == "edge":
                self._refuse_call(node)
            a = self._one_arg(node, ast.unparse(f))
            if a.dtype == EDGE:
                self.error(node, "an edge cannot be converted", hint="use e.src, e.dst, e.id")
            if target.is_bool:
                if a.dtype.is_bool:
                    return a
                self.error(node, "bool(x) of a number is ambiguous",
                           hint="compare explicitly: 'x != 0'")
            if a.dtype.is_bool:
                self.error(node, f"converting a bool with {ast.unparse(f)}() is outside the "
                           "language", hint="use '1 if flag else 0'")
            python_cast = fn in (int, float)
            if isinstance(a, Const) and a.weak and target.kind == a.dtype.kind:
                return Const(a.value, target, python_cast, loc=loc)
            return Cast(a, target, python_cast, loc=loc)
        if fn is range:
            self.error(node, "range() is allowed only as a for-loop iterable",
                       hint="write 'for i in range(n):'")
        self._refuse_call(node)

    def _refuse_call(self, node):
        self.error(node, f"call to '{ast.unparse(node.func)}' is outside the cosynth language",
                   hint=f"kernels may call {_ALLOWED_CALLS}; compute anything else outside the "
                        "kernel and pass it as a parameter")

    def _one_arg(self, node, name: str) -> Expr:
        if len(node.args) != 1:
            self.error(node, f"{name}() takes exactly one argument")
        return self.expr(node.args[0])

    def _graph_call(self, node: ast.Call, meth: str) -> Expr:
        loc = self.loc(node)
        if meth in GRAPH_FNS:
            want = GRAPH_FNS[meth]
            if len(node.args) != want:
                self.error(node, f"g.{meth}() takes {want} argument{'s' * (want != 1)}")
            args = tuple(self._node_expr(a) for a in node.args)
            return GraphQuery(meth, args, loc=loc)
        if meth in ("node_array", "edge_array"):
            self.error(node, f"g.{meth}(...) must be assigned directly to a table name",
                       hint=f"write 't = g.{meth}(cs.f64, 0.0)' on its own line")
        if meth in ("nodes", "edges", "out_edges", "in_edges"):
            self.error(node, f"g.{meth}(...) can only be iterated by a for loop",
                       hint=f"write 'for x in g.{meth}(...):'")
        self.error(node, f"the graph has no method '{meth}' in the cosynth language",
                   hint="graph methods: nodes, edges, out_edges, in_edges, out_degree, "
                        "in_degree, num_nodes, num_edges, has_edge, node_array, edge_array")

    def _cond(self, node, what: str) -> Expr:
        c = self.expr(node)
        if not c.dtype.is_bool:
            self.error(node, f"the condition of '{what}' must be a bool, but "
                       f"'{ast.unparse(node)[:40]}' is {c.dtype}",
                       hint="compare explicitly, e.g. 'x != 0'")
        return c

    def _global_is(self, node: ast.Name, obj) -> bool:
        try:
            return self._resolve_global(node) is obj
        except KernelError:
            return False


# ---------------------------------------------------------------------------- helpers
def _allow_depth(fdef: ast.FunctionDef, file: str, line_offset: int, col_offset: int) -> None:
    """Make room on the Python stack for the kernel's deepest nesting, or refuse it.

    The limit is raised for the whole process and never lowered: the IR traced here lives
    on, and every later stage (scopes, rewrites, planner, interpreter, emitters) walks it
    recursively.  The raise is bounded by ``_MAX_DEPTH``; deeper kernels are refused with
    the line of their deepest expression.
    """
    depth, where = 0, fdef
    stack = [(fdef, 1, fdef)]  # (node, its depth, its nearest node with a line)
    while stack:  # iteratively: measuring the depth must not itself recurse
        n, d, located = stack.pop()
        located = n if hasattr(n, "lineno") else located
        if d > depth:
            depth, where = d, located
        stack.extend((c, d + 1, located) for c in ast.iter_child_nodes(n))
    if depth > _MAX_DEPTH:
        loc = Loc(file, where.lineno + line_offset, where.col_offset + col_offset)
        raise KernelError(f"this expression is nested {depth} levels deep; cosynth handles "
                          f"at most {_MAX_DEPTH}", loc=loc,
                          hint="split it into several assignments (t = a + b + ...; "
                               "x = t + c + ...)")
    need = _SPARE_FRAMES + _FRAMES_PER_LEVEL * depth
    if sys.getrecursionlimit() < need:
        sys.setrecursionlimit(need)


@dataclass(frozen=True)
class _ReturnSpec:
    """What a return annotation asks for: ``space`` is node/edge/scalar; ``dtype`` an
    exact dtype or None; ``kind`` (int/float/bool) for the Python scalar types."""

    space: str
    dtype: DType | None = None
    kind: str | None = None


def _return_spec(obj) -> _ReturnSpec | None:
    if obj is int or obj is float or obj is bool:
        return _ReturnSpec("scalar", kind=obj.__name__)
    if isinstance(obj, DType) and obj.kind != "edge":
        return _ReturnSpec("scalar", dtype=obj)
    if obj is NodeArray:
        return _ReturnSpec("node")
    if isinstance(obj, _NodeArrayAnn):
        return _ReturnSpec("node", obj.dtype)
    if obj is EdgeArray:
        return _ReturnSpec("edge")
    space = getattr(obj, "space", None)
    if space in ("node", "edge") and isinstance(getattr(obj, "dtype", None), DType):
        return _ReturnSpec(space, obj.dtype)
    return None


def _return_mismatch(want: _ReturnSpec, got: Expr, tables: dict) -> str | None:
    """Why ``got`` does not satisfy ``want`` (a phrase), or None."""
    if isinstance(got, TableRef):
        t = tables[got.table]
        what = f"a {t.space} table of {t.dtype}"
        if want.space != t.space:
            return what
        if want.dtype is not None and want.dtype != t.dtype:
            return what
        return None
    what = f"a {got.dtype} scalar"
    if want.space != "scalar":
        return what
    if want.dtype is not None and want.dtype != got.dtype:
        return what
    if want.kind == "int" and not got.dtype.is_int or \
            want.kind == "float" and not got.dtype.is_float or \
            want.kind == "bool" and not got.dtype.is_bool:
        return what
    return None


def _describe_return(want: _ReturnSpec) -> str:
    if want.space == "scalar":
        return f"a {want.dtype or want.kind} scalar"
    return f"a {want.space} table" + (f" of {want.dtype}" if want.dtype else "")


def _weak(e: Expr) -> bool:
    return e.weak


def _with_node(p: Param) -> Param:
    return replace(p, node=True)


def _store_hint(value: DType, table: DType) -> str:
    if value.is_float and table.is_int:
        return "convert explicitly with int(...), or make the table a float type"
    if table.is_bool:
        return "store True/False or a comparison"
    return f"make the table {value}, or convert the value with cs.{table}(...)"
