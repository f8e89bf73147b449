"""Long tests first, one worker's share each: the order the suite's tests run in under pytest-xdist.

A few tests take 3-17 s, most of it waiting on real timers (a rate limit waited out, a lease running out
after a SIGKILL, a busy timeout, a 15-second fuzz of a subprocess). Collected in file order they all fell
into the first worker's share (xdist's `worksteal` hands each worker one contiguous slice, and a worker
that runs dry steals from the *end* of another's): that worker ran 40-60 s of them back to back while the
other three had finished, the suite's tail. Spread over all four, they then waited side by side
in the first 25 s with the two cores half idle. Marked `@pytest.mark.takes(seconds)`, they now go to the
front of as many slices as there are workers beyond the cores (two of four on two cores), longest first,
each to the lightest of those slices: their waiting overlaps the other workers' CPU from the first second.
Nothing else moves: the rest keep their file order (and so their module fixtures), slice by slice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")


def slice_sizes(count: int, workers: int) -> list[int]:
    """How xdist's worksteal scheduler splits `count` tests over `workers` idle workers (each takes
    `len(pending) // workers_left` in turn)."""
    sizes: list[int] = []
    left = count
    for i in range(workers):
        size = left // (workers - i)
        sizes.append(size)
        left -= size
    return sizes


def long_tests_first(
    items: Sequence[Item], seconds_of: Callable[[Item], float | None], workers: int, lanes: int
) -> list[Item]:
    """`items` reordered so that the first `lanes` of the workers' slices start with their share of the
    long tests (those `seconds_of` gives a duration); the others keep their order. Fewer than two workers:
    unchanged."""
    if workers < 2:
        return list(items)
    long = [(item, seconds) for item in items if (seconds := seconds_of(item)) is not None]
    if not long:
        return list(items)
    rest = [item for item in items if seconds_of(item) is None]
    shares: list[list[Item]] = [[] for _ in range(workers)]
    loads = [0.0] * max(1, min(lanes, workers))
    for item, seconds in sorted(long, key=lambda pair: -pair[1]):  # stable: file order among equals
        lightest = loads.index(min(loads))
        shares[lightest].append(item)
        loads[lightest] += seconds
    ordered: list[Item] = []
    taken = 0
    for share, size in zip(shares, slice_sizes(len(items), workers), strict=True):
        fill = max(0, size - len(share))
        ordered += share + rest[taken : taken + fill]
        taken += fill
    return ordered + rest[taken:]
