"""Best-fit bin packing of example lengths (online in the given order, or decreasing)."""

from __future__ import annotations

import bisect


def best_fit_decreasing(items: list[tuple[int, int]], capacity: int) -> list[list[int]]:
    """Best fit, longest first (stable: equal lengths keep input order)."""
    return best_fit(sorted(items, key=lambda it: -it[1]), capacity)


def best_fit(order: list[tuple[int, int]], capacity: int) -> list[list[int]]:
    """Pack (index, length) items, in the order given, into bins of `capacity` tokens; an item
    longer than the capacity gets a bin of its own. Each goes to the fullest bin it fits.
    Returns bins as lists of indices (in placement order). Deterministic for a given input order."""
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # sorted (remaining capacity, bin id)
    for idx, length in order:
        if length >= capacity:
            bins.append([idx])
            continue
        pos = bisect.bisect_left(free, (length, -1))
        if pos < len(free):
            remaining, bin_id = free.pop(pos)
            bins[bin_id].append(idx)
            remaining -= length
        else:
            bin_id = len(bins)
            bins.append([idx])
            remaining = capacity - length
        if remaining > 0:
            bisect.insort(free, (remaining, bin_id))
    return bins
