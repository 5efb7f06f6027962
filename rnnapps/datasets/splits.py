"""Reproducible train/validation/test splits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rnnapps.errors import UserError


def split_indices(count: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle range(count) with `seed` and cut off `fraction` of it.

    Args:
        count: number of examples.
        fraction: share that goes to the second part, in [0, 1).
        seed: shuffling seed (the same seed gives the same split).

    Returns:
        (kept indices, held-out indices), each sorted, as int64 arrays.
    """
    if not 0 <= fraction < 1:
        raise UserError(f"a split fraction must be in [0, 1), got {fraction}")
    order = np.random.default_rng(seed).permutation(count)
    held = int(round(count * fraction))
    if fraction > 0 and count >= 2:
        held = max(held, 1)
    held = min(held, max(count - 1, 0))  # never hold out every example
    return np.sort(order[held:]), np.sort(order[:held])


def grouped_split_indices(keys: list[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Like `split_indices` but every example with the same key lands on the same side.

    Used so that one source sentence never appears in both training and test data.

    Args:
        keys: one grouping key per example.
        fraction: share of groups held out.
        seed: shuffling seed.

    Returns:
        (kept indices, held-out indices) into `keys`.
    """
    groups = sorted(set(keys))
    _, held_groups = split_indices(len(groups), fraction, seed)
    held = {groups[i] for i in held_groups}
    is_held = np.array([key in held for key in keys], dtype=bool)
    return np.flatnonzero(~is_held), np.flatnonzero(is_held)


def check_fractions(validation_fraction: float, test_fraction: float) -> None:
    """Raise `UserError` unless data.validation_fraction and data.test_fraction are shares in [0, 1) that leave
    some training data."""
    for field, value in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise UserError(f"data.{field} = {value}: expected a share in [0, 1)")
    total = validation_fraction + test_fraction
    if total >= 1:
        raise UserError(f"data.validation_fraction + data.test_fraction = {total:g} leaves no training data; "
                        "keep the sum below 1")


def sample_indices(count: int, limit: int, seed: int) -> np.ndarray:
    """At most `limit` of range(count), chosen at random with `seed`, in their original order (all of them
    when count <= limit)."""
    if count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).permutation(count)[:limit])


def carve_missing_splits(found: dict[str, Any], test_fraction: float, validation_fraction: float, seed: int,
                         group_keys: Callable[[Any], list[str]] | None = None,
                         fractions_of_all: bool = True) -> tuple[Any, Any, Any]:
    """The train, validation and test splits of a source: the ones it has, and the missing ones carved out of
    its training split (first test, then validation).

    Args:
        found: split name ("train", "validation", "test") -> examples, anything with len() and
            `.subset(indices)`; "train" must be there.
        test_fraction, validation_fraction: shares held out for the missing splits.
        seed: the test split uses `seed`, the validation split `seed + 1`.
        group_keys: examples -> one key per example; examples with one key always land in one split
            (`grouped_split_indices`). None: examples are split one by one.
        fractions_of_all: both fractions are shares of all examples (the validation share is then taken of
            what the test split left); False: the validation share is of what is left.

    Returns:
        (train, validation, test).
    """
    train, validation, test = found["train"], found.get("validation"), found.get("test")

    def cut(examples, fraction: float, split_seed: int):
        if group_keys is None:
            return split_indices(len(examples), fraction, split_seed)
        return grouped_split_indices(group_keys(examples), fraction, split_seed)

    if test is None:
        keep, held = cut(train, test_fraction, seed)
        train, test = train.subset(keep), train.subset(held)
        if fractions_of_all:
            validation_fraction /= 1 - test_fraction
    if validation is None:
        keep, held = cut(train, validation_fraction, seed + 1)
        train, validation = train.subset(keep), train.subset(held)
    return train, validation, test
