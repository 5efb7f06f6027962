"""tf.data pipelines from token ids: shuffling, length bucketing, padding, caching, prefetch."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def bucket_boundaries(lengths: np.ndarray, num_buckets: int, max_length: int, min_count: int = 1) -> list[int]:
    """Length boundaries that leave the least padding: each bucket's batches are padded to about its
    longest length, so this minimises the sum over buckets of (examples in it) x (its longest length).

    Equal-count buckets (quantiles) pad much more where it costs most: integer lengths tie, so quantiles
    collapse into fewer buckets, and the long tail, whose tokens dominate the work, ends up in one wide bucket.

    Args:
        lengths: int array [examples] of sequence lengths.
        num_buckets: at most this many buckets.
        max_length: upper bound of every length.
        min_count: the fewest examples a bucket may hold (a bucket of a few examples makes small, slow batches).

    Returns:
        Strictly increasing boundaries (exclusive upper bounds), at most num_buckets - 1 of them.
    """
    lengths = np.minimum(np.asarray(lengths, dtype=np.int64), max_length)
    if num_buckets < 2 or len(lengths) < 2 * max(min_count, 1):
        return []
    values, counts = np.unique(lengths, return_counts=True)
    before = np.concatenate([[0], np.cumsum(counts)])  # before[i]: examples shorter than values[i]
    # cost[k, e]: least padded positions of the examples shorter than values[e] (exclusive) in k buckets;
    # the last of those buckets spans values[start:e] and is padded to values[e - 1].
    cost = np.full((num_buckets + 1, len(values) + 1), np.inf)
    cost[0, 0] = 0.0
    start_of = np.zeros(cost.shape, dtype=np.int64)
    for k in range(1, num_buckets + 1):
        for end in range(1, len(values) + 1):
            starts = np.arange(end)
            examples = before[end] - before[starts]
            options = np.where(examples >= min_count, cost[k - 1, starts] + examples * values[end - 1], np.inf)
            start_of[k, end] = int(np.argmin(options))
            cost[k, end] = options[start_of[k, end]]
    buckets = int(np.argmin(cost[1:, -1])) + 1  # fewer buckets when more would not save anything
    if not np.isfinite(cost[buckets, -1]):
        return []
    bounds, end = [], len(values)
    for k in range(buckets, 0, -1):
        end = start_of[k, end]
        if end:
            bounds.append(int(values[end - 1]) + 1)
    return sorted(bounds)


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
    groups: np.ndarray | None = None,
    full_batches: str = "never",
    fixed_lengths: bool = False,
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
        groups: int array [examples] sorted ascending, or None. Examples with the same group id are
            alternatives (the captions of one image): each pass yields one example per group, drawn
            afresh every pass, so a pass costs one example per group, not one per example.
        full_batches: for shuffled (training) passes: "always": every batch holds batch_size examples (each
            bucket's remainder waits for another pass's shuffle), so the batch dimension is static; "auto":
            so when that leaves out at most MAX_LEFT_OUT of a pass on average; "never": the last batch of a
            bucket may be partial. Unshuffled passes always keep every example.
        fixed_lengths: pad to lengths known before the pass instead of the longest in each batch: a bucket's
            longest length with bucketing, each sequence's longest of all examples without (`pad_to` wins).
            A pass then has a few batch shapes, not one per batch: for backends that compile a step for every
            new shape (JAX), at the cost of the padding the bucket boundaries were chosen for.

    Returns:
        A dataset of (inputs, targets) batches shaped like the arguments, sequences as int32
        [batch, time] (batch static with full batches), prefetched.
    """
    structure = (inputs, targets)
    parts = tf.nest.flatten(structure)
    is_sequence = [isinstance(part, tf.RaggedTensor) for part in parts]
    if groups is None:
        dataset = tf.data.Dataset.from_tensor_slices(structure)
        # Slices of a ragged tensor are RaggedTensorSpec rows; the identity map turns them into dense
        # vectors, which `padded_batch` and `bucket_by_sequence_length` need.
        dataset = dataset.map(lambda x, y: (x, y))
        count = int(parts[0].nrows() if is_sequence[0] else len(parts[0]))
    else:
        dataset = _one_per_group(structure, np.asarray(groups), seed)
        count = len(np.unique(groups))
    if shuffle:
        dataset = dataset.shuffle(min(shuffle_buffer, count), seed=seed, reshuffle_each_iteration=True)

    def example_length(x, y):
        lengths = [tf.shape(part)[0] for part, flag in zip(tf.nest.flatten((x, y)), is_sequence) if flag]
        return tf.reduce_max(tf.stack(lengths))

    row_lengths = [part.row_lengths().numpy() if flag else None for part, flag in zip(parts, is_sequence)]
    longest = [int(lengths.max(initial=1)) if flag else 0 for lengths, flag in zip(row_lengths, is_sequence)]
    boundaries = []
    if bucketing:
        lengths = np.max([lengths for lengths, flag in zip(row_lengths, is_sequence) if flag], axis=0)
        boundaries = bucket_boundaries(lengths, num_buckets, max(longest), min_count=2 * batch_size)
    drop_remainder = drop_remainders(full_batches, shuffle, count, batch_size, len(boundaries) + 1)
    if bucketing:
        # Padded to its boundary, the last bucket needs one too; the bucket past it stays empty.
        upper = boundaries + [max(longest) + 1] if fixed_lengths else boundaries
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=example_length,
            bucket_boundaries=upper,
            bucket_batch_sizes=[batch_size] * (len(upper) + 1),
            pad_to_bucket_boundary=fixed_lengths,
            drop_remainder=drop_remainder,
        )
    else:
        shapes = [tf.TensorShape([pad_to or (length if fixed_lengths else None)]) if flag
                  else tf.TensorShape(np.shape(part)[1:]) for part, length, flag in zip(parts, longest, is_sequence)]
        dataset = dataset.padded_batch(batch_size, padded_shapes=tf.nest.pack_sequence_as(structure, shapes),
                                       drop_remainder=drop_remainder)
    if drop_remainder and bucketing:  # bucketing's windows lose the static batch size; say it again
        dataset = dataset.map(lambda x, y: tf.nest.map_structure(
            lambda part: tf.ensure_shape(part, [batch_size, *part.shape[1:]]), (x, y)))
    return dataset.prefetch(tf.data.AUTOTUNE)


# "auto" full batches leave out at most this share of a pass's examples on average (half a batch per bucket).
MAX_LEFT_OUT = 0.02


def drop_remainders(full_batches: str, shuffle: bool, count: int, batch_size: int, buckets: int = 1) -> bool:
    """Whether each bucket's last, partial batch is left out of a pass over `count` examples (a recipe's
    training.full_batches; see `padded_batches`).

    Why: a train step traced for an unknown batch size runs slower on a CPU than one traced for a known
    size (15% on the IMDB recipe's BiGRU), and a pass that can end with partial batches has an unknown size.
    Shuffled every pass, the examples left out differ from pass to pass.
    """
    if full_batches == "never" or not shuffle or count < batch_size:  # evaluation passes keep every example
        return False
    return full_batches == "always" or buckets * batch_size / 2 <= MAX_LEFT_OUT * count


def without_autotune(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` with tf.data's autotuning turned off, for Keras passes (training epochs, validation).

    Why: the autotuning thread sleeps for doubling periods (10 ms up to 60 s), and a pass's iterator, discarded
    when Keras ends the epoch, waits for its next wake-up. On the forecast recipe 3 epochs in 4 returned 7 s after
    their last batch, at 40.96 s (10 ms x 4095) after the epoch began; on others an epoch ended 40 s late, at
    81.91 s. With autotuning off none did (benchmarks/RESULTS.md, 2026-12-05). Maps and prefetches asked to
    autotune then run one call per core and prefetch one batch, which is plenty where the model's step is the
    slow part (the input pipeline alone takes 1-8% of a pass in every recipe).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def recipe_batches(inputs, targets, config, *, shuffle: bool, seed: int,
                   groups: np.ndarray | None = None) -> tf.data.Dataset:
    """`padded_batches` with the batch size, bucketing and shuffle buffer of a recipe's `[training]` section,
    padded to fixed lengths where the Keras backend compiles a step for every input shape (JAX).

    Args:
        inputs, targets, shuffle, seed, groups: as in `padded_batches`.
        config: a `rnnapps.sections.TrainingConfig`.
    """
    return padded_batches(inputs, targets, config.batch_size, shuffle=shuffle, seed=seed, bucketing=config.bucketing,
                          num_buckets=config.num_buckets, shuffle_buffer=config.shuffle_buffer, groups=groups,
                          full_batches=config.full_batches, fixed_lengths=compiles_per_shape())


def compiles_per_shape() -> bool:
    """Whether the Keras backend compiles its train and test steps anew for every input shape: JAX does (a jit
    per shape, seconds each for a recurrent model); TensorFlow traces once for an unknown length."""
    import keras

    return keras.backend.backend() == "jax"


def _one_per_group(structure, groups: np.ndarray, seed: int) -> tf.data.Dataset:
    """A dataset of one example per group (`padded_batches`' `groups`), drawn afresh on every pass."""
    if len(groups) and np.any(np.diff(groups) < 0):
        raise ValueError("groups must be sorted ascending (the examples of a group side by side)")
    _, first, counts = np.unique(groups, return_index=True, return_counts=True)
    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    picks = tf.data.Dataset.zip(tf.data.Dataset.from_tensor_slices((first.astype(np.int64), counts.astype(np.int64))),
                                draws)
    tensors = tf.nest.map_structure(lambda part: part if isinstance(part, tf.RaggedTensor) else tf.constant(part),
                                    structure)

    def pick(group, draw):
        start, size = group
        return tf.nest.map_structure(lambda part: part[start + draw % size], tensors)

    return picks.map(pick)


def truncate(ids: tf.RaggedTensor, max_length: int, keep: str = "start") -> tf.RaggedTensor:
    """Cut every row of `ids` to at most `max_length` tokens, keeping its "start" or its "end"."""
    if keep == "end":
        return ids[:, -max_length:]
    return ids[:, :max_length]


def language_model_windows(ids: np.ndarray, window: int, batch_size: int, *, shuffle: bool, seed: int,
                           drop_remainder: bool = False) -> tf.data.Dataset:
    """Batches of (inputs, next-token targets) windows cut from one long token stream.

    Windows start every `window` tokens. While training (`shuffle`), each start moves by a random
    offset in [0, window) every epoch, so the model sees the text cut at different places, and the
    window order is reshuffled.

    Args:
        ids: int array [tokens], the whole text.
        window: tokens per training example.
        batch_size: windows per batch.
        shuffle: jitter and reshuffle every epoch (training), or cut fixed windows in order (validation).
        seed: shuffle and jitter seed.
        drop_remainder: drop a last, smaller batch.

    Returns:
        A dataset of (inputs int32 [batch, window], targets int32 [batch, window]), targets being
        the inputs shifted by one token; prefetched.
    """
    ids = tf.constant(np.asarray(ids, dtype=np.int32))
    count = (int(ids.shape[0]) - 1) // window  # every window needs `window` inputs and one more target
    if count < 1:
        raise ValueError(f"a text of {int(ids.shape[0])} tokens is too short for windows of {window} + 1 tokens")
    last_start = int(ids.shape[0]) - window - 1
    starts = tf.data.Dataset.range(count)
    if shuffle:
        starts = tf.data.Dataset.zip(starts.shuffle(count, seed=seed, reshuffle_each_iteration=True),
                                     tf.data.Dataset.random(seed=seed))
        starts = starts.map(lambda index, noise: tf.minimum(index * window + noise % window, last_start))
    else:
        starts = starts.map(lambda index: index * window)

    def cut(start):
        piece = ids[start:start + window + 1]
        return piece[:-1], piece[1:]

    dataset = starts.map(cut, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def contiguous_streams(ids: np.ndarray, window: int, batch_size: int) -> tf.data.Dataset:
    """Batches for stateful training: the text is cut into `batch_size` contiguous streams read side by
    side, so row i of batch k + 1 continues row i of batch k. Always in this order, never shuffled.

    Args:
        ids: int array [tokens], the whole text.
        window: tokens per row of a batch.
        batch_size: parallel streams (the fixed batch size of the stateful model).

    Returns:
        A dataset of (inputs int32 [batch_size, window], targets int32 [batch_size, window]) batches; the
        text's end that does not fill a whole batch is left out.
    """
    ids = np.asarray(ids, dtype=np.int32)
    per_stream = (len(ids) - 1) // batch_size
    batches = per_stream // window
    if batches < 1:
        raise ValueError(f"a text of {len(ids)} tokens is too short for {batch_size} streams of {window} + 1 tokens")
    used = batches * window

    def streams(offset: int) -> np.ndarray:  # [batches, batch_size, window]
        rows = ids[offset:offset + batch_size * per_stream].reshape(batch_size, per_stream)[:, :used]
        return rows.reshape(batch_size, batches, window).transpose(1, 0, 2)

    return tf.data.Dataset.from_tensor_slices((streams(0), streams(1))).prefetch(tf.data.AUTOTUNE)
