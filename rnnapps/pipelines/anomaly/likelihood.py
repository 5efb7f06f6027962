"""Anomaly scores and flags from forecast errors, online, in graph (TensorFlow): HTM's anomaly likelihood
(Ahmad et al. 2017, "Unsupervised real-time anomaly detection for streaming data") and one alert per anomaly.

Every row's score reads only the errors at and before it (cumulative sums, never a look ahead), so the same
function over a longer series gives the same scores on the rows they share.
"""

from __future__ import annotations

import math

import tensorflow as tf

# The score is log(q) / log(TAIL_FLOOR) for a tail probability q: 0 for q = 1, 1 for q <= TAIL_FLOOR.
TAIL_FLOOR = 1e-10


def _window_sums(values: tf.Tensor, rows: int | tf.Tensor, include_current: bool) -> tuple[tf.Tensor, tf.Tensor]:
    """Sums of `values` float64 [batch, N] over the last `rows` rows at each row (at and before it, or only
    before it) and how many rows each sum holds: ([batch, N], [N])."""
    count = tf.shape(values)[1]
    totals = tf.pad(tf.cumsum(values, axis=1), [[0, 0], [1, 0]])  # totals[:, i] = sum of values[:, :i]
    index = tf.range(count)
    stop = index + 1 if include_current else index
    start = tf.maximum(stop - rows, 0)
    sums = tf.gather(totals, stop, axis=1) - tf.gather(totals, start, axis=1)
    return sums, stop - start


def likelihood_scores(errors: tf.Tensor, average_rows: int, history_rows: int, min_deviation: float) -> tf.Tensor:
    """The anomaly likelihood of each row's recent errors, as a score in [0, 1].

    The mean error of the last `average_rows` rows is compared with the mean and deviation of that same mean over
    the `history_rows` rows before (the deviation at least `min_deviation`); a mean this high or higher has the
    Gaussian tail probability q, and the score is log(q) / log(1e-10). A row with fewer than `average_rows` rows
    of history scores 0.

    Args:
        errors: float [batch, N], the rows' forecast errors (>= 0), in order.
        average_rows, history_rows, min_deviation: the recipe's `[detector]` settings.

    Returns:
        float32 [batch, N].
    """
    errors = tf.cast(errors, tf.float64)
    short_sums, short_counts = _window_sums(errors, average_rows, include_current=True)
    recent = short_sums / tf.cast(tf.maximum(short_counts, 1), tf.float64)
    sums, counts = _window_sums(recent, history_rows, include_current=False)
    squares, _ = _window_sums(tf.square(recent), history_rows, include_current=False)
    counted = tf.cast(tf.maximum(counts, 1), tf.float64)
    mean = sums / counted
    deviation = tf.maximum(tf.sqrt(tf.maximum(squares / counted - tf.square(mean), 0.0)),
                           tf.constant(min_deviation, tf.float64))
    tail = 0.5 * tf.math.erfc((recent - mean) / deviation / math.sqrt(2.0))
    scores = tf.clip_by_value(tf.math.log(tail + TAIL_FLOOR) / math.log(TAIL_FLOOR), 0.0, 1.0)
    return tf.cast(tf.where(counts >= average_rows, scores, 0.0), tf.float32)


def held_flags(scores: tf.Tensor, threshold: float | tf.Tensor, hold_rows: int) -> tf.Tensor:
    """Flags where the score reaches `threshold`, except within `hold_rows` rows after a flag (one alert per
    anomaly rather than one per row of it).

    Args:
        scores: float [batch, N] in row order.
        threshold: a number, or float [batch, 1]: one per row of the batch (`evaluate --tune-on` tries many).

    Returns:
        bool [batch, N].
    """
    over = tf.transpose(scores >= threshold)  # [N, batch]: tf.scan runs over the first axis

    def step(state, reached):
        since, _ = state
        flag = reached & (since > hold_rows)
        return tf.where(flag, 1, since + 1), flag

    start = tf.fill(tf.shape(over)[1:], hold_rows + 1)
    _, flags = tf.scan(step, over, initializer=(start, tf.zeros_like(over[0])))
    return tf.transpose(flags)
