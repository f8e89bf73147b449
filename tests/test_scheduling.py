"""The suite's own order under xdist (tests/scheduling.py): long tests spread over the workers' slices."""

from __future__ import annotations

from tests.scheduling import long_tests_first, slice_sizes

LONG = {"fuzz": 17.0, "kill": 13.0, "lock": 13.0, "outage": 11.0, "limit": 11.0, "late": 8.0}


def test_slices_are_what_worksteal_hands_out() -> None:
    assert slice_sizes(10, 4) == [2, 2, 3, 3]
    assert slice_sizes(1733, 4) == [433, 433, 433, 434]
    assert sum(slice_sizes(7, 3)) == 7


def test_each_slice_starts_with_its_share_of_the_long_tests_and_the_rest_keep_their_order() -> None:
    items = [f"t{i}" for i in range(40)] + list(LONG)  # the long ones last, as one file might hold them
    ordered = long_tests_first(items, LONG.get, 4, lanes=4)
    assert sorted(ordered) == sorted(items)
    slices, start = [], 0
    for size in slice_sizes(len(items), 4):
        slices.append(ordered[start : start + size])
        start += size
    loads = [sum(LONG.get(item, 0) for item in piece) for piece in slices]
    assert max(loads) <= 24  # 73 s over four: no slice holds two of the three longest
    for piece in slices:
        heads = [item for item in piece if item in LONG]
        assert piece[: len(heads)] == heads  # at the front of their slice
    others = [item for item in ordered if item not in LONG]
    assert others == [f"t{i}" for i in range(40)]


def test_one_worker_or_none_keeps_the_file_order() -> None:
    items = ["fuzz", "a", "b"]
    assert long_tests_first(items, LONG.get, 0, lanes=0) == items
    assert long_tests_first(items, LONG.get, 1, lanes=1) == items
    assert long_tests_first(["a", "b"], LONG.get, 4, lanes=2) == ["a", "b"]


def test_more_long_tests_than_a_slice_holds_are_all_kept() -> None:
    items = [*LONG, "a"]
    ordered = long_tests_first(items, LONG.get, 4, lanes=2)
    assert sorted(ordered) == sorted(items)


def test_with_lanes_only_that_many_slices_take_long_tests_balanced() -> None:
    items = [f"t{i}" for i in range(200)] + list(LONG)
    ordered = long_tests_first(items, LONG.get, 4, lanes=2)
    slices, start = [], 0
    for size in slice_sizes(len(items), 4):
        slices.append(ordered[start : start + size])
        start += size
    loads = [sum(LONG.get(item, 0) for item in piece) for piece in slices]
    assert loads[2:] == [0, 0]  # two workers compute while the other two wait
    assert sorted(loads[:2]) == [36, 37]  # 73 s, longest first to the lighter lane
