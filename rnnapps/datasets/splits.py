"""Reproducible train/validation/test splits."""

from __future__ import annotations

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
