"""tf.data pipelines from token ids: shuffling, length bucketing, padding, caching, prefetch."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def bucket_boundaries(lengths: np.ndarray, num_buckets: int, max_length: int) -> list[int]:
    """Length boundaries that put about the same number of sequences in each bucket.

    Args:
        lengths: int array [examples] of sequence lengths.
        num_buckets: number of buckets wanted.
        max_length: upper bound of every length.

    Returns:
        Strictly increasing boundaries (exclusive upper bounds), at most num_buckets - 1 of them.
    """
    if num_buckets < 2 or len(lengths) == 0:
        return []
    quantiles = np.quantile(lengths, np.linspace(0, 1, num_buckets + 1)[1:-1])
    bounds = sorted({int(q) + 1 for q in quantiles if 1 < int(q) + 1 <= max_length})
    return bounds


def padded_batches(
    inputs,
    targets,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int,
    bucketing: bool,
    num_buckets: int = 8,
    pad_to: int = 0,
    shuffle_buffer: int = 50000,
) -> tf.data.Dataset:
    """Batches of right-padded id sequences (padding id 0) with their targets.

    Args:
        inputs: int32 ragged tensor [examples, (tokens)], or a tuple of them (e.g. source ids and
            target input ids), already truncated.
        targets: per-example targets: a dense array [examples, ...] (class ids) or a ragged tensor
            [examples, (tokens)] (target sequences).
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (training).
        seed: shuffle seed.
        bucketing: group examples of similar length (their longest sequence) so batches carry little padding.
        num_buckets: length buckets when bucketing.
        pad_to: without bucketing, pad every sequence to this fixed length (0 = longest in batch).
        shuffle_buffer: shuffle buffer size.

    Returns:
        A dataset of (inputs, targets) batches shaped like the arguments, sequences as int32
        [batch, time], prefetched.
    """
    structure = (inputs, targets)
    parts = tf.nest.flatten(structure)
    is_sequence = [isinstance(part, tf.RaggedTensor) for part in parts]
    dataset = tf.data.Dataset.from_tensor_slices(structure)
    # Slices of a ragged tensor are RaggedTensorSpec rows; the identity map turns them into dense
    # vectors, which `padded_batch` and `bucket_by_sequence_length` need.
    dataset = dataset.map(lambda x, y: (x, y))
    if shuffle:
        dataset = dataset.shuffle(min(shuffle_buffer, int(parts[0].nrows() if is_sequence[0] else len(parts[0]))),
                                  seed=seed, reshuffle_each_iteration=True)

    def example_length(x, y):
        lengths = [tf.shape(part)[0] for part, flag in zip(tf.nest.flatten((x, y)), is_sequence) if flag]
        return tf.reduce_max(tf.stack(lengths))

    if bucketing:
        lengths = np.max([part.row_lengths().numpy() for part, flag in zip(parts, is_sequence) if flag], axis=0)
        boundaries = bucket_boundaries(lengths, num_buckets, int(lengths.max(initial=1)))
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=example_length,
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            pad_to_bucket_boundary=False,
        )
    else:
        shapes = [tf.TensorShape([pad_to or None]) if flag else tf.TensorShape(np.shape(part)[1:])
                  for part, flag in zip(parts, is_sequence)]
        dataset = dataset.padded_batch(batch_size, padded_shapes=tf.nest.pack_sequence_as(structure, shapes))
    return dataset.prefetch(tf.data.AUTOTUNE)


def truncate(ids: tf.RaggedTensor, max_length: int, keep: str = "start") -> tf.RaggedTensor:
    """Cut every row of `ids` to at most `max_length` tokens, keeping its "start" or its "end"."""
    if keep == "end":
        return ids[:, -max_length:]
    return ids[:, :max_length]
