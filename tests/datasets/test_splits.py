"""Reproducible train/held-out splits."""

import numpy as np
import pytest

from rnnapps.datasets import splits
from rnnapps.errors import UserError


def test_split_sizes_and_partition():
    keep, held = splits.split_indices(100, 0.1, seed=0)
    assert (len(keep), len(held)) == (90, 10)
    assert keep.dtype == np.int64 and held.dtype == np.int64
    assert list(keep) == sorted(keep) and list(held) == sorted(held)
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(100))


def test_same_seed_same_split_other_seed_other_split():
    first = splits.split_indices(50, 0.2, seed=7)
    again = splits.split_indices(50, 0.2, seed=7)
    other = splits.split_indices(50, 0.2, seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize("count, fraction, held", [
    (10, 0.0, 0),   # nothing held out
    (10, 0.01, 1),  # a positive fraction holds out at least one example...
    (1, 0.5, 0),    # ...but never the only one
    (2, 0.9, 1),    # ...nor every example
    (0, 0.3, 0),
    (7, 0.5, 4),    # round(3.5) = 4
])
def test_held_out_counts(count, fraction, held):
    keep, held_out = splits.split_indices(count, fraction, seed=0)
    assert (len(keep), len(held_out)) == (count - held, held)


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_bad_fraction(fraction):
    with pytest.raises(UserError) as error:
        splits.split_indices(10, fraction, seed=0)
    assert str(error.value) == f"a split fraction must be in [0, 1), got {fraction}"


def test_grouped_split_keeps_groups_together():
    keys = ["a", "b", "a", "c", "d", "b", "e", "a", "f", "g"]
    keep, held = splits.grouped_split_indices(keys, 0.3, seed=1)
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(len(keys)))
    kept_keys = {keys[i] for i in keep}
    held_keys = {keys[i] for i in held}
    assert not kept_keys & held_keys
    assert len(held_keys) == 2  # round(7 groups * 0.3)
    again = splits.grouped_split_indices(keys, 0.3, seed=1)
    assert np.array_equal(again[1], held)


class _Rows(list):
    def subset(self, indices):
        return _Rows(self[i] for i in indices)


def test_carve_missing_splits_keeps_given_splits_and_groups():
    rows = _Rows(f"s{i // 2}" for i in range(200))  # pairs of rows share a key
    train, validation, test = splits.carve_missing_splits({"train": rows}, 0.1, 0.1, seed=3,
                                                          group_keys=lambda examples: list(examples))
    assert len(train) + len(validation) + len(test) == 200
    assert not (set(train) & set(test)) and not (set(train) & set(validation)) and not (set(validation) & set(test))
    assert 16 <= len(test) <= 24 and 16 <= len(validation) <= 24  # both shares of all rows
    given = _Rows(["t1", "t2"])
    train, validation, test = splits.carve_missing_splits({"train": rows, "test": given}, 0.5, 0.5, seed=3,
                                                          fractions_of_all=False)
    assert test == given and len(validation) == 100 and len(train) == 100
