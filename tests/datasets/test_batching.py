"""Padded, optionally length-bucketed batches of id sequences with their targets."""

import bisect
import itertools

import numpy as np
import pytest
import tensorflow as tf

from rnnapps.datasets import batching

COUNT = 120
MAX_LENGTH = 40


def make_rows(count=COUNT, seed=0):
    """Row i is [i + 1] * length_i (ids are never 0), so a row's content tells its index."""
    lengths = np.random.default_rng(seed).integers(1, MAX_LENGTH + 1, count)
    lengths[0] = MAX_LENGTH
    return [[i + 1] * int(length) for i, length in enumerate(lengths)]


@pytest.fixture(scope="module")
def rows():
    return make_rows()


@pytest.fixture(scope="module")
def ids(rows):
    return tf.ragged.constant(rows, dtype=tf.int32)


def collect(dataset):
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def real_lengths(batch):
    return (batch != 0).sum(axis=1)


def check_rows(batches, rows, targets):
    """Every example comes exactly once, right-padded with 0, next to its own target."""
    seen = []
    for x, y in batches:
        assert x.dtype == np.int32
        for row, target in zip(x, y):
            index = int(row[0]) - 1
            length = len(rows[index])
            assert row[:length].tolist() == rows[index]
            assert not row[length:].any()
            assert np.array_equal(target, targets[index])
            seen.append(index)
    assert sorted(seen) == list(range(len(rows)))


def test_fixed_order_right_padding(rows):
    small = tf.ragged.constant([[5, 6, 7], [8], [9, 10]], dtype=tf.int32)
    batches = collect(batching.padded_batches(small, np.array([1, 0, 1]), 2, shuffle=False, seed=0,
                                              bucketing=False))
    assert [x.tolist() for x, _ in batches] == [[[5, 6, 7], [8, 0, 0]], [[9, 10]]]
    assert [y.tolist() for _, y in batches] == [[1, 0], [1]]


def test_without_bucketing_pads_to_the_longest_in_the_batch(ids, rows):
    targets = np.arange(COUNT, dtype=np.int32) * 10
    batches = collect(batching.padded_batches(ids, targets, 16, shuffle=True, seed=3, bucketing=False))
    assert [len(x) for x, _ in batches] == [16] * 7 + [8]
    for x, _ in batches:
        assert x.shape[1] == real_lengths(x).max()
    check_rows(batches, rows, targets)


def test_pad_to_gives_every_batch_that_width(ids, rows):
    targets = np.arange(COUNT)
    dataset = batching.padded_batches(ids, targets, 32, shuffle=False, seed=0, bucketing=False, pad_to=48)
    assert dataset.element_spec[0].shape.as_list() == [None, 48]
    batches = collect(dataset)
    assert {x.shape[1] for x, _ in batches} == {48}
    check_rows(batches, rows, targets)


def test_bucketing_groups_similar_lengths_and_saves_padding(ids, rows):
    lengths = np.array([len(row) for row in rows])
    boundaries = batching.bucket_boundaries(lengths, 4, MAX_LENGTH)
    targets = np.stack([np.arange(COUNT), -np.arange(COUNT)], axis=1)  # 2-D targets travel too
    batches = collect(batching.padded_batches(ids, targets, 8, shuffle=True, seed=1, bucketing=True, num_buckets=4))
    check_rows(batches, rows, targets)
    for x, _ in batches:
        buckets = {bisect.bisect_right(boundaries, length) for length in real_lengths(x)}
        assert len(buckets) == 1
        assert x.shape[1] == real_lengths(x).max()
    padding = sum(x.size - (x != 0).sum() for x, _ in batches)
    fixed_padding = COUNT * MAX_LENGTH - lengths.sum()
    assert padding < 0.4 * fixed_padding


@pytest.mark.parametrize("bucketing", [False, True])
def test_fixed_lengths_give_a_few_widths_known_before_the_pass(ids, rows, bucketing):
    lengths = np.array([len(row) for row in rows])
    targets = np.arange(COUNT)
    batches = collect(batching.padded_batches(ids, targets, 8, shuffle=True, seed=2, bucketing=bucketing,
                                              num_buckets=4, fixed_lengths=True))
    check_rows(batches, rows, targets)
    widths = sorted({x.shape[1] for x, _ in batches})
    if bucketing:  # each bucket padded to its longest length
        boundaries = batching.bucket_boundaries(lengths, 4, MAX_LENGTH, min_count=16)
        assert len(boundaries) > 1 and widths == [bound - 1 for bound in boundaries] + [MAX_LENGTH]
        for x, _ in batches:  # and only its own examples in it
            assert widths[bisect.bisect_left(widths, real_lengths(x).min())] == x.shape[1] >= real_lengths(x).max()
    else:
        assert widths == [MAX_LENGTH]


@pytest.mark.parametrize("bucketing", [False, True])
def test_full_batches_give_a_static_batch_size_and_leave_out_different_examples_each_pass(ids, bucketing):
    targets = np.arange(COUNT)
    dataset = batching.padded_batches(ids, targets, 16, shuffle=True, seed=4, bucketing=bucketing, num_buckets=3,
                                      full_batches="always")
    assert dataset.element_spec[0].shape.as_list() == [16, None]  # the train step is traced for 16
    assert dataset.element_spec[1].shape.as_list() == [16]
    passes = [collect(dataset) for _ in range(4)]
    left_out = []
    for batches in passes:
        assert all(len(x) == 16 for x, _ in batches)
        seen = np.concatenate([y for _, y in batches])
        assert len(set(seen.tolist())) == len(seen) > COUNT - 16 * 3  # at most a partial batch per bucket
        left_out.append(frozenset(set(range(COUNT)) - set(seen.tolist())))
    assert len(set(left_out)) > 1  # reshuffled: not always the same examples miss out


def test_full_batches_auto_only_when_little_is_left_out_and_never_for_evaluation(ids, rows):
    targets = np.arange(COUNT)

    def spec_and_count(batch_size, shuffle, full_batches="auto"):
        dataset = batching.padded_batches(ids, targets, batch_size, shuffle=shuffle, seed=0, bucketing=False,
                                          full_batches=full_batches)
        return dataset.element_spec[0].shape.as_list()[0], sum(len(y) for _, y in collect(dataset))

    # 120 examples: half a batch of 2 is under 2% of them, half a batch of 16 is not.
    assert spec_and_count(2, shuffle=True) == (2, COUNT)
    assert spec_and_count(16, shuffle=True) == (None, COUNT)
    assert spec_and_count(16, shuffle=False, full_batches="always") == (None, COUNT)
    assert spec_and_count(16, shuffle=True, full_batches="never") == (None, COUNT)
    assert spec_and_count(COUNT + 1, shuffle=True, full_batches="always") == (None, COUNT)  # no full batch at all


def test_shuffling_is_seeded(ids):
    targets = np.arange(COUNT)

    def order(seed):
        dataset = batching.padded_batches(ids, targets, 10, shuffle=True, seed=seed, bucketing=False)
        return np.concatenate([y for _, y in collect(dataset)]).tolist()

    assert order(5) == order(5)
    assert order(5) != order(6)
    assert order(5) != list(range(COUNT))


@pytest.mark.parametrize("bucketing", [False, True])
def test_groups_give_one_example_per_group_drawn_afresh_each_pass(ids, bucketing):
    groups = np.arange(COUNT) // 4  # 30 groups of 4 alternatives
    dataset = batching.padded_batches(ids, np.arange(COUNT), 8, shuffle=True, seed=2, bucketing=bucketing,
                                      num_buckets=3, groups=groups)
    passes = []
    for _ in range(6):
        batches = collect(dataset)
        for x, y in batches:  # each row still holds its own example: row content i + 1, target i
            assert all(set(row[row > 0].tolist()) == {target + 1} for row, target in zip(x, y))
        chosen = np.concatenate([y for _, y in batches])
        assert sorted(chosen // 4) == list(range(30))  # every group once
        passes.append(chosen.tolist())
    assert len({tuple(sorted(p)) for p in passes}) > 1  # another draw of alternatives in another pass
    with pytest.raises(ValueError, match="groups must be sorted ascending"):
        batching.padded_batches(ids, np.arange(COUNT), 8, shuffle=True, seed=2, bucketing=False,
                                groups=groups[::-1])


def test_truncate_keeps_start_or_end():
    ids = tf.ragged.constant([[1, 2, 3, 4, 5], [6, 7], []], dtype=tf.int32)
    assert batching.truncate(ids, 3).to_list() == [[1, 2, 3], [6, 7], []]
    assert batching.truncate(ids, 3, "start").to_list() == [[1, 2, 3], [6, 7], []]
    assert batching.truncate(ids, 3, "end").to_list() == [[3, 4, 5], [6, 7], []]
    assert batching.truncate(ids, 1, "end").to_list() == [[5], [7], []]


def test_bucket_boundaries_are_sane():
    lengths = np.array(make_rows(400, seed=2), dtype=object)
    lengths = np.array([len(row) for row in lengths])
    for num_buckets in (2, 4, 8, 16):
        boundaries = batching.bucket_boundaries(lengths, num_buckets, MAX_LENGTH)
        assert 0 < len(boundaries) <= num_buckets - 1
        assert boundaries == sorted(set(boundaries))
        assert all(1 < b <= MAX_LENGTH for b in boundaries)
    # Roughly equal buckets with uniform lengths.
    boundaries = batching.bucket_boundaries(np.arange(1, 101), 4, 100)
    assert boundaries == [26, 51, 76]
    sizes = np.bincount([bisect.bisect_right(boundaries, n) for n in range(1, 101)])
    assert sizes.tolist() == [25, 25, 25, 25]


def _padded_positions(lengths, boundaries):
    """Positions computed when each bucket is padded to its longest length."""
    bucket = np.searchsorted(boundaries, lengths, side="right")
    return sum(int((bucket == b).sum()) * int(lengths[bucket == b].max()) for b in np.unique(bucket))


def test_bucket_boundaries_leave_the_least_padding_of_any_choice():
    lengths = np.random.default_rng(3).integers(1, 13, size=60)
    best = min(_padded_positions(lengths, list(cut)) for buckets in range(3)
               for cut in itertools.combinations(range(2, 13), buckets))
    assert _padded_positions(lengths, batching.bucket_boundaries(lengths, 3, 12)) == best


def test_bucket_boundaries_split_the_long_tail_that_quantiles_lump_together():
    rng = np.random.default_rng(4)
    lengths = np.concatenate([rng.integers(5, 12, size=900), rng.integers(12, 200, size=100)])  # 10% long tail
    quantiles = sorted({int(q) + 1 for q in np.quantile(lengths, np.linspace(0, 1, 9)[1:-1])})
    boundaries = batching.bucket_boundaries(lengths, 8, 200)
    assert _padded_positions(lengths, boundaries) < 0.8 * _padded_positions(lengths, quantiles)
    assert sum(b > 12 for b in boundaries) >= 2  # the tail gets buckets of its own


def test_bucket_boundaries_keep_min_count_examples_per_bucket():
    lengths = np.random.default_rng(5).integers(1, 100, size=300)
    boundaries = batching.bucket_boundaries(lengths, 16, 100, min_count=50)
    sizes = np.bincount(np.searchsorted(boundaries, lengths, side="right"))
    assert len(sizes) <= 6 and sizes.min() >= 50
    assert batching.bucket_boundaries(lengths, 16, 100, min_count=200) == []  # not two buckets' worth


@pytest.mark.parametrize("lengths, num_buckets", [([5] * 10, 4), ([3, 4, 5], 1), ([], 4)])
def test_bucket_boundaries_degenerate(lengths, num_buckets):
    assert batching.bucket_boundaries(np.array(lengths, dtype=np.int64), num_buckets, 5) == []


def test_language_model_windows_cover_the_text_with_shifted_targets():
    text = np.arange(4, 105)  # 101 tokens: 20 windows of 5 + 1
    fixed = [(x.numpy(), y.numpy()) for x, y in batching.language_model_windows(text, 5, 8, shuffle=False, seed=0)]
    inputs = np.concatenate([x for x, _ in fixed])
    assert [len(x) for x, _ in fixed] == [8, 8, 4]
    np.testing.assert_array_equal(inputs.reshape(-1), text[:100])
    np.testing.assert_array_equal(np.concatenate([y for _, y in fixed]), inputs + 1)
    shuffled = batching.language_model_windows(text, 5, 8, shuffle=True, seed=3)
    epochs = [np.concatenate([x.numpy() for x, _ in shuffled]) for _ in range(2)]
    for windows in epochs:
        assert windows.shape == (20, 5) and (np.diff(windows, axis=1) == 1).all()  # contiguous pieces
    assert not np.array_equal(epochs[0], epochs[1])  # new offsets and order every epoch
    with pytest.raises(ValueError, match="too short"):
        batching.language_model_windows(np.arange(5), 5, 2, shuffle=False, seed=0)


def test_contiguous_streams_continue_row_by_row():
    text = np.arange(4, 4 + 2 * 3 * 4 + 3)  # 2 streams, 3 batches of 4, and a remainder
    batches = [(x.numpy(), y.numpy()) for x, y in batching.contiguous_streams(text, 4, 2)]
    assert len(batches) == 3 and all(x.shape == (2, 4) for x, _ in batches)
    for row in range(2):
        stream = np.concatenate([x[row] for x, _ in batches])
        assert (np.diff(stream) == 1).all()  # batch k + 1 continues batch k
        np.testing.assert_array_equal(np.concatenate([y[row] for _, y in batches]), stream + 1)
    assert batches[0][0][1, 0] > batches[-1][0][0, -1]  # the second stream starts after the first ends
