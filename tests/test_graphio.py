"""Graph files and specs: every format parses, every malformed file names its line."""

from __future__ import annotations

import numpy as np
import pytest

import cosynth as cs
from cosynth.errors import GraphError
from cosynth.graphio import parse_graph_spec


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_el_with_comments_and_blank_lines(tmp_path):
    p = write(tmp_path, "g.el", "# a comment\n0 1\n\n1 2\n2 0  # trailing\n")
    g = cs.load_graph(p)
    assert g.directed and g.n == 3 and g.m == 3 and g.weight is None
    u = cs.load_graph(p, directed=False)
    assert u.m == 6


def test_wel_and_snap(tmp_path):
    g = cs.load_graph(write(tmp_path, "g.wel", "0 1 2.5\n1 2 7\n"))
    assert g.weight.tolist() == [2.5, 7.0]
    s = cs.load_graph(write(tmp_path, "g.txt", "# SNAP\n# Nodes: 3\n0\t2\n2\t1\n"))
    assert s.n == 3 and s.m == 2


def test_mtx_general_symmetric_pattern(tmp_path):
    gen = write(tmp_path, "a.mtx", "%%MatrixMarket matrix coordinate real general\n"
                "% comment\n3 3 2\n1 2 0.5\n3 1 2\n")
    g = cs.load_graph(gen)
    assert g.directed and g.n == 3 and g.weight.tolist() == [0.5, 2.0]
    assert g.has_edge(0, 1) and g.has_edge(2, 0)
    sym = write(tmp_path, "b.mtx", "%%MatrixMarket matrix coordinate pattern symmetric\n"
                "4 4 2\n2 1\n4 3\n")
    h = cs.load_graph(sym)
    assert not h.directed and h.m == 4 and h.weight is None and h.n == 4
    ints = write(tmp_path, "c.mtx", "%%MatrixMarket matrix coordinate integer general\n"
                 "2 2 1\n1 2 5\n")
    assert cs.load_graph(ints).weight.tolist() == [5.0]


@pytest.mark.parametrize("name,text,line,msg", [
    ("g.el", "0 1\n1 x\n", 2, "expected an integer vertex id, found 'x'"),
    ("g.el", "0 1\n1 2 3\n", 2, "expected 2 columns"),
    ("g.el", "0 1\n-1 2\n", 2, "vertex id -1 is below 0"),
    ("g.el", "# only\n0 1\n2.5 1\n", 3, "expected an integer vertex id"),
    ("g.wel", "0 1 1.0\n1 2\n", 2, "expected 3 columns"),
    ("g.wel", "0 1 1.0\n1 2 heavy\n", 2, "expected a numeric weight, found 'heavy'"),
    ("g.wel", "0 1 inf\n", 1, "is not finite"),
    ("g.txt", "0 1\n1 2 3\n", 2, "this line has 3 columns but earlier lines have 2"),
    ("g.el", "0 99999999999\n", 1, "implies more than"),
    ("g.mtx", "hello\n", 1, "is not a Matrix Market file"),
    ("g.mtx", "%%MatrixMarket matrix array real general\n2 2\n", 1, "format 'array'"),
    ("g.mtx", "%%MatrixMarket matrix coordinate complex general\n", 1, "field 'complex'"),
    ("g.mtx", "%%MatrixMarket matrix coordinate real hermitian\n", 1, "symmetry 'hermitian'"),
    ("g.mtx", "%%MatrixMarket matrix coordinate real general\n2 3 1\n", 2, "is 2x3"),
    ("g.mtx", "%%MatrixMarket matrix coordinate real general\nthree 3 1\n", 2,
     "expected the size line"),
    ("g.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 2 1\n", 2,
     "promises 2 entries but the file has 1"),
    ("g.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 3 1\n", 3,
     "outside the 2x2 matrix"),
    ("g.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n0 1 1\n", 3,
     "vertex id 0 is below 1"),
])
def test_malformed_files_name_the_line(tmp_path, name, text, line, msg):
    p = write(tmp_path, name, text)
    with pytest.raises(GraphError) as info:
        cs.load_graph(p)
    err = info.value
    assert msg in err.message, err.format()
    assert err.loc.file == p and err.loc.line == line, err.format()
    assert err.format().startswith(f"{p}:{line}:")


def test_missing_empty_binary_and_unknown_files(tmp_path):
    with pytest.raises(GraphError, match="no such graph file"):
        cs.load_graph(str(tmp_path / "nope.el"))
    with pytest.raises(GraphError, match="contains no edges"):
        cs.load_graph(write(tmp_path, "e.el", "# nothing\n"))
    b = tmp_path / "b.el"
    b.write_bytes(b"0 1\n\xff\xfe\n")
    with pytest.raises(GraphError, match="not a text file") as info:
        cs.load_graph(str(b))
    assert info.value.loc.line == 2
    with pytest.raises(GraphError, match="unknown graph file type '.csv'"):
        cs.load_graph(write(tmp_path, "g.csv", "0,1\n"))


def test_specs():
    g = parse_graph_spec("kron:6")
    assert g.n == 64
    assert parse_graph_spec("kron:6:4").m < g.m
    assert parse_graph_spec("uniform:10:12").m == 24
    assert np.array_equal(parse_graph_spec("kron:6", seed=1).out_dst,
                          parse_graph_spec("kron:6", seed=1).out_dst)
    for bad, msg in [("kron:x", "not a list of integers"), ("kron:1:2:3", "kron:SCALE"),
                     ("uniform:5", "uniform:N:M"), ("rmat:5", "unknown graph generator"),
                     ("missing.el", "no such graph file")]:
        with pytest.raises(GraphError, match=msg):
            parse_graph_spec(bad)
