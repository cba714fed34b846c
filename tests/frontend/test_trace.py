"""Tracing: the language surface, type inference, and refusals with file:line:col."""

from __future__ import annotations

import numpy as np
import pytest

import cosynth as cs
from cosynth.errors import KernelError
from cosynth.ir.printer import print_kernel
from tests.helpers import kernel_from_source, same


def ir_text(tmp_path, src):
    k, _ = kernel_from_source(tmp_path, src)
    return print_kernel(k.ir)


def refuse(tmp_path, src, message, line, col=None, hint=None):
    """Tracing ``src`` fails with ``message``, pointing at ``line`` (1 = first line of src)."""
    k, path = kernel_from_source(tmp_path, src)
    with pytest.raises(KernelError) as info:
        _ = k.ir
    err = info.value
    assert message in err.message, err.format()
    assert err.loc.file == path
    # line numbers in the file are shifted by the 'import cosynth as cs' line we add
    assert err.loc.line == line + 1, err.format()
    if col is not None:
        assert err.loc.col + 1 == col, err.format()
    if hint is not None:
        assert hint in (err.hint or ""), err.format()
    text = err.format()
    assert text.startswith(f"{path}:{line + 1}:")
    return err


def test_every_language_feature_traces_and_matches_plain_python(tmp_path):
    k, _ = kernel_from_source(tmp_path, '''
        LIMIT = 3

        @cs.kernel
        def everything(g: cs.Graph, s: int, init: cs.NodeArray[cs.f64], x: float = 0.5,
                       flag: bool = True) -> tuple:
            """docstring is allowed"""
            a = g.node_array(cs.i32, 7)
            b = g.edge_array(cs.f32, 1.5)
            c = g.node_array(cs.boolean, False)
            d = g.node_array(cs.f64, cs.INF)
            total = 0
            fsum = 0.0
            for v in g.nodes():
                a[v] = a[v] + g.out_degree(v) - g.in_degree(v) * 2
                c[v] = v % 2 == 0 or not flag
                d[v] = init[v] * x if v != s else -abs(init[v])
                total += v // 2
                fsum += float(v) / 3
            a[s] = a[s] + 1
            for e in g.edges():
                b[e.id] = b[e.id] * cs.f32(e.weight) + e.src - e.dst
            for v in g.nodes():
                for e in g.in_edges(v):
                    if g.has_edge(e.dst, e.src):
                        total += 1
                    else:
                        total -= 1
            for i in range(LIMIT):
                total = max(total, i, 2) + min(i, 1)
            for i in range(1, 10, 4):
                total = total + (i << 1) - (i >> 1) + (i & 3) + (i | 1) + (i ^ 5) + ~i
            y: float = 2
            y = y ** 2 + 7 % 3 + int(2.9) + int(-2.9)
            z = 1 if total > 0 else 2
            n = g.num_nodes() + g.num_edges() * 0
            pos = 0 < n <= 100
            return a, b, c, d, total, fsum, y, z, pos
    ''')
    ir = k.ir
    assert {p.name: (p.kind, p.dtype.name) for p in ir.params} == {
        "s": ("scalar", "i64"), "x": ("scalar", "f64"), "flag": ("scalar", "bool"),
        "init": ("array", "f64")}
    assert ir.param("s").node and not ir.param("x").node
    g = cs.Graph.kronecker(5, seed=2)
    init = np.linspace(-1, 1, g.n)
    for s in (0, 3):
        plain = k(g, s, init)
        got = k.interpret(g, s, init)
        assert same(plain[:4], got[:4])
        assert list(plain[4:]) == list(got[4:])
    tables = {t.name: (t.space, t.dtype.name) for t in ir.tables}
    assert tables["a"] == ("node", "i32") and tables["b"] == ("edge", "f32")
    assert tables["init"] == ("node", "f64")
    # 'y: float = 2' holds a Python int, as in Python (annotations do not convert)
    assert tables["y"] == ("scalar", "i64") and tables["total"] == ("scalar", "i64")


def test_scalar_types_join_across_assignments(tmp_path):
    text = ir_text(tmp_path, '''
        @cs.kernel
        def widen(g: cs.Graph) -> float:
            acc = 0
            for v in g.nodes():
                acc += 0.5
            return acc
    ''')
    assert "acc: scalar f64" in text


def test_private_webs_reusing_a_name_are_separate(tmp_path):
    text = ir_text(tmp_path, '''
        @cs.kernel
        def webs(g: cs.Graph) -> cs.NodeArray:
            out = g.node_array(cs.f64, 0.0)
            t = 1.0
            for v in g.nodes():
                t2 = out[v] * 2.0
                out[v] = t2
            for v in g.nodes():
                t2 = out[v] + t
                out[v] = t2
            return out
    ''')
    assert text.count("private t2: f64") == 2
    assert "t: scalar f64" in text


def test_private_local_renamed_when_name_is_also_shared(tmp_path):
    text = ir_text(tmp_path, '''
        @cs.kernel
        def clash(g: cs.Graph) -> int:
            x = 0
            out = g.node_array(cs.i64, 0)
            for v in g.nodes():
                x = v * 2
                out[v] = x
            x = 5
            return x
    ''')
    assert "x: scalar i64" in text and "private x_1: i64" in text


def test_value_read_after_loop_is_shared(tmp_path):
    text = ir_text(tmp_path, '''
        @cs.kernel
        def last(g: cs.Graph) -> int:
            seen = -1
            for v in g.nodes():
                seen = v
            return seen
    ''')
    assert "seen: scalar i64" in text and "private" not in text


@pytest.mark.parametrize("src,msg,line,hint", [
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         x = 0
         for v in g.nodes():
             print(v)
         return x
     ''', "call to 'print' is outside the cosynth language", 5, "pass it as a parameter"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         x = 0
         while True:
             break
         return x
     ''', "'break' is outside", 5, "flag"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         xs = [1, 2]
         return 0
     ''', "is outside the cosynth language", 3, "g.node_array"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         x = 0
         for u in g.neighbors(0):
             x += 1
         return x
     ''', "not part of the cosynth language", 4, "g.out_edges"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         x = 0
         for v in [1, 2]:
             x += v
         return x
     ''', "cannot iterate over", 4, "g.nodes()"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         for v in g.nodes():
             return v
         return 0
     ''', "allowed only as the kernel's last statement", 4, "flag"),
    ('''
     @cs.kernel
     def k(g: cs.Graph):
         x = 1
     ''', "must end with a return", 3, None),
    ('''
     @cs.kernel
     def k(g: cs.Graph, s: int) -> int:
         s = s + 1
         return s
     ''', "cannot be assigned", 3, "read-only"),
    ('''
     @cs.kernel
     def k(g: cs.Graph, n) -> int:
         return n
     ''', "needs a type", 2, "annotate"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         try:
             x = 1
         except Exception:
             x = 2
         return x
     ''', "'try' is outside", 3, None),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         a, b = 1, 2
         return a
     ''', "tuple unpacking", 3, "own line"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         x = y + 1
         return x
     ''', "name 'y' is not defined", 3, None),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         total = 0
         for v in g.nodes():
             t = v
         total = t
         return total
     ''', "may be used before it is assigned", 6, "zero times"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> cs.NodeArray:
         d = g.node_array(cs.f64, 0.0)
         for e in g.edges():
             d[e] = 1.0
         return d
     ''', "index edge arrays with the edge id", 5, "e.id"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         x = 0
         for v in g.nodes():
             for v in g.nodes():
                 x += v
         return x
     ''', "already in use", 5, None),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         x = 3
         while x:
             x -= 1
         return x
     ''', "must be a bool", 4, "x != 0"),
    ('''
     @cs.kernel
     def k(g: cs.Graph, p: cs.NodeArray[cs.f64]) -> int:
         for v in g.nodes():
             p[v] = 0.0
         return 0
     ''', "is an input array and is read-only", 4, "copy it"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> cs.NodeArray:
         d = g.node_array(cs.i64, 0)
         for v in g.nodes():
             if d[v] == cs.INF:
                 d[v] = 1
         return d
     ''', "with an infinity", 5, "cs.i64.max"),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         x = 0
         x.foo = 1
         return x
     ''', "cannot assign to", 4, None),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         e = 0
         for e2 in g.edges():
             e = e2
         return e
     ''', "an edge cannot be stored", 5, "e.dst"),
])
def test_refusals(tmp_path, src, msg, line, hint):
    refuse(tmp_path, src, msg, line, hint=hint)


@pytest.mark.parametrize("src,msg,line", [
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> cs.NodeArray:
         d = g.node_array(cs.i32, 0)
         for v in g.nodes():
             d[v] = 0.5 * v
         return d
     ''', "cannot store a f64 value into 'd', a i32 table", 5),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> cs.NodeArray:
         d = g.node_array(cs.i64, 0)
         for v in g.nodes():
             d[v] += 1.5
         return d
     ''', "cannot store a f64 value into 'd'", 5),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> cs.NodeArray:
         d = g.node_array(cs.boolean, False)
         for v in g.nodes():
             d[v] = 1
         return d
     ''', "cannot store a i64 value into 'd', a bool table", 5),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> cs.NodeArray:
         d = g.node_array(cs.i32, 0.5)
         return d
     ''', "cannot be filled with a f64 value", 3),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         f = True
         f = 3
         return 0
     ''', "holds a bool value in one place and a i64 value", 4),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> int:
         x = True + 1
         return x
     ''', "arithmetic '+' on a bool", 3),
    ('''
     @cs.kernel
     def k(g: cs.Graph) -> cs.NodeArray:
         d = g.node_array(cs.f64, 0.0)
         for v in g.nodes():
             d[1.5] = 2.0
         return d
     ''', "a vertex must be an integer", 5),
])
def test_type_errors(tmp_path, src, msg, line):
    refuse(tmp_path, src, msg, line)


def test_error_points_at_column_and_shows_the_line(tmp_path):
    err = refuse(tmp_path, '''
        @cs.kernel
        def k(g: cs.Graph) -> int:
            x = 0
            for v in g.nodes():
                x = x + len(v)
            return x
    ''', "call to 'len'", 5, col=17)
    text = err.format()
    assert "x = x + len(v)" in text and "^" in text


def test_float_fill_of_int_table_with_inf_is_the_max(tmp_path):
    text = ir_text(tmp_path, '''
        @cs.kernel
        def k(g: cs.Graph) -> cs.NodeArray:
            d = g.node_array(cs.i32, cs.INF)
            return d
    ''')
    assert "d[:] = i32(2147483647)" in text


def test_kernel_file_import_failure_is_reported_with_line(tmp_path):
    p = tmp_path / "broken.py"
    p.write_text("import cosynth as cs\nx = 1 / 0\n")
    from cosynth.loader import load_kernels
    with pytest.raises(KernelError) as info:
        load_kernels(str(p))
    assert info.value.loc.line == 2 and "ZeroDivisionError" in info.value.message


def test_kernel_file_syntax_error(tmp_path):
    p = tmp_path / "syn.py"
    p.write_text("import cosynth as cs\ndef f(:\n")
    from cosynth.loader import load_kernels
    with pytest.raises(KernelError) as info:
        load_kernels(str(p))
    assert info.value.loc.line == 2 and "syntax error" in info.value.message


def test_narrow_types_follow_numpy_weak_promotion(tmp_path):
    """Python numbers (parameters, vertex ids) are weak: f32/i32 arithmetic stays narrow,
    exactly as NumPy computes it in the plain run."""
    k, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def narrow(g: cs.Graph, alpha: float = 0.1) -> tuple:
            x = g.node_array(cs.f32, 1.0)
            y = g.node_array(cs.i32, 2147483000)
            for v in g.nodes():
                x[v] = x[v] * alpha + v / 3
                x[v] = x[v] * x[v] + cs.f32(0.7)
                y[v] = y[v] + v * 100
            return x, y
    ''')
    text = print_kernel(k.ir)
    assert "x: node f32" in text
    g = cs.Graph.uniform(50, 60, seed=1)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the i32 sums wrap, in both runs
        plain = k(g)
    got = k.interpret(g)
    assert plain[0].dtype == np.float32 and same(plain, got)
    assert np.any(got[1] < 0)  # wrapped at 32 bits, as NumPy does
