"""Level frontiers in the blade program (``backends/cpp/sparse.py``): the hybrid BFS runs
its push steps and counts from the queue of vertices changed in the previous superstep and
equals the kernel as written (interpreter) and the reference on 1, 2 and 4 blades; when the
invariant does not hold on entering the while loop, every superstep scans all vertices and
the result is still the interpreter's."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth import procs, spref
from cosynth.backends.cpp.emit import emit_program
from cosynth.backends.toolchain import compile_program
from cosynth.frontend.rewrite import variant
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example, kernel_from_source

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


def _cpp(workdir) -> str:
    path = next(os.path.join(r, "blade.cpp") for r, _, f in os.walk(workdir) if "blade.cpp" in f)
    with open(path) as f:
        return f.read()


def _checked(sim):
    assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks


# a slow case: the default suite's cold CI run was 541 s of its 480
@pytest.mark.parametrize("blades", [1, 2, pytest.param(4, marks=pytest.mark.slow)])
def test_hybrid_bfs_runs_from_the_level_queue_on_1_2_4_blades(blades, tmp_path):
    g = cs.Graph.kronecker(11, seed=4)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("bfs"), RACK, g, {"source": src}, blades=blades,
                   variant="hybrid", timeout=300, workdir=str(tmp_path))
    _checked(sim)
    np.testing.assert_array_equal(sim.results[0], spref.bfs(g, src))
    cpp = _cpp(tmp_path)
    assert "LevelQueue lq__" in cpp and ".counts) {" in cpp and ".push_own(" in cpp
    assert ".tallied) {" in cpp  # the first iteration's counts from the entry check
    # the queue: far fewer vertex visits than a pass over every vertex per nest run
    nests = [x for s in sim.stats for x in s["nests"].values()]
    visits, runs = sum(x["nodes"] for x in nests), max(x["runs"] for x in nests)
    assert runs >= 6 and 0 < visits < g.n * runs / 2


def test_hybrid_bfs_from_a_vertex_without_edges(tmp_path):
    g = cs.Graph.from_edges([0, 1, 2], [1, 2, 3], num_nodes=6)
    sim = simulate(example("bfs"), RACK, g, {"source": 5}, blades=2, variant="hybrid",
                   timeout=120, workdir=str(tmp_path))
    _checked(sim)
    np.testing.assert_array_equal(sim.results[0], spref.bfs(g, 5))


ENTRY = """
import cosynth as cs
@cs.kernel
def f(g: cs.Graph, source: int, other: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, cs.INF)
    depth[source] = 0
    depth[other] = 2
    level = 0
    active = True
    while active:
        active = False
        for v in g.nodes():
            if depth[v] == level:
                for e in g.out_edges(v):
                    nd = level + 1
                    if nd < depth[e.dst]:
                        depth[e.dst] = nd
                        active = True
        level += 1
    return depth
"""


# a slow case: the default suite's cold CI run was 541 s of its 480
@pytest.mark.parametrize("blades", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_entry_that_breaks_the_invariant_scans_every_vertex(blades, tmp_path):
    """``depth[other] = 2`` before the loop: ``other`` holds the guard at level 2 without
    having changed in level 1, so the queue would miss it (and 6, 7 stay unreached); the
    entry check sees the invariant fail and every superstep scans all vertices."""
    kf = kernel_from_source(tmp_path, ENTRY, "f")[0]
    g = cs.Graph.from_edges([0, 1, 5, 6], [1, 2, 6, 7], num_nodes=8)
    sim = simulate(kf, RACK, g, {"source": 0, "other": 5}, blades=blades, variant="hybrid",
                   timeout=120, workdir=str(tmp_path / "run"))
    _checked(sim)
    assert "LevelQueue lq__" in _cpp(tmp_path / "run")
    got = sim.results[0]
    assert got[5] == 2 and got[6] == 3 and got[7] == 4 and got[2] == 2


def _queue_passes(src: str) -> tuple[str, str]:
    """(the count loop over the queue, the pull bitmap's pass over the queue) of ``src``."""
    lines = src.splitlines()
    i = next(i for i, x in enumerate(lines) if "the counts from the queue" in x)
    count = "\n".join(lines[i:i + 8])
    bits = next(x for x in lines if "one writer per word" in x)
    j = lines.index(bits)
    return count, "\n".join(lines[j:j + 7])


def test_passes_over_the_queue_do_not_reread_the_table():
    """``levels``' ``passes`` (every queued vertex passes the next guard, proved for BFS):
    the count over the queue adds every queued vertex's degree and the pull bitmap sets
    every queued vertex's bit without reading ``depth`` at it; the entry check sums the
    first iteration's counts (its ``tally``) and that iteration takes them."""
    kv, _ = variant(example("bfs").ir, "hybrid")
    src = emit_program(kv)
    count, bits = _queue_passes(src)
    # summed by advance as it writes the queue (sparse.fused): no pass of their own
    assert "#pragma omp" not in count and ".qsum[2]" in count, count
    tally = next(x for x in src.splitlines() if ".advance_tally(" in x)
    assert "u_depth" not in tally and "t0 += (int64_t)(G.out_deg" in tally and \
        "t2 += (int64_t)(G.in_deg" in tally, tally
    assert "u_depth" not in bits and "|= (uint64_t)1 <<" in bits, bits
    enter = next(x for x in src.splitlines() if ".enter_filled(" in x)
    assert "int64_t& t0" in enter and "t2 += (int64_t)(G.in_deg" in enter, enter
    # the counts are summed before the invariant's early return: at every vertex
    assert enter.index("t2 +=") < enter.index("return 0;"), enter
    # one function reads the table and the level through copies, not by reference
    assert enter.count("[&, u_depth = u_depth.data(), u_level = u_level]") == 1, enter
    assert ".tallied) {" in src


TWO = """
import cosynth as cs
@cs.kernel
def f(g: cs.Graph, source: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, cs.INF)
    depth[source] = 0
    level = 0
    active = True
    while active:
        active = False
        for v in g.nodes():
            if depth[v] == level:
                for e in g.out_edges(v):
                    nd = level + 1
                    if nd < depth[e.dst]:
                        depth[e.dst] = nd
                        active = True
        level += 2
    return depth
"""


def test_queued_vertices_that_may_fail_the_guard_are_tested(tmp_path):
    """``level += 2``: a queued entry (``level + 1``) fails the next guard (``passes`` is
    refuted), so both passes over the queue keep the test; the result is the
    interpreter's (the source's neighbours at 1, nothing further)."""
    kf = kernel_from_source(tmp_path, TWO, "f")[0]
    kv, _ = variant(kf.ir, "hybrid")
    count, bits = _queue_passes(emit_program(kv))
    assert "if (((int64_t)(u_depth[" in count and "if (((int64_t)(u_depth[" in bits
    g = cs.Graph.kronecker(9, seed=3)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(kf, RACK, g, {"source": src}, blades=1, variant="hybrid", timeout=300,
                   workdir=str(tmp_path / "run"))
    _checked(sim)
    got = sim.results[0]
    assert got[src] == 0 and (got == 1).sum() > 0 and set(np.unique(got)) <= {0, 1, 2**63 - 1}


TALLY = r"""
#include <random>
#include "cosynth_rt.hpp"
using namespace cosynth;
int main() {
  omp_set_num_threads(3);
  std::mt19937_64 rng(5);
  const int64_t lo = 300, R = 70000, lbase = 7;
  std::vector<int64_t> t(R + lbase), deg(R + lbase);
  for (auto& x : t) x = (int64_t)(rng() % 5);
  for (auto& x : deg) x = (int64_t)(rng() % 100);
  int64_t want[4] = {0, 0, 0, 0};
  for (int64_t l = lbase; l < lbase + R; ++l) {
    if (t[l] == 1) { want[0] += deg[l]; want[1] += 1; }
    if (t[l] > 2) want[2] += 2 * deg[l];
  }
  LevelQueue q;
  for (int round = 0; round < 2; ++round) {
    q.enter_with(lo, lo + R, lbase, true,
                 [&](int64_t l, int64_t& a, int64_t& b, int64_t& c, int64_t&) {
                   if (t[l] == 1) { a += deg[l]; b += 1; } if (t[l] > 2) c += 2 * deg[l];
                   return t[l] == 4 ? 0 : t[l] == 1 ? 3 : 1; });
    if (q.ok) { std::printf("the invariant failed at some vertex: not ok\n"); return 1; }
    for (int i = 0; i < 4; ++i) if (q.sum[i] != want[i]) {
      std::printf("sum %d: %lld, want %lld\n", i, (long long)q.sum[i], (long long)want[i]);
      return 1; }
    q.advance();
    if (!q.tallied || q.sparse) { std::printf("first advance\n"); return 1; }
    q.advance();
    if (q.tallied) { std::printf("tallied after the first iteration\n"); return 1; }
  }
  q.enter(lo, lo + R, lbase, [&](int64_t) { return true; }, false, [&](int64_t) { return false; });
  q.advance();
  if (q.tallied) { std::printf("tallied without a tally\n"); return 1; }
  std::printf("ok\n");
  return 0;
}
"""


def test_entry_check_sums_the_first_counts_with_three_threads():
    """``LevelQueue::enter_with``: its sums over the range equal a serial count, also
    where the invariant fails (the first iteration takes them either way); ``tallied``
    holds in the first iteration only, and not after an ``enter`` without counts."""
    binary, _ = compile_program(TALLY, name="level_tally")
    r = procs.run([binary], timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


FILLED = r"""
#include <random>
#include "cosynth_rt.hpp"
using namespace cosynth;
// the entry function over table t (F = 9: the fill value), level c
struct Entry {
  const int64_t* t; const int64_t* deg; int64_t c; bool fill;
  int operator()(int64_t l, int64_t& a, int64_t& b, int64_t& d, int64_t&) const {
    const int64_t x = fill ? 9 : t[l];
    if (x == c) { a += deg[l]; b += 1; }
    if (c + 1 < x) d += deg[l] * 2;
    if (!(x <= c || x == 9)) return 0;
    return x == c ? 3 : 1;
  }
};
int main() {
  omp_set_num_threads(3);
  std::mt19937_64 rng(7);
  const int64_t lo = 300, R = 70000, lbase = 7;
  std::vector<int64_t> t(R + lbase + 5, 9), deg(R + lbase + 5);
  for (auto& x : deg) x = (int64_t)(rng() % 100);
  // points: two at the level, one below it, a repeat, one outside the range (a ghost)
  const int64_t pts[] = {lbase + 5, lbase + 900, lbase + R - 1, lbase + 900, lbase + R + 2};
  t[lbase + 5] = 4; t[lbase + 900] = 4; t[lbase + R - 1] = 2; t[lbase + R + 2] = 4;
  for (int64_t c : {4, 9, 3}) {  // 9: the guard holds at the fill value; 3: a point fails
    LevelQueue a, b;
    a.enter_with(lo, lo + R, lbase, true, Entry{t.data(), deg.data(), c, false});
    b.enter_filled(lo, lo + R, lbase, true, Entry{t.data(), deg.data(), c, false},
                   Entry{t.data(), deg.data(), c, true}, pts, 5);
    for (int i = 0; i < 4; ++i) if (a.sum[i] != b.sum[i]) {
      std::printf("c %lld sum %d: %lld, want %lld\n", (long long)c, i, (long long)b.sum[i],
                  (long long)a.sum[i]); return 1; }
    if (a.ok != b.ok || a.from_entry != b.from_entry) {
      std::printf("c %lld ok\n", (long long)c); return 1; }
    a.advance(); b.advance();
    std::vector<uint32_t> qa(a.cur.get(), a.cur.get() + a.ncur);
    std::vector<uint32_t> qb(b.cur.get(), b.cur.get() + b.ncur);
    std::sort(qa.begin(), qa.end()); std::sort(qb.begin(), qb.end());
    if (qa != qb || a.sparse != b.sparse || a.tallied != b.tallied) {
      std::printf("c %lld queue: %zu vs %zu\n", (long long)c, qb.size(), qa.size()); return 1; }
    if (c == 4 && (qa.size() != 2 || !a.ok)) {
      std::printf("c 4: %zu queued\n", qa.size()); return 1; }
    if (c == 3 && a.ok) { std::printf("c 3: the point above the level is not bad\n"); return 1; }
  }
  std::printf("ok\n");
  return 0;
}
"""


def test_entry_check_from_the_fill_value_equals_the_reading_pass_with_three_threads():
    """``LevelQueue::enter_filled`` (``levels``' ``points``): with every entry but the
    points at the fill value it leaves the sums, the verdict and the queue of
    ``enter_with``'s pass over the entries -- points repeated or outside the range, the
    guard holding at the fill value (its fallback), the invariant failing at a point."""
    binary, _ = compile_program(FILLED, name="level_filled")
    r = procs.run([binary], timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


ZERO = ENTRY.replace("cs.INF)", "0)").replace("    depth[other] = 2\n", "")


def test_entry_check_when_the_fill_value_passes_the_guard(tmp_path):
    """Fill 0 at level 0: every vertex passes the guard on entry (the filled check falls
    back to reading every entry); the result is the interpreter's (all zeros)."""
    kf = kernel_from_source(tmp_path, ZERO, "f")[0]
    g = cs.Graph.kronecker(8, seed=2)
    sim = simulate(kf, RACK, g, {"source": 3, "other": 4}, blades=1, variant="hybrid",
                   timeout=120, workdir=str(tmp_path / "run"))
    _checked(sim)
    assert ".enter_filled(" in _cpp(tmp_path / "run")
    assert not sim.results[0].any()


ADVANCE = r"""
#include <random>
#include "cosynth_rt.hpp"
using namespace cosynth;
// advance_tally's sums (each queued vertex's shares) against a serial sum over the queue
// it wrote, on both of advance's paths (per-thread queues after `push`, the marks after
// `push_own`), with 3 threads, over several iterations; none in the first iteration
int main() {
  omp_set_num_threads(3);
  std::mt19937_64 rng(11);
  const int64_t lo = 100, R = 90000, lbase = 5;
  std::vector<int64_t> deg(R + lbase);
  for (auto& x : deg) x = (int64_t)(rng() % 1000);
  auto f = [&](int64_t l, int64_t& a, int64_t& b, int64_t& c, int64_t& d) {
    a += deg[l]; b += 1; c += 3 * deg[l] + 1; d += l; };
  LevelQueue q;
  q.enter(lo, lo + R, lbase, [](int64_t) { return true; }, true,
          [](int64_t l) { return l % 97 == 0; });
  for (int it = 0; it < 6; ++it) {
    q.advance_tally(f);
    if (it == 0 && (q.counts || q.qsum[0] || q.qsum[1])) {
      std::printf("first iteration tallied\n"); return 1; }
    if (it > 0) {
      int64_t s[4] = {0, 0, 0, 0};
      for (int64_t i = 0; i < q.ncur; ++i) f((int64_t)q.cur[i] + lbase, s[0], s[1], s[2], s[3]);
      for (int i = 0; i < 4; ++i) if (s[i] != q.qsum[i] || !q.counts) {
        std::printf("it %d sum %d: %lld, want %lld\n", it, i, (long long)q.qsum[i],
                    (long long)s[i]); return 1; }
      if (q.ncur == 0) { std::printf("it %d: empty queue\n", it); return 1; }
    }
    const int64_t k = 500 + 7000 * it;  // the next queue: some vertices twice
    const bool own = it % 2;
    #pragma omp parallel for
    for (int64_t j = 0; j < k; ++j) {
      const int64_t l = lbase + (int64_t)((j * 7919 + it * 13) % R);
      if (own) { if (j % 3 == 0) q.push(l); else { _Pragma("omp critical") q.push_own(l); } }
      else { q.push(l); q.push(l); }
    }
  }
  std::printf("ok\n");
  return 0;
}
"""


def test_advance_sums_the_counts_of_the_queue_it_writes_with_three_threads():
    """``LevelQueue::advance_tally`` (sparse.fused): the sums it makes while writing the
    queue equal a serial sum over that queue, on the path from the per-thread queues and
    the one from the marks, with repeats pushed; nothing is summed in the first
    iteration (its counts are the entry check's).  Fails when a path skips the tally or
    a repeated vertex is summed twice."""
    binary, _ = compile_program(ADVANCE, name="level_advance")
    r = procs.run([binary], timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


PREPARED = r"""
#include <sys/resource.h>
#include "cosynth_rt.hpp"
using namespace cosynth;
// LevelQueue::prepare: the supersteps of a prepared queue take no page fault (its buffers
// were written at the declaration), while the same supersteps of an unprepared queue do;
// both queue exactly the vertices pushed (3 threads, per-thread queues and marks, one
// thread pushing the whole range)
static long faults() { struct rusage r; getrusage(RUSAGE_SELF, &r); return r.ru_minflt; }
static long run(LevelQueue& q, int64_t R, bool& ok) {
  const int64_t lo = 7, lbase = 3;
  std::vector<char> want(R, 0), got(R, 0);  // (the test's own buffers: written before)
  const long f0 = faults();
  q.enter(lo, lo + R, lbase, [](int64_t) { return true; }, true,
          [](int64_t l) { return l % 5 == 0; });
  for (int it = 0; it < 5; ++it) {
    q.advance();
    std::fill(want.begin(), want.end(), 0); std::fill(got.begin(), got.end(), 0);
    int64_t k = 0;
    const bool own = it % 2, one = it == 3;
    for (int64_t o = 0; o < R; ++o) if ((o * 31 + it) % (one ? 1 : 3) == 0) { want[o] = 1; ++k; }
    if (one) {  // one thread pushes the whole range (into its own queue)
      #pragma omp parallel
      { if (omp_get_thread_num() == 0) for (int64_t o = 0; o < R; ++o) q.push(o + lbase); }
    } else {
      #pragma omp parallel for schedule(static)
      for (int64_t o = 0; o < R; ++o) {
        if (!want[o]) continue;
        if (own) { _Pragma("omp critical") q.push_own(o + lbase); } else q.push(o + lbase);
      }
    }
    q.advance();
    for (int64_t i = 0; i < q.ncur; ++i) got[q.cur[i]] = 1;
    if (got != want || q.ncur != k) ok = false;
    #pragma omp parallel
    { (void)0; }
  }
  return faults() - f0;
}
int main() {
  omp_set_num_threads(3);
  const int64_t R = 300000;
  bool ok = true;
  LevelQueue warm; warm.prepare(2000); (void)run(warm, 1000, ok);  // the threads, stacks
  LevelQueue a; a.prepare(R + 10);
  const long fa = run(a, R, ok);
  LevelQueue b;
  const long fb = run(b, R, ok);
  if (!ok) { std::printf("wrong queue\n"); return 1; }
  std::printf("%ld %ld\n", fa, fb);
  return 0;
}
"""


def test_a_prepared_queue_takes_no_page_fault_in_its_supersteps():
    """``LevelQueue::prepare`` (emitted at the queue's declaration, before the kernel's
    clock): its supersteps -- enter, advance on both paths, a thread pushing the whole
    range -- take no minor page fault, where an unprepared queue's take hundreds (a
    kron-18 BFS: 243, ~4 us each here); both queue exactly what was pushed.  Fails when
    prepare leaves ``cur`` unwritten (294 faults) or is not made (1,370), or when a path
    loses a pushed vertex."""
    binary, _ = compile_program(PREPARED, name="level_prepared")
    r = procs.run([binary], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    prepared, unprepared = (int(x) for x in r.stdout.split())
    assert unprepared > 100, r.stdout  # the measure sees the faults it should
    assert prepared <= 2, r.stdout


def test_the_blade_prepares_its_level_queue_before_the_clock(tmp_path):
    """The hybrid BFS's queue is prepared, and its pull step's bitmap allocated, among the
    declarations, before ``t_start`` (the bitmap zeroed in each pull step)."""
    kf = kernel_from_source(tmp_path, ENTRY, "f")[0]
    g = cs.Graph.kronecker(8, seed=2)
    sim = simulate(kf, RACK, g, {"source": 3, "other": 4}, blades=1, variant="hybrid",
                   timeout=120, workdir=str(tmp_path / "run"))
    _checked(sim)
    cpp = _cpp(tmp_path / "run")
    assert ".prepare(G.nl);" in cpp
    assert cpp.index(".prepare(G.nl);") < cpp.index("const double t_start")
    assert cpp.index("std::vector<uint64_t> bm__") < cpp.index("const double t_start")
    assert cpp.index("std::fill(bm__") > cpp.index("const double t_start")


QBITS = r"""
#include <random>
#include "cosynth_rt.hpp"
using namespace cosynth;
// LevelQueue::or_bits: after a queue collected from the marks (push_own), the bits it
// ors into a bitmap are exactly the queued vertices' (local id = offset + lbase), other
// bits of the bitmap kept; after one from the per-thread queues (push) it declines
int main() {
  omp_set_num_threads(3);
  std::mt19937_64 rng(5);
  for (int64_t lbase : {0, 8, 72, 3}) for (int64_t R : {5, 2047, 2049, 90001}) {
    const int64_t nl = lbase + R + 70;
    LevelQueue q; q.prepare(nl);
    q.enter(0, R, lbase, [](int64_t) { return true; }, true, [](int64_t) { return false; });
    q.advance();
    for (int it = 0; it < 3; ++it) {
      std::vector<char> want(R, 0);
      for (int64_t o = 0; o < R; ++o) want[o] = rng() % 5 == 0 || o == R - 1;
      const bool own = it != 1;
      #pragma omp parallel for schedule(static)
      for (int64_t o = 0; o < R; ++o) if (want[o]) {
        if (own) { _Pragma("omp critical") q.push_own(o + lbase); } else q.push(o + lbase); }
      q.advance();
      std::vector<uint64_t> bm((nl + 63) / 64), keep(bm.size());
      for (auto& w : keep) w = rng();
      for (int64_t l = lbase; l < lbase + R; ++l) keep[l >> 6] &= ~((uint64_t)1 << (l & 63));
      bm = keep;
      const bool did = q.or_bits(bm.data());
      if (did != (own && lbase % 8 == 0)) {
        std::printf("or_bits %d at lbase %lld\n", did, (long long)lbase); return 1; }
      if (!did) continue;
      for (int64_t l = 0; l < nl; ++l) {
        const bool got = (bm[l >> 6] >> (l & 63)) & 1;
        const bool in = l >= lbase && l < lbase + R;
        const bool exp = in ? want[l - lbase] : ((keep[l >> 6] >> (l & 63)) & 1);
        if (got != exp) {
          std::printf("bit %lld: %d, want %d (R %lld lbase %lld)\n", (long long)l, got, exp,
                      (long long)R, (long long)lbase);
          return 1; }
      }
    }
  }
  std::printf("ok\n");
  return 0;
}
"""


def test_the_queue_from_the_marks_gives_its_bits_to_the_pull_bitmap():
    """``LevelQueue::or_bits`` (the pull bitmap after a pull step, ``sparse.py``): the
    bits advance wrote while collecting the marks are the queued vertices', with 3
    threads (blocks cut at multiples of 8), ranges of 5 .. 90,001 vertices, lbase 0, 8
    and 72, the bitmap's other bits kept; it declines after the per-thread queues and
    when lbase is not a multiple of 8.  Fails when a thread's block splits a byte, a zero
    byte is not written (a stale bit from an earlier level), the last partial byte is
    lost, or the or overwrites a neighbour's bit."""
    binary, _ = compile_program(QBITS, name="level_qbits")
    r = procs.run([binary], timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
