"""The runtime's parallel helpers and the emitter's choices that make the generated loops
scale with threads: the level queue built by all threads (``LevelQueue::advance`` in both
of its modes), per-thread copies of a table (``Private``, ``backends/cpp/private.py``),
the parallel fill of an ``Alloc``, and the OpenMP schedule from a loop's edge loops.  The
runtime parts are compiled with the real toolchain and run with three threads; the
kernels that use them equal the interpreter and the reference."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth import nxref, procs, spref
from cosynth.backends.cpp.emit import emit_program
from cosynth.backends.cpp.loops import _omp_schedule
from cosynth.backends.cpp.private import private_tables
from cosynth.backends.cpp.sharing import shared_stores
from cosynth.backends.toolchain import compile_program
from cosynth.frontend.rewrite import projection, variant
from cosynth.ir.nodes import Loop
from cosynth.ir.walk import iter_stmts
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example

SOURCE = r"""
#include <random>
#include <set>
#include "cosynth_rt.hpp"
using namespace cosynth;
int main(int argc, char** argv) {
  omp_set_num_threads(argc > 1 ? std::atoi(argv[1]) : 3);
  std::mt19937_64 rng(11);
  int64_t checked = 0;
  LevelQueue q;
  const int64_t lo = 1000, R = 50000;  // above the size from which advance runs parallel
  q.enter(lo, lo + R, 5, [](int64_t) { return true; }, false, [](int64_t) { return false; });
  for (int trial = 0; trial < 60; ++trial) {
    // pushes from three threads (duplicates too); every fifth trial also through marks only
    const int64_t k = trial % 3 == 0 ? 40 : (int64_t)(rng() % 60000);
    std::vector<int64_t> ls(k);
    for (auto& l : ls) l = 5 + (int64_t)(rng() % (R + 10)) - 5;  // some outside the range
    const bool own = trial % 5 == 4;
    #pragma omp parallel for schedule(dynamic, 7)
    for (int64_t i = 0; i < k; ++i) {
      if (own && i % 2) { _Pragma("omp critical") q.push_own(ls[i]); } else q.push(ls[i]);
    }
    std::set<int64_t> want;
    for (int64_t l : ls) if (l - 5 >= 0 && l - 5 < R) want.insert(l - 5);
    q.advance();
    std::set<int64_t> got;
    for (int64_t i = 0; i < q.ncur; ++i) got.insert(q.cur[i]);
    if ((int64_t)got.size() != q.ncur || got != want) {
      std::printf("queue mismatch: trial %d, %lld entries, %zu distinct, %zu wanted\n",
                  trial, (long long)q.ncur, got.size(), want.size());
      return 1;
    }
    if (own) for (int64_t i = 1; i < q.ncur; ++i) if (q.cur[i - 1] >= q.cur[i]) {
      std::printf("scan not in vertex order: trial %d\n", trial); return 1; }
    if (q.sorted != own) { std::printf("sorted flag wrong: trial %d\n", trial); return 1; }
    if (own) for (int nt = 1; nt <= 5; ++nt) {  // word shares: a partition, words not split
      int64_t prev = 0;
      for (int t = 0; t < nt; ++t) {
        int64_t b = -1, e = -1;
        q.word_share(t, nt, b, e);
        if (b != prev || e < b || (t == nt - 1 && e != q.ncur)) {
          std::printf("word shares not a partition: trial %d, %d of %d\n", trial, t, nt);
          return 1;
        }
        if (b > 0 && b < q.ncur && ((q.cur[b - 1] + 5) >> 6) == ((q.cur[b] + 5) >> 6)) {
          std::printf("a word split between shares: trial %d\n", trial); return 1; }
        prev = e;
      }
    }
    for (uint8_t m : q.mark) if (m) { std::printf("mark left set: trial %d\n", trial); return 1; }
    checked += q.ncur;
  }
  // per-thread copies: every contribution lands once, min and add; the copies span only
  // the range [a, b) the contributions fall in (a sharded nest's owned range); thread 0
  // reduces into the table itself, so a team of one makes no copy
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t n = 1 + (int64_t)(rng() % 70000), k = (int64_t)(rng() % 300000);
    const int64_t a = trial % 2 ? (int64_t)(rng() % n) : 0;
    const int64_t b = trial % 2 ? a + 1 + (int64_t)(rng() % (n - a)) : n;
    std::vector<int64_t> at(k), val(k);
    for (int64_t i = 0; i < k; ++i) {
      at[i] = a + (int64_t)(rng() % (b - a));
      val[i] = (int64_t)(rng() % 1000) - 500;
    }
    std::vector<int64_t> sum(n), mn(n), want_sum(n, 3), want_mn(n, 7);
    fill_par<int64_t>(sum, 3);
    fill_par<int64_t>(mn, 7);
    for (int64_t i = 0; i < k; ++i) {
      want_sum[at[i]] += val[i];
      want_mn[at[i]] = std::min(want_mn[at[i]], val[i]);
    }
    Private<int64_t> ps, pm;
    for (int rep = 0; rep < 2; ++rep) {  // the copies are reused (reset by open)
      fill_par<int64_t>(sum, 3);
      ps.open(sum, a, b, 0);
      pm.open(mn, a, b, INT64_MAX);
      int64_t* const* pps = ps.ptr.data();
      int64_t* const* ppm = pm.ptr.data();
      #pragma omp parallel for schedule(dynamic, 64)
      for (int64_t i = 0; i < k; ++i) {
        red_add(&pps[omp_get_thread_num()][at[i]], val[i]);
        red_min(&ppm[omp_get_thread_num()][at[i]], val[i]);
      }
      ps.close(sum, [](int64_t* p, int64_t v) { red_add(p, v); });
      pm.close(mn, [](int64_t* p, int64_t v) { red_min(p, v); });
    }
    if (sum != want_sum || mn != want_mn) {
      std::printf("private mismatch: trial %d\n", trial);
      return 1;
    }
    const int P = omp_get_max_threads();
    if (ps.part[0].capacity() != 0 || ps.ptr[0] != sum.data()) {
      std::printf("thread 0 has a copy: trial %d\n", trial); return 1; }
    for (int t = 1; t < P; ++t) if ((int64_t)ps.part[t].size() != b - a) {
      std::printf("copy %d spans %zu entries, not %lld: trial %d\n", t, ps.part[t].size(),
                  (long long)(b - a), trial); return 1; }
    checked += k;
  }
  std::printf("checked %lld\n", (long long)checked);
  return 0;
}
"""


def test_level_queue_advance_and_private_copies_with_three_threads():
    binary, _ = compile_program(SOURCE, name="parallel_rt")
    r = procs.run([binary], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("checked ") and int(r.stdout.split()[1]) > 1_000_000


def test_level_queue_of_a_team_of_one_marks_without_atomics():
    """One thread: ``LevelQueue::push`` takes its plain path (``solo``); duplicates and
    entries outside the range are still dropped, the queue is the same."""
    binary, _ = compile_program(SOURCE, name="parallel_rt")
    r = procs.run([binary, "1"], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("checked ") and int(r.stdout.split()[1]) > 1_000_000


def _par(k):
    """The outermost parallel data loops of ``k``."""
    return [s for s, path in iter_stmts(k.body) if isinstance(s, Loop) and s.is_data_loop
            and s.schedule != "seq" and not any(p.is_data_loop for p in path)]


def _private(k):
    tables = {t.name: t for t in k.tables}
    return {name for s in _par(k)
            for name in private_tables(s, tables, shared_stores(s, tables), set())}


def test_private_copies_only_for_reductions_no_iteration_reads():
    tc, _ = variant(example("tc").ir, "edges")
    assert _private(projection.apply(tc).kernel) == {"tri"}  # atomics per triangle
    push, _ = variant(example("pagerank").ir, "bsp")
    assert _private(projection.apply(push).kernel) == {"contrib"}  # contrib[e.dst] add= share
    pull, _ = variant(example("pagerank").ir, "pull")
    assert _private(projection.apply(pull).kernel) == set()  # own entries: no atomics
    bfs, _ = variant(example("bfs").ir, "par")
    assert _private(projection.apply(bfs).kernel) == set()  # read, and a change flag


def test_schedule_follows_the_edge_loops_inside():
    pull, _ = variant(example("pagerank").ir, "pull")
    scheds = [_omp_schedule(s) for s in _par(pull)]
    assert "static" in scheds and "dynamic, 1024" in scheds  # flat passes; the gather
    tc, _ = variant(example("tc").ir, "edges")
    assert [_omp_schedule(s) for s in _par(tc)] == ["dynamic, 64"]  # a row per edge
    assert _omp_schedule(_par(pull)[-1], queue=True) in ("static", "dynamic, 64")


@pytest.mark.parametrize("blades,manifest", [(1, "single.yaml"), (2, "pair.yaml")])
def test_push_pagerank_with_private_copies_equals_interpreter(blades, manifest):
    g = cs.Graph.kronecker(10, seed=5)
    sim = simulate(example("pagerank"), load_manifest(os.path.join(ROOT, "manifests", manifest)),
                   g, {}, blades=blades, variant="bsp", threads=3, timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks
    np.testing.assert_allclose(sim.results[0] if isinstance(sim.results, tuple) else sim.results,
                               nxref.pagerank(g), rtol=1e-6)


@pytest.mark.slow  # kron-13 and its compile: ~25 s under load
def test_hybrid_bfs_with_parallel_queue_building_equals_reference(tmp_path):
    # kron-13: the queue's range (8192) and its large levels exceed the size from which
    # advance and the pull bitmap run on all threads
    g = cs.Graph.kronecker(13, seed=2)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("bfs"), load_manifest(os.path.join(ROOT, "manifests", "single.yaml")),
                   g, {"source": src}, blades=1, variant="hybrid", threads=3, timeout=300,
                   workdir=str(tmp_path))
    assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks
    np.testing.assert_array_equal(sim.results[0], spref.bfs(g, src))


def test_pull_bitmap_from_a_sorted_queue_owns_its_words():
    """The hybrid's pull bitmap is set from the level queue; a queue in vertex order is cut
    at word boundaries (``word_share``: plain ors), any other keeps the atomic or."""
    kv, _ = variant(example("bfs").ir, "hybrid")
    src = emit_program(kv)
    one = next(x for x in src.splitlines() if "one writer per word" in x)
    assert ".sorted" in one and "omp_get_num_threads() == 1" in one
    assert "word_share(omp_get_thread_num(), omp_get_num_threads(), b, e)" in src
    assert src.count("__atomic_fetch_or(&bm__") == 1  # the unsorted queue's pass only
