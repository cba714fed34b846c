"""The runtime ``Frontier``'s bins (``cosynth_rt.hpp``): each thread's bins are a ring of
vectors over the live keys, indexed by ``key & mask``.  Compiled with the real toolchain
and run with three threads and with one: every key mode (one bin, linear, log2), keyed
entries and pending codes, keys below the live window, windows wider than the ring (it
grows), keys at the far bin, bins larger than a drained slot keeps, pushes from the
sweep's own region (through its part) and from outside, a frontier reused for a second
sweep.  Every entry queued in the range is taken exactly once (keyed: once per push;
pending codes: once per vertex and key), none outside it, and each thread's rounds run
their keys in ascending order."""

from __future__ import annotations

import pytest

from cosynth import procs
from cosynth.backends.toolchain import compile_program

SOURCE = r"""
#include <map>
#include <random>
#include "cosynth_rt.hpp"
using namespace cosynth;
// one frontier, two sweeps; `mode`: 0 delta infinity, 1 linear keys, 2 log keys
static int run(int mode, bool keyed_by, uint64_t seed, int64_t& checked) {
  std::mt19937_64 rng(seed);
  const bool keyed = keyed_by && mode != 0;  // one bin: always pending codes
  const int64_t lo = 1000, R = 60000, lbase = 5;  // local id of lo: 5
  const double delta = mode == 0 ? INFINITY : mode == 1 ? 0.5 : 3.0;
  std::vector<double> val((size_t)(R + lbase + 50), INFINITY);
  auto draw = [&](int64_t k) {  // a value of about key k (linear keys: k * delta)
    return mode == 2 ? std::ldexp(3.0, (int)(k % 40)) * 1.3 : (double)k * 0.5 + 0.25;
  };
  Frontier F;
  F.logkeys = mode == 2;
  auto value = [&](int64_t l) { return val[(size_t)l]; };
  auto top = [&](int64_t l) { return val[(size_t)l] == INFINITY; };
  std::map<int64_t, int64_t> want;  // local id -> entries expected to run
  for (int sweep = 0; sweep < 2; ++sweep) {
    want.clear();
    std::vector<char> used(val.size(), 0);  // vertices given a value this sweep
    if (sweep == 0) {  // the first sweep queues every vertex of the range not at the top
      for (int64_t l = lbase; l < lbase + R; ++l) {
        const uint64_t r = rng() % 100;
        if (r < 40) continue;  // at the top
        used[(size_t)l] = 1;
        // keys 0 .. 5000 (a window wider than the ring's first size), a big bin at key 3,
        // some at the far bin (key kMaxBin)
        val[(size_t)l] = r < 60 ? draw(3) : r < 62 ? 1e9 : draw((int64_t)(rng() % 5000));
      }
    }
    F.begin(lo, lo + R, lbase, delta, keyed_by, value, true, top);
    if (sweep == 0)
      for (int64_t l = lbase; l < lbase + R; ++l)
        if (mode == 0 || val[(size_t)l] != INFINITY) want[l] += 1;
    // pushes outside a sweep, from three threads, in random key order (keys below the
    // window too), some twice, some outside the range
    std::vector<int64_t> ls;
    for (int i = 0; i < 20000; ++i) {
      const int64_t l = (int64_t)(rng() % (uint64_t)(R + 20));  // 0 .. lbase - 1: outside
      if (l < (int64_t)used.size() && used[(size_t)l]) continue;
      if (l < (int64_t)used.size()) used[(size_t)l] = 1;
      val[(size_t)l] = draw((int64_t)(rng() % 7000));
      ls.push_back(l);
      if (i % 7 == 0) ls.push_back(l);
    }
    #pragma omp parallel for schedule(dynamic, 3)
    for (size_t i = 0; i < ls.size(); ++i) F.push(ls[i], val[(size_t)ls[i]]);
    for (int64_t l : ls) {
      if (l < lbase || l >= lbase + R) continue;
      if (keyed) want[l] += 1;
      else want[l] = 1;  // pending codes: a vertex once per key
    }
    // the sweep: each taken vertex may queue a fresh vertex at its own key or above
    std::vector<int64_t> fresh;
    for (int64_t l = lbase; l < lbase + R; ++l)
      if (!used[(size_t)l] && !want.count(l)) fresh.push_back(l);
    std::vector<int64_t> got_l;
    std::vector<std::pair<int64_t, int64_t>> pushed;  // (local id, key)
    int64_t next_fresh = 0;
    bool order_ok = true;
    #pragma omp parallel num_threads(F.team())
    {
      Frontier::Part p;
      std::vector<int64_t> mine;
      std::vector<std::pair<int64_t, int64_t>> mine_pushed;
      int64_t last = -1;
      std::mt19937_64 r2(seed * 31 + (uint64_t)omp_get_thread_num());
      while (F.next(p)) {
        if (p.bin < last) __atomic_store_n(&order_ok, false, __ATOMIC_RELAXED);
        last = p.bin;
        for (int64_t i = p.a; i < p.b; ++i) {
          const int64_t v = F.take(p, i, value);
          if (v < 0) continue;
          mine.push_back(v - lo + lbase);
          if (r2() % 4 == 0 && p.bin < Frontier::kMaxBin) {
            int64_t f;
            #pragma omp atomic capture
            f = next_fresh++;
            if (f < (int64_t)fresh.size()) {
              const int64_t l = fresh[(size_t)f];
              const int64_t k = mode == 0 ? 0 : p.bin + (int64_t)(r2() % 300);
              val[(size_t)l] = mode == 2 ? std::ldexp(3.0, (int)std::max<int64_t>(k - 1, 0))
                                           * (k ? 1.3 : 0.3)
                             : (double)k * 0.5 + 0.25;
              F.push(p, l, val[(size_t)l]);
              mine_pushed.push_back({l, k});
            }
          }
        }
      }
      #pragma omp critical
      {
        got_l.insert(got_l.end(), mine.begin(), mine.end());
        pushed.insert(pushed.end(), mine_pushed.begin(), mine_pushed.end());
      }
    }
    for (auto& [l, k] : pushed) want[l] += 1;
    std::map<int64_t, int64_t> got;
    for (int64_t l : got_l) got[l] += 1;
    if (!order_ok) {
      std::printf("rounds out of key order: mode %d keyed %d sweep %d\n", mode, keyed, sweep);
      return 1;
    }
    if (got != want) {
      int64_t miss = 0, extra = 0;
      for (auto& [l, c] : want) if (got[l] < c) miss += c - got[l];
      for (auto& [l, c] : got) if (want[l] < c) extra += c - want[l];
      std::printf("entries differ: mode %d keyed %d sweep %d: %lld missing, %lld extra, "
                  "%zu pushed in the sweep\n", mode, keyed, sweep, (long long)miss,
                  (long long)extra, pushed.size());
      return 1;
    }
    for (const auto& L : F.loc) if (L.span || !L.far.empty()) {
      std::printf("bins left after the sweep: mode %d keyed %d sweep %d\n", mode, keyed, sweep);
      return 1;
    }
    checked += (int64_t)got_l.size();
    if (sweep == 0) {  // the window grew past the ring's first size, and drained slots
      size_t ring = 0;  // keep no more than kKeep entries
      for (const auto& L : F.loc) {
        ring = std::max(ring, L.ring.size());
        for (const auto& b : L.ring) if (b.capacity() > Frontier::kKeep) {
          std::printf("a drained slot kept %zu entries\n", b.capacity()); return 1; }
      }
      if (mode == 1 && ring < 8192) { std::printf("ring of %zu slots\n", ring); return 1; }
    }
  }
  return 0;
}
int main(int argc, char** argv) {
  omp_set_num_threads(argc > 1 ? std::atoi(argv[1]) : 3);
  int64_t checked = 0;
  for (int mode = 0; mode < 3; ++mode)
    for (int keyed = 0; keyed < 2; ++keyed)
      if (run(mode, keyed, 7 + (uint64_t)(mode * 2 + keyed), checked)) return 1;
  std::printf("checked %lld\n", (long long)checked);
  return 0;
}
"""


@pytest.mark.parametrize("threads", [3, 1])
def test_every_queued_entry_runs_once_in_key_order(threads):
    binary, _ = compile_program(SOURCE, name="frontier_bins")
    r = procs.run([binary, str(threads)], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("checked ") and int(r.stdout.split()[1]) > 200_000
