"""Reading graphs: GAP/SNAP edge lists, Matrix Market files and the CLI's graph specs.

Formats:

* ``.el``  -- ``src dst`` per line, 0-based vertex ids (GAP); ``#`` starts a comment;
* ``.wel`` -- ``src dst weight`` per line (GAP);
* ``.txt``, ``.edges``, ``.tsv`` -- SNAP edge lists: two columns, or three with weights;
* ``.mtx`` -- Matrix Market ``coordinate`` (``real``, ``integer`` or ``pattern``;
  ``general`` is a directed graph, ``symmetric`` an undirected one), 1-based.

Every failure names the file, the line and what was expected there.

Vertex ids are array indices: a file whose largest id is far beyond what its edges need
(``0 1`` and ``1000000000 2``: a billion vertices, all but four isolated) is refused
before anything is allocated, naming the line of that id.  ``compact_ids=True`` (the
graph spec ``compact:PATH``) reads such a file anyway: the ids that occur are renumbered
``0 .. k-1`` in increasing order, and ``Graph.labels[i]`` is the file's id of vertex ``i``.
"""

from __future__ import annotations

import io
import os
import re
import warnings

import numpy as np

from .errors import GraphError
from .graph import Graph

__all__ = ["load_graph", "parse_graph_spec", "GRAPH_SPEC_HELP"]

GRAPH_SPEC_HELP = ("a graph spec is kron:SCALE[:EDGE_FACTOR], uniform:N:M, or the path of a "
                   ".el, .wel, .txt (SNAP) or .mtx file (compact:PATH renumbers its vertex "
                   "ids densely)")

_MAX_VERTICES = 1 << 31
# A file may name up to max(_SPARSE_FLOOR, _SPARSE_RATIO * edges) vertices without asking
# for compaction: isolated vertices are legitimate, but not a billion of them for two edges.
_SPARSE_FLOOR = 1 << 20
_SPARSE_RATIO = 16
_COMPACT = "compact:"
_EDGE_LIST_COLUMNS = {".el": (2,), ".wel": (3,), ".txt": (2, 3), ".edges": (2, 3),
                      ".tsv": (2, 3), ".snap": (2, 3)}


def load_graph(path: str | os.PathLike, directed: bool = True,
               compact_ids: bool = False) -> Graph:
    """Read a graph file; ``directed=False`` stores each edge in both directions.

    A symmetric Matrix Market file is undirected whatever ``directed`` says.  A file whose
    vertex ids need far more vertices than its edges justify is refused unless
    ``compact_ids``, which renumbers the ids that occur densely (``labels`` keeps them).
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in _EDGE_LIST_COLUMNS and ext != ".mtx":
        raise GraphError(f"unknown graph file type '{ext or '(none)'}'", path=path,
                         hint="use .el, .wel, .txt (SNAP) or .mtx; " + GRAPH_SPEC_HELP)
    text = _read_text(path)
    if ext == ".mtx":
        return _parse_mtx(path, text, directed, compact_ids)
    return _parse_edge_list(path, text, _EDGE_LIST_COLUMNS[ext], directed, compact_ids)


def parse_graph_spec(spec: str, *, seed: int = 0, directed: bool = True) -> Graph:
    """Build the graph a CLI spec names: ``kron:SCALE[:EF]``, ``uniform:N:M``, a path, or
    ``compact:PATH`` (the file with its vertex ids renumbered densely)."""
    if spec.startswith(_COMPACT) and not os.path.exists(spec):
        return load_graph(spec[len(_COMPACT):], directed=directed, compact_ids=True)
    if spec.startswith("kron:") or spec.startswith("uniform:"):
        kind, _, rest = spec.partition(":")
        parts = rest.split(":")
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise GraphError(f"graph spec '{spec}': '{rest}' is not a list of integers",
                             hint=GRAPH_SPEC_HELP) from None
        if kind == "kron":
            if len(nums) not in (1, 2):
                raise GraphError(f"graph spec '{spec}' needs kron:SCALE or kron:SCALE:EDGE_FACTOR",
                                 hint=GRAPH_SPEC_HELP)
            return Graph.kronecker(*nums, seed=seed)
        if len(nums) != 2:
            raise GraphError(f"graph spec '{spec}' needs uniform:N:M", hint=GRAPH_SPEC_HELP)
        return Graph.uniform(nums[0], nums[1], seed=seed)
    if ":" in spec and not os.path.exists(spec) and re.match(r"^[a-z]+:", spec):
        raise GraphError(f"unknown graph generator '{spec.split(':')[0]}' in spec '{spec}'",
                         hint=GRAPH_SPEC_HELP)
    return load_graph(spec, directed=directed)


# --------------------------------------------------------------------------- helpers
def _read_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise GraphError("no such graph file", path=path,
                         hint="check the path, or use a generated graph: " + GRAPH_SPEC_HELP
                         ) from None
    except IsADirectoryError:
        raise GraphError("is a directory, not a graph file", path=path) from None
    except OSError as exc:
        raise GraphError(f"cannot read graph file: {exc.strerror}", path=path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise GraphError("is not a text file (invalid UTF-8)", path=path, line=line,
                         hint="graph files are plain-text edge lists or Matrix Market") from None


def _parse_edge_list(path: str, text: str, columns: tuple[int, ...], directed: bool,
                     compact_ids: bool) -> Graph:
    rows, width, linenos = _parse_rows(path, text.splitlines(), 0, columns, "#")
    if rows.shape[0] == 0:
        raise GraphError("contains no edges", path=path,
                         hint="an edge list has one 'src dst' line per edge")
    weight = rows[:, 2] if width == 3 else None
    src, dst = rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)
    if compact_ids:
        return _compacted(src, dst, weight, directed)
    top = int(max(src.max(), dst.max()))
    if top >= _MAX_VERTICES:
        k = int(np.flatnonzero(np.maximum(src, dst) == top)[0])
        raise GraphError(f"vertex id {top} implies more than {_MAX_VERTICES} vertices",
                         path=path, line=int(linenos[k]), hint=_COMPACT_HINT)
    k = int(np.flatnonzero(np.maximum(src, dst) == top)[0])
    _check_sparse(path, int(linenos[k]), f"vertex id {top}", top + 1, src.size)
    return Graph.from_edges(src, dst, weight, directed=directed)


def _parse_mtx(path: str, text: str, directed: bool, compact_ids: bool) -> Graph:
    lines = text.splitlines()
    if not lines or not lines[0].lower().startswith("%%matrixmarket"):
        raise GraphError("is not a Matrix Market file: the first line must be "
                         "'%%MatrixMarket matrix coordinate <field> <symmetry>'",
                         path=path, line=1)
    head = lines[0].split()
    if len(head) != 5 or head[1].lower() != "matrix":
        raise GraphError(f"malformed Matrix Market header '{lines[0].strip()}'", path=path,
                         line=1, hint="expected '%%MatrixMarket matrix coordinate real general'")
    fmt, field, symmetry = (h.lower() for h in head[2:])
    if fmt != "coordinate":
        raise GraphError(f"Matrix Market format '{fmt}' is not a sparse graph", path=path,
                         line=1, hint="store the graph in 'coordinate' format")
    if field not in ("real", "integer", "pattern"):
        raise GraphError(f"Matrix Market field '{field}' is not supported", path=path, line=1,
                         hint="use real, integer or pattern")
    if symmetry not in ("general", "symmetric"):
        raise GraphError(f"Matrix Market symmetry '{symmetry}' is not supported", path=path,
                         line=1, hint="use general (directed) or symmetric (undirected)")
    i = 1
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("%")):
        i += 1
    if i == len(lines):
        raise GraphError("has no size line 'rows cols entries'", path=path, line=i)
    size = lines[i].split()
    try:
        nr, nc, nnz = (int(s) for s in size)
    except ValueError:
        raise GraphError(f"expected the size line 'rows cols entries', found '{lines[i].strip()}'",
                         path=path, line=i + 1) from None
    if nr != nc:
        raise GraphError(f"the matrix is {nr}x{nc}; an adjacency matrix is square",
                         path=path, line=i + 1)
    if min(nr, nnz) < 0:
        raise GraphError("negative size in the size line", path=path, line=i + 1)
    ncol = 2 if field == "pattern" else 3
    rows, _, linenos = _parse_rows(path, lines[i + 1:], i + 1, (ncol,), "%", one_based=True)
    if rows.shape[0] != nnz:
        raise GraphError(f"the size line promises {nnz} entries but the file has {rows.shape[0]}",
                         path=path, line=i + 1, hint="fix the entry count or the entries")
    src = rows[:, 0].astype(np.int64) - 1
    dst = rows[:, 1].astype(np.int64) - 1
    too_big = np.flatnonzero((src >= nr) | (dst >= nr))
    if too_big.size:
        k = int(too_big[0])
        raise GraphError(f"entry ({src[k] + 1}, {dst[k] + 1}) is outside the {nr}x{nr} matrix",
                         path=path, line=int(linenos[k]))
    weight = rows[:, 2] if ncol == 3 else None
    undirected = symmetry == "symmetric"
    if compact_ids:
        return _compacted(src, dst, weight, directed and not undirected)
    _check_sparse(path, i + 1, f"the size line's {nr}x{nr} matrix", nr, nnz)
    return Graph.from_edges(src, dst, weight, num_nodes=nr,
                            directed=directed and not undirected)


_COMPACT_HINT = ("renumber the vertices densely from 0, or read the file with compacted ids: "
                 "the graph spec 'compact:PATH' (cs.load_graph(path, compact_ids=True)) "
                 "numbers the ids that occur 0, 1, 2, ... in increasing order")


def _check_sparse(path: str, line: int, what: str, n: int, m: int) -> None:
    """Refuse ``n`` vertices for ``m`` edges when nearly all of them would be isolated:
    the vertex arrays would be allocated for ids that name nothing."""
    if n > max(_SPARSE_FLOOR, _SPARSE_RATIO * m):
        raise GraphError(f"{what} implies {n:,} vertices for {m:,} edges; nearly all of them "
                         f"would be isolated (each vertex array would take "
                         f"{8 * n / 2**30:.2f} GiB)", path=path, line=line,
                         hint=_COMPACT_HINT)


def _compacted(src: np.ndarray, dst: np.ndarray, weight, directed: bool) -> Graph:
    """The graph on the ids that occur, renumbered in increasing order; ``labels[i]`` is the
    file's id of vertex ``i``."""
    ids, inverse = np.unique(np.concatenate([src, dst]), return_inverse=True)
    g = Graph.from_edges(inverse[:src.size], inverse[src.size:], weight,
                         num_nodes=ids.size, directed=directed)
    g.labels = ids.tolist()
    return g


def _parse_rows(path: str, lines: list[str], first_lineno: int, columns: tuple[int, ...],
                comment: str, one_based: bool = False):
    """Parse whitespace-separated numeric rows; returns (rows, width, line numbers).

    Tries NumPy's parser first; on any problem scans line by line so that the error
    names the exact line.
    """
    body = [(k, ln) for k, ln in enumerate(lines)
            if ln.strip() and not ln.lstrip().startswith(comment)]
    if not body:
        return np.zeros((0, max(columns))), max(columns), np.zeros(0, dtype=np.int64)
    linenos = np.fromiter((first_lineno + k + 1 for k, _ in body), dtype=np.int64, count=len(body))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = np.loadtxt(io.StringIO("\n".join(ln for _, ln in body)), dtype=np.float64,
                              comments=comment, ndmin=2)
        ok = rows.shape[1] in columns and _rows_valid(rows, one_based)
    except ValueError:
        ok = False
    if not ok:
        _explain_bad_row(path, body, first_lineno, columns, comment, one_based)
        raise GraphError("could not be parsed as an edge list", path=path)  # pragma: no cover
    return rows, rows.shape[1], linenos


def _rows_valid(rows: np.ndarray, one_based: bool) -> bool:
    ids = rows[:, :2]
    lowest = 1 if one_based else 0
    if not np.all(np.isfinite(rows)):
        return False
    return bool(np.all(ids == np.floor(ids)) and np.all(ids >= lowest) and np.all(ids < 2**62))


def _explain_bad_row(path, body, first_lineno, columns, comment, one_based):
    want = " or ".join(str(c) for c in columns)
    shape = {2: "'src dst'", 3: "'src dst weight'"}
    expect = " or ".join(shape[c] for c in columns)
    lowest = 1 if one_based else 0
    width = None
    for k, ln in body:
        lineno = first_lineno + k + 1
        fields = ln.split(comment)[0].split()
        if len(fields) not in columns:
            raise GraphError(f"expected {want} columns {expect}, found {len(fields)}: "
                             f"'{ln.strip()[:60]}'", path=path, line=lineno)
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            raise GraphError(f"this line has {len(fields)} columns but earlier lines have {width}",
                             path=path, line=lineno, hint="use the same columns on every line")
        for f in fields[:2]:
            try:
                v = int(f)
            except ValueError:
                raise GraphError(f"expected an integer vertex id, found '{f}'",
                                 path=path, line=lineno,
                                 hint=f"vertex ids are integers >= {lowest}") from None
            if v < lowest:
                raise GraphError(f"vertex id {v} is below {lowest}", path=path, line=lineno,
                                 hint="edge lists are 0-based; Matrix Market is 1-based")
            if v >= 2**62:
                raise GraphError(f"vertex id {v} is too large", path=path, line=lineno)
        if len(fields) == 3:
            try:
                w = float(fields[2])
            except ValueError:
                raise GraphError(f"expected a numeric weight, found '{fields[2]}'",
                                 path=path, line=lineno) from None
            if not np.isfinite(w):
                raise GraphError(f"weight '{fields[2]}' is not finite", path=path, line=lineno)
