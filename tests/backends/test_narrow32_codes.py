"""The runtime's 32-bit state codes (``Narrow32`` in ``cosynth_rt.hpp``): on the set
``frontend/rewrite/narrowstate.py`` allows -- the top (+inf, or an integer type's maximum)
and the integers of [0, INT32_MAX) -- a code round-trips, and the reductions' order on
codes (``below``, unsigned, the top INT32_MIN above every integer) is the order of the
values, so ``atomic_min`` / ``red_min`` of codes are the min of the values.  A double
narrows by one truncating conversion; compiled with the real toolchain, both value
types, every pair of a sample of the set's edges and random integers."""

from __future__ import annotations

from cosynth import procs
from cosynth.backends.toolchain import compile_program

SOURCE = r"""
#include <random>
#include "cosynth_rt.hpp"
using namespace cosynth;
template <class T> static int check(int64_t& checked) {
  std::vector<T> xs = {Narrow32<T>::top(), (T)0, (T)1, (T)2, (T)255, (T)65536,
                       (T)(INT32_MAX - 2), (T)(INT32_MAX - 1)};
  std::mt19937_64 rng(5);
  for (int i = 0; i < 200; ++i) xs.push_back((T)(int64_t)(rng() % (uint64_t)INT32_MAX));
  for (T a : xs) {
    if (Narrow32<T>::unpack(Narrow32<T>::pack(a)) != a) {
      std::printf("round trip fails at %.1f\n", (double)a); return 1; }
    for (T b : xs) {
      const bool lt = Narrow32<T>::below(Narrow32<T>::pack(a), Narrow32<T>::pack(b));
      if (lt != (a < b)) {
        std::printf("order differs at %.1f, %.1f\n", (double)a, (double)b); return 1; }
      Narrow32<T> s(a), r(a);
      const bool ch = atomic_min(&s, b), rch = red_min(&r, b);
      if ((T)s != std::min(a, b) || ch != (b < a) || (T)r != std::min(a, b) || rch != (b < a)) {
        std::printf("min differs at %.1f, %.1f\n", (double)a, (double)b); return 1; }
      ++checked;
    }
  }
  return 0;
}
int main() {
  int64_t checked = 0;
  // constants too: the compiler may fold a conversion of a constant top
  const Narrow32<double> inf(INFINITY), zero(0.0);
  if (inf.v != Narrow32<double>::kTop || (double)inf != INFINITY || zero.v != 0) {
    std::printf("a constant top narrows to %d\n", (int)inf.v); return 1; }
  if (check<double>(checked) || check<int64_t>(checked)) return 1;
  std::printf("checked %lld\n", (long long)checked);
  return 0;
}
"""


def test_codes_keep_the_order_and_the_min_of_the_values():
    binary, _ = compile_program(SOURCE, name="narrow32_codes")
    r = procs.run([binary], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("checked ") and int(r.stdout.split()[1]) == 2 * 208 * 208
