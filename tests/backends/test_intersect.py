"""The runtime's ``gallop`` (the ordered intersection's hoisted bounds) finds the same
position as a binary search, from either end, on rows of every shape: compiled with the
real toolchain and compared with ``std::lower_bound`` / ``std::upper_bound``."""

from __future__ import annotations

from cosynth import procs
from cosynth.backends.toolchain import compile_program

SOURCE = r"""
#include <random>
#include "cosynth_rt.hpp"
using namespace cosynth;
int main() {
  std::mt19937_64 rng(7);
  int64_t checked = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    const int len = trial < 50 ? trial % 5 : (int)(rng() % 300);  // empty rows too
    std::vector<idx_t> row(len);
    for (auto& x : row) x = (idx_t)(rng() % 64);  // repeated entries too
    std::sort(row.begin(), row.end());
    const idx_t* b = row.data();
    const idx_t* e = b + len;
    for (int64_t v = -2; v < 67; ++v) {
      const idx_t* up = std::upper_bound(b, e, (idx_t)v);  // first > v
      const idx_t* lo = std::lower_bound(b, e, (idx_t)v);  // first >= v
      for (bool end : {true, false}) {
        if (gallop(b, e, end, [&](idx_t a) { return (int64_t)a > v; }) != up ||
            gallop(b, e, end, [&](idx_t a) { return (int64_t)a >= v; }) != lo) {
          std::printf("mismatch: len %d v %lld end %d\n", len, (long long)v, (int)end);
          return 1;
        }
        ++checked;
      }
    }
  }
  std::printf("checked %lld\n", (long long)checked);
  return 0;
}
"""


def test_gallop_equals_binary_search_from_both_ends():
    binary, _ = compile_program(SOURCE, name="gallop")
    r = procs.run([binary], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == f"checked {4000 * 69 * 2}"
