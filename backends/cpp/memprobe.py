"""What a random reference into vertex data costs as the data outgrow each cache: the
machine figure behind the cost model's two-level working-set term (``planner/cost.py``),
measured by ``cosynth calibrate``.

The probe is the access pattern of a gather (``acc += share[in_src[p]]``): a sequential
array of random positions, an independent load at each, summed -- so the core overlaps the
misses as it does in a kernel, and the figure is the throughput cost, not the latency.
For each working-set size it reports the best of a few passes in seconds per reference,
by the thread's CPU clock (on a shared machine the wall clock adds the time other
processes took: at load 11.5 on 2 cores a 0.5 MiB set read 3.67 ns a reference by the wall
clock, 0.64-0.71 ns by the CPU clock);
``fit_levels`` turns those into the cost of a reference that misses the second-level
cache (and hits the last level) and the extra cost of one that misses the last level
too, given the two caches' sizes.
"""

from __future__ import annotations

import numpy as np

from cosynth import procs
from cosynth.errors import ToolError

from ..toolchain import compile_program

__all__ = ["probe", "fit_levels", "fit_cache", "SOURCE", "flip_probe", "FLIP_SOURCE",
           "probe_rows", "row_line_cost", "ROWS_SOURCE", "ROW_ENTRIES",
           "STREAM_SOURCE", "probe_stream"]

SOURCE = r"""
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
// the thread's CPU clock: on a shared machine the wall clock adds the time others took
static double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
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
      const double t0 = cpu_now();
      double acc = 0;
      for (int64_t i = 0; i < refs; ++i) acc += x[at[i]];
      const double dt = cpu_now() - t0;
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
    lines = _run_probe(SOURCE, "memprobe", "the memory probe", [refs, *sizes], timeout)
    return [(int(b), float(sec)) for b, sec, _ in (x.split() for x in lines)]


def _run_probe(source: str, name: str, what: str, args: list, timeout: float) -> list[str]:
    """Compile probe ``source`` (cached as ``name``), run it with ``args`` and return its
    output lines; ``ToolError`` naming ``what`` when it fails."""
    binary, _ = compile_program(source, name=name)
    r = procs.run([binary, *map(str, args)], timeout=timeout)
    if r.returncode != 0:
        raise ToolError(f"{what} failed ({r.returncode}): {r.stderr[-500:]}")
    return r.stdout.splitlines()


#: the branch probe: the shape of a vertex scan guarded by a flag (k-core's ``if not
#: removed[v]: lowest min= deg[v]``) over a byte array of flags in two arrangements with
#: the same count of each value -- random (a change at half the elements) and sorted (one
#: change) -- timed by the thread's CPU clock, best of a few passes each; the empty
#: ``asm volatile`` in the taken branch keeps the compiler from turning the branch into
#: a conditional move (the kernel's ``red_min`` through a pointer stays a branch)
FLIP_SOURCE = r"""
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
static double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
static int64_t __attribute__((noinline)) scan(const uint8_t* flag, const int64_t* val,
                                              int64_t n) {
  int64_t acc = INT64_MAX;
  for (int64_t i = 0; i < n; ++i) {
    if (!flag[i]) {
      asm volatile("");
      if (val[i] < acc) acc = val[i];
    }
  }
  return acc;
}
int main(int argc, char** argv) {
  const int64_t n = std::atoll(argv[1]);
  const int repeats = std::atoi(argv[2]);
  std::vector<uint8_t> rnd(n), srt(n);
  std::vector<int64_t> val(n);
  uint64_t s = 0x9E3779B97F4A7C15ull;
  int64_t ones = 0, changes = 0;
  for (int64_t i = 0; i < n; ++i) {  // xorshift64: independent fair bits
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    rnd[i] = (uint8_t)(s >> 63);
    ones += rnd[i];
    val[i] = (int64_t)((s >> 8) & 0xFFFFFF);
    if (i && rnd[i] != rnd[i - 1]) ++changes;
  }
  for (int64_t i = 0; i < n; ++i) srt[i] = (uint8_t)(i >= n - ones);
  int64_t sink = 0;
  for (int r = 0; r < repeats; ++r) {
    double best[2] = {1e30, 1e30};
    for (int pass = 0; pass < 5; ++pass) {
      for (int which = 0; which < 2; ++which) {
        const uint8_t* f = which ? srt.data() : rnd.data();
        const double t0 = cpu_now();
        sink += scan(f, val.data(), n);
        const double dt = cpu_now() - t0;
        if (pass > 0 && dt < best[which]) best[which] = dt;  // the first pass warms up
      }
    }
    std::printf("%lld %lld %.6e %.6e\n", (long long)n, (long long)changes, best[0], best[1]);
  }
  std::fprintf(stderr, "%lld\n", (long long)sink);
  return 0;
}
"""


def flip_probe(n: int = 1 << 20, repeats: int = 7, timeout: float = 120
               ) -> tuple[float, list[float]]:
    """(seconds one core loses per change of a branch's outcome, the per-repeat figures):
    a scan of ``n`` flags guarded as a vertex scan is (``FLIP_SOURCE``), random against
    sorted, ``(t_random - t_sorted) / changes``, the median of ``repeats`` repeats (each
    the best of four timed passes per arrangement, by the CPU clock).  A fair random
    flag is mispredicted at about every change (no predictor does better than half on
    independent fair bits, and half the elements change), so this is the cost of a
    misprediction as the cost model's guard term (``cost.flip_seconds``) counts it."""
    each = []
    for line in _run_probe(FLIP_SOURCE, "flipprobe", "the branch probe", [n, repeats],
                           timeout):
        _, changes, t_rnd, t_srt = line.split()
        each.append(max(float(t_rnd) - float(t_srt), 0.0) / max(int(changes), 1))
    return float(np.median(each)), each


def fit_levels(samples: list[tuple[int, float]], l2: float, llc: float) -> tuple[float, float]:
    """(seconds an L2 miss adds, seconds an LLC miss adds on top) from probe samples: a
    reference into ``ws`` bytes misses L2 with probability max(0, 1 - l2/ws) and the LLC
    with max(0, 1 - llc/ws) (``cost.miss_fraction``); the sample nearest the smallest
    size is the base (everything in L2).  Non-negative least squares, relative errors."""
    return _fit(samples, l2, llc)[:2]


def fit_cache(samples: list[tuple[int, float]], l2: float, llc_max: float
              ) -> tuple[float, float, float, float]:
    """(the second-level cache and the last-level cache a core's random references can
    use, in bytes; the two costs of ``fit_levels``) from probe samples: the pair of sizes,
    L2 from ``l2`` / 4 up to ``l2`` and the LLC above it up to ``llc_max``, among the
    sampled sizes and the geometric midpoints between them, whose ``fit_levels`` fit
    leaves the least relative error.  ``l2`` and ``llc_max`` are what the system reports.
    In a virtual machine the LLC it reports is the host socket's whole cache, shared with
    every other guest (here sysfs says 480 MiB while a reference costs 4.8 ns at 16 MiB,
    7.6-8.0 at 32 and 13.6-14.3 at 64 against 0.6-0.7 within L2), and the L2 holds the
    stream of positions as well as the random entries (1.4-1.5 ns at 2 MiB, the L2's
    size, 0.8 at 1 MiB): the sizes that price the references are measured, not read."""
    sizes = sorted({float(b) for b, _ in samples})

    def grid(lo: float, hi: float) -> list[float]:
        got = [b for b in sizes if lo <= b <= hi] + [lo, hi]
        got += [(a * b) ** 0.5 for a, b in zip(sizes, sizes[1:]) if lo <= a and b <= hi]
        return sorted(set(got))
    best = None
    for l2_eff in grid(l2 / 4, float(l2)):
        for llc in grid(l2_eff * 2, float(llc_max)):
            c_l2, c_llc, res = _fit(samples, l2_eff, llc)
            if best is None or res < best[4] * (1 - 1e-9):
                best = (l2_eff, llc, c_l2, c_llc, res)
    return best[:4]


def _fit(samples, l2: float, llc: float) -> tuple[float, float, float]:
    """``fit_levels``' two costs and the fit's residual (relative errors)."""
    from scipy.optimize import nnls  # lazy: only calibration fits

    samples = sorted(samples)
    base = samples[0][1]
    rows, t = [], []
    for ws, sec in samples[1:]:
        rows.append([max(0.0, 1 - l2 / ws), max(0.0, 1 - llc / ws)])
        t.append(max(sec - base, 0.0))
    if not rows:
        return 0.0, 0.0, 0.0
    A, t = np.array(rows), np.array(t)
    wgt = 1.0 / np.maximum(t, base)
    coef, res = nnls(A * wgt[:, None], t * wgt)
    return float(coef[0]), float(coef[1]), float(res)


#: entries (4 bytes each) of a row the row probe reads: a Kronecker graph's mean degree
#: (29-30 at kron-16..20), two 64-byte lines
ROW_ENTRIES = 32

ROWS_SOURCE = r"""
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
static double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
// one entry at a time, as a relaxation's edge loop reads its row (not vectorised: a
// vector loop consumes a line in a few cycles and exposes more of each miss)
__attribute__((optimize("no-tree-vectorize")))
static int64_t walk(const int32_t* r, int64_t len, int64_t acc) {
  for (int64_t j = 0; j < len; ++j) acc += r[j];
  return acc;
}
// rows visited out of order: row r is entries [r * len, (r + 1) * len) of a 4-byte array
// of `bytes`; the rows come in a random order, each read whole -- a frontier's walk of
// the CSR rows of the vertices it holds (the row's first line depends on the position,
// the next ones follow it)
int main(int argc, char** argv) {
  const int64_t refs = std::atoll(argv[1]), len = std::atoll(argv[2]);
  for (int a = 3; a < argc; ++a) {
    const int64_t bytes = std::atoll(argv[a]), n = bytes / 4, rows = n / len;
    std::vector<int32_t> x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = (int32_t)(i & 7);
    const int64_t visits = refs / len;
    std::vector<uint32_t> at(visits);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < visits; ++i) {
      s ^= s << 13; s ^= s >> 7; s ^= s << 17;
      at[i] = (uint32_t)(s % (uint64_t)rows);
    }
    double best = 1e30;
    int64_t sum = 0;
    for (int pass = 0; pass < 4; ++pass) {
      const double t0 = cpu_now();
      int64_t acc = 0;
      for (int64_t i = 0; i < visits; ++i) {
        acc = walk(&x[(int64_t)at[i] * len], len, acc);
      }
      const double dt = cpu_now() - t0;
      sum += acc;
      if (pass > 0 && dt < best) best = dt;  // the first pass warms the caches
    }
    std::printf("%lld %.6e %d\n", (long long)bytes, best / (visits * len * 4.0 / 64),
                (int)(sum & 1));
  }
  return 0;
}
"""


def probe_rows(sizes: list[int], entries: int = ROW_ENTRIES, refs: int = 1 << 23,
               timeout: float = 600) -> list[tuple[int, float]]:
    """(bytes, seconds per 64-byte line) of reading rows of ``entries`` 4-byte entries
    of an array of each size in ``sizes``, the rows in a random order."""
    lines = _run_probe(ROWS_SOURCE, "rowprobe", "the row probe", [refs, entries, *sizes],
                       timeout)
    return [(int(b), float(sec)) for b, sec, _ in (x.split() for x in lines)]


def row_line_cost(samples: list[tuple[int, float]], llc: float) -> float:
    """Seconds a line of a row visited out of order costs when it misses the last-level
    cache of ``llc`` bytes, from ``probe_rows`` samples: the largest sample's time per
    line over the smallest's (every line cached), divided by the share of the largest
    array the cache does not hold."""
    samples = sorted(samples)
    (_, base), (big, top) = samples[0], samples[-1]
    share = max(0.0, 1.0 - llc / big)
    return max(top - base, 0.0) / share if share > 0 else 0.0


#: the stream probe: a 4-byte array read whole, in order, one entry at a time (a sweep's
#: walk of the CSR / CSC rows in vertex order: the hardware prefetches each next line), a
#: fixed number of entries per pass (small arrays are walked again), best of 3 timed passes
STREAM_SOURCE = r"""
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
static double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
__attribute__((optimize("no-tree-vectorize")))
static int64_t walk(const int32_t* r, int64_t len, int64_t acc) {
  for (int64_t j = 0; j < len; ++j) acc += r[j];
  return acc;
}
int main(int argc, char** argv) {
  const int64_t total = std::atoll(argv[1]);
  for (int a = 2; a < argc; ++a) {
    const int64_t bytes = std::atoll(argv[a]), n = bytes / 4;
    std::vector<int32_t> x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = (int32_t)(i & 7);
    double best = 1e30;
    int64_t sum = 0;
    for (int pass = 0; pass < 4; ++pass) {
      const double t0 = cpu_now();
      int64_t acc = 0;
      for (int64_t done = 0; done < total; done += n)
        acc = walk(x.data(), n < total - done ? n : total - done, acc);
      const double dt = cpu_now() - t0;
      sum += acc;
      if (pass > 0 && dt < best) best = dt;  // the first pass warms the caches
    }
    std::printf("%lld %.6e %d\n", (long long)bytes, best / (total * 4.0 / 64),
                (int)(sum & 1));
  }
  return 0;
}
"""


def probe_stream(sizes: list[int], entries: int = 1 << 26,
                 timeout: float = 600) -> list[tuple[int, float]]:
    """(bytes, seconds per 64-byte line) of reading a 4-byte array of each size in
    ``sizes`` whole and in order, ``entries`` entries a pass.  ``row_line_cost`` of
    these samples is what a line of a sweep's rows costs beyond the last-level cache."""
    lines = _run_probe(STREAM_SOURCE, "streamprobe", "the stream probe", [entries, *sizes],
                       timeout)
    return [(int(b), float(sec)) for b, sec, _ in (x.split() for x in lines)]
