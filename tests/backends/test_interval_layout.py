"""Dense weighted edges in an interval unit's edge region (``backends/rtl/layout.py``,
version 7): two weighted edges a 64-bit word when every weight fits ``dense_bits``.

The decoder below is written from the layout's docstring (a half is two 16-bit fields,
each an L-bit index in its window and weight bits above it; the window from the block),
not from the encoder, and the two must agree on every edge."""

from __future__ import annotations

import numpy as np
import pytest

from cosynth.backends.rtl.layout import (
    DENSE,
    LAYOUT_VERSION,
    PACKED,
    MemoryLayout,
    dense,
    dense_bits,
    encode_run,
    map_words,
)
from cosynth.backends.rtl.regmap import Mem, RegisterMap

ALL_ONES = 0xFFFFFFFF


def _layout(n: int, interval: int, weighted: bool = True) -> MemoryLayout:
    rm = RegisterMap("u", "k", "v", 2 * interval, interval.bit_length(),
                     64 if weighted else 0, [], [], [Mem(0, "d", "live", "i64", 64)], [])
    return MemoryLayout.of(rm, n, interval)


def _decode(lay: MemoryLayout, target_end: str, words: np.ndarray, blocks) -> list:
    """(src, dst, weight) of every edge, read as the docstring says."""
    I = lay.interval
    L = I.bit_length() - 1
    F = 16 - L
    out = []
    for d, s, first, count, _gathered in blocks:
        at = first - lay.edge_base
        for i in range(count):
            half = int(words[at + i // 2]) >> (32 * (i % 2)) & ALL_ONES
            lo, hi = half & 0xFFFF, half >> 16
            si, di = lo & (I - 1), hi & (I - 1)
            w = (lo >> L) | (hi >> L) << F
            # the target in window A of interval d, the other endpoint in interval s
            t, o = (di, si) if target_end == "dst" else (si, di)
            tv, ov = d * I + t, s * I + o
            out.append((ov, tv, w) if target_end == "dst" else (tv, ov, w))
    return out


def _edges(n: int, m: int, seed: int, top: int):
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    return src, dst, rng.integers(0, top, m)


@pytest.mark.parametrize("interval,target_end", [(16, "dst"), (16, "src"), (4096, "dst"),
                                                 (2048, "src")])
def test_dense_weighted_edges_round_trip_through_a_decoder_written_from_the_spec(
        interval, target_end):
    n = 5 * interval + 7  # six intervals, the last one short
    lay = _layout(n, interval)
    F2 = dense_bits(lay)
    assert F2 == 32 - 2 * (interval.bit_length() - 1)
    src, dst, w = _edges(n, 3001, interval, 1 << F2)
    # an edge whose half is all ones: both indices I - 1 and the largest weight
    I = interval
    src = np.append(src, 2 * I - 1)
    dst = np.append(dst, 4 * I - 1)
    w = np.append(w, (1 << F2) - 1)
    words, blocks, packed = encode_run(lay, target_end, src, dst, w)
    assert packed == DENSE and LAYOUT_VERSION == 7
    got = _decode(lay, target_end, words, blocks)
    assert sorted(got) == sorted(zip(src.tolist(), dst.tolist(), w.tolist()))
    # two edges a word, an odd block's last word padded; a gather map before a
    # gathering block
    assert words.size == sum((b[3] + 1) // 2 + (map_words(lay) if b[4] else 0)
                             for b in blocks)
    # ... about half the words of the packed run (one edge a word)
    one = encode_run(lay, target_end, src, dst, w, dense_ok=False)
    assert one[2] == PACKED and one[0].size - words.size >= src.size // 2 - len(blocks)
    assert lay.as_dict()["dense_half"]["dst_index"] == [16, 16 + I.bit_length() - 1]


def test_odd_blocks_pad_their_last_words_high_half_and_even_ones_do_not():
    lay = _layout(64, 16)
    # block (0, 0): 3 edges; block (1, 0): 2 edges, one all ones; block (2, 0): 1 edge
    src = np.array([1, 2, 3, 4, 15, 15])
    dst = np.array([5, 6, 7, 20, 31, 47])
    top = (1 << dense_bits(lay)) - 1
    w = np.array([1, 2, 3, 4, top, top])
    words, blocks, packed = encode_run(lay, "dst", src, dst, w, gather=False)
    assert packed == DENSE
    by = {(b[0], b[1]): b for b in blocks}
    assert [by[k][3] for k in ((0, 0), (1, 0), (2, 0))] == [3, 2, 1]
    last = {k: int(words[b[2] - lay.edge_base + (b[3] - 1) // 2]) for k, b in by.items()}
    assert last[(0, 0)] >> 32 == ALL_ONES  # the pad
    assert last[(0, 0)] & ALL_ONES != ALL_ONES  # a real edge
    # the real edge 15 -> 47 of the largest weight is all ones: the same bits as the
    # pad beside it; the engine tells them apart by position (an odd block's last high
    # half), never by content
    assert last[(2, 0)] == (ALL_ONES << 32 | ALL_ONES)
    assert ALL_ONES in (last[(1, 0)] & ALL_ONES, last[(1, 0)] >> 32)  # no pad, a real edge
    assert sorted(_decode(lay, "dst", words, blocks)) == \
        sorted(zip(src.tolist(), dst.tolist(), w.tolist()))


def test_a_weight_out_of_range_or_negative_falls_back_to_todays_formats():
    lay = _layout(64, 16)  # dense weights: 24 bits
    src, dst = np.array([1, 20, 39]), np.array([30, 2, 39])
    top = 1 << dense_bits(lay)
    assert dense(lay, [0, 1, top - 1]) and not dense(lay, [0, top]) and not dense(lay, [-1, 5])
    for w, want, words in (([1, 2, top - 1], DENSE, 3),  # three blocks of one: each padded
                           ([1, 2, top], PACKED, 3),  # beyond the dense field: one a word
                           ([1, -2, 3], PACKED, 3),  # negative: packed, signed 32 bits
                           ([1, 2**31, 3], 0, 6)):  # beyond 32 bits: two words an edge
        got, blocks, packed = encode_run(lay, "dst", src, dst, np.array(w), gather=False)
        assert packed == want and got.size == words, w
    # an interval too large for 16-bit fields: no dense (and no packed) edges
    big = _layout(1 << 17, 1 << 16)
    assert dense_bits(big) == 0 and encode_run(big, "dst", src, dst, np.array([1, 2, 3]))[2] == 0
    # unweighted runs never go dense (their pairs are ``PACKED``)
    un = _layout(64, 16, weighted=False)
    assert dense_bits(un) == 0 and encode_run(un, "dst", src, dst, None)[2] == PACKED
