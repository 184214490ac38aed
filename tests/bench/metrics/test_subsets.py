from itertools import combinations

import pytest
import torch

from bench.metrics.subsets import all_subsets, subset_members, subset_name, subset_names


@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_every_nonempty_subset_once(m):
    masks = all_subsets(m)
    assert masks.dtype == torch.bool and masks.shape == (2**m - 1, m)
    rows = {tuple(r) for r in masks.tolist()}
    assert len(rows) == 2**m - 1 and all(any(r) for r in rows)


def test_order_is_size_then_lexicographic():
    members = [subset_members(row) for row in all_subsets(3)]
    assert members == [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]
    m = 5
    expected = [c for k in range(1, m + 1) for c in combinations(range(m), k)]
    assert [subset_members(row) for row in all_subsets(m)] == expected


def test_names():
    modalities = ("m0", "m1", "m2")
    assert subset_name(torch.tensor([True, False, True]), modalities) == "m0+m2"
    assert subset_names(all_subsets(3), modalities) == ["m0", "m1", "m2", "m0+m1", "m0+m2", "m1+m2", "m0+m1+m2"]


def test_invalid_inputs():
    with pytest.raises(ValueError):
        all_subsets(0)
    with pytest.raises(ValueError):
        subset_name(torch.zeros(3, dtype=torch.bool), ("a", "b", "c"))
    with pytest.raises(ValueError):
        subset_name(torch.ones(2, dtype=torch.bool), ("a", "b", "c"))


def test_single_source_pairs_are_every_ordered_pair_of_distinct_modalities():
    from bench.metrics.subsets import all_subsets, single_source_pairs, subset_members

    subsets = all_subsets(3)
    pairs = single_source_pairs(subsets, ("a", "b", "c"))
    assert sorted(name for _, _, name in pairs) == ["a_to_b", "a_to_c", "b_to_a", "b_to_c", "c_to_a", "c_to_b"]
    for row, t, name in pairs:
        (s,) = subset_members(subsets[row])
        assert name == f"{'abc'[s]}_to_{'abc'[t]}"
