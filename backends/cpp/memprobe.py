"""What a random reference into vertex data costs as the data outgrow each cache: the
machine figure behind the cost model's two-level working-set term (``planner/cost.py``),
measured by ``cosynth calibrate``.

The probe is the access pattern of a gather (``acc += share[in_src[p]]``): a sequential
array of random positions, an independent load at each, summed -- so the core overlaps the
misses as it does in a kernel, and the figure is the throughput cost, not the latency.
For each working-set size it reports the best of a few passes in seconds per reference;
``fit_levels`` turns those into the cost of a reference that misses the second-level
cache (and hits the last level) and the extra cost of one that misses the last level
too, given the two caches' sizes.
"""

from __future__ import annotations

import numpy as np

from cosynth import procs
from cosynth.errors import ToolError

from ..toolchain import compile_program

__all__ = ["probe", "fit_levels", "SOURCE"]

SOURCE = r"""
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
int main(int argc, char** argv) {
  const int64_t refs = std::atoll(argv[1]);
  std::vector<uint32_t> at(refs);
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (int a = 2; a < argc; ++a) {
    const int64_t bytes = std::atoll(argv[a]), n = bytes / 8;
    std::vector<double> x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = (double)(i & 7);
    for (int64_t i = 0; i < refs; ++i) {  // xorshift64: positions with no stride
      s ^= s << 13; s ^= s >> 7; s ^= s << 17;
      at[i] = (uint32_t)(s % (uint64_t)n);
    }
    double best = 1e30, sum = 0;
    for (int pass = 0; pass < 4; ++pass) {
      const auto t0 = std::chrono::steady_clock::now();
      double acc = 0;
      for (int64_t i = 0; i < refs; ++i) acc += x[at[i]];
      const auto t1 = std::chrono::steady_clock::now();
      const double dt = std::chrono::duration<double>(t1 - t0).count();
      sum += acc;
      if (pass > 0 && dt < best) best = dt;  // the first pass warms the caches
    }
    std::printf("%lld %.6e %g\n", (long long)bytes, best / refs, sum > 0 ? 0.0 : 1.0);
  }
  return 0;
}
"""


def probe(sizes: list[int], refs: int = 1 << 22, timeout: float = 600) -> list[tuple[int, float]]:
    """(bytes, seconds per random reference) for each working-set size in ``sizes``."""
    binary, _ = compile_program(SOURCE, name="memprobe")
    r = procs.run([binary, str(refs), *map(str, sizes)], timeout=timeout)
    if r.returncode != 0:
        raise ToolError(f"the memory probe failed ({r.returncode}): {r.stderr[-500:]}")
    out = []
    for line in r.stdout.splitlines():
        b, sec, _ = line.split()
        out.append((int(b), float(sec)))
    return out


def fit_levels(samples: list[tuple[int, float]], l2: float, llc: float) -> tuple[float, float]:
    """(seconds an L2 miss adds, seconds an LLC miss adds on top) from probe samples: a
    reference into ``ws`` bytes misses L2 with probability max(0, 1 - l2/ws) and the LLC
    with max(0, 1 - llc/ws) (``cost.miss_fraction``); the sample nearest the smallest
    size is the base (everything in L2).  Non-negative least squares, relative errors."""
    from scipy.optimize import nnls  # lazy: only calibration fits

    samples = sorted(samples)
    base = samples[0][1]
    rows, t = [], []
    for ws, sec in samples[1:]:
        rows.append([max(0.0, 1 - l2 / ws), max(0.0, 1 - llc / ws)])
        t.append(max(sec - base, 0.0))
    if not rows:
        return 0.0, 0.0
    A, t = np.array(rows), np.array(t)
    wgt = 1.0 / np.maximum(t, base)
    coef, _ = nnls(A * wgt[:, None], t * wgt)
    return float(coef[0]), float(coef[1])
