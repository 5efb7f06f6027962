"""TokenEmbedding (mask, dropout, freezing) and pretrained vectors aligned to a vocabulary."""

import keras
import numpy as np
import pytest

from rnnapps import embeddings
from rnnapps.errors import UserError

VOCABULARY = ["<pad>", "<unk>", "<s>", "</s>", "the", "movie", "great", "zebra"]
IDS = np.array([[4, 5, 6, 0, 0], [7, 0, 0, 0, 0]], dtype="int32")


def as_numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


# --------------------------------------------------------------------------- TokenEmbedding


def test_padding_id_is_masked():
    layer = embeddings.TokenEmbedding(len(VOCABULARY), 6)
    out = layer(IDS)
    assert tuple(out.shape) == (2, 5, 6)
    np.testing.assert_array_equal(as_numpy(layer.compute_mask(IDS)), IDS != 0)
    assert layer.compute_output_shape((None, 5)) == (None, 5, 6)


def test_initial_matrix_is_used():
    matrix = np.arange(len(VOCABULARY) * 3, dtype="float32").reshape(len(VOCABULARY), 3)
    layer = embeddings.TokenEmbedding(len(VOCABULARY), 3, initial_matrix=matrix)
    np.testing.assert_array_equal(as_numpy(layer(IDS)), matrix[IDS])


def test_dropout_only_in_training_and_by_whole_channels():
    matrix = np.random.default_rng(0).normal(size=(len(VOCABULARY), 64)).astype("float32")
    layer = embeddings.TokenEmbedding(len(VOCABULARY), 64, dropout_rate=0.5, initial_matrix=matrix)
    ids = np.array([[4, 5, 6, 7]], dtype="int32")
    np.testing.assert_array_equal(as_numpy(layer(ids)), matrix[ids])
    np.testing.assert_array_equal(as_numpy(layer(ids, training=False)), matrix[ids])
    dropped = as_numpy(layer(ids, training=True))
    zero_channels = dropped[0] == 0  # [time, dim]
    # The same channels are dropped at every step; the kept ones are scaled by 1 / (1 - rate).
    assert (zero_channels == zero_channels[:1]).all()
    assert 0 < zero_channels[0].sum() < 64
    kept = ~zero_channels
    np.testing.assert_allclose(dropped[0][kept], 2 * matrix[ids][0][kept], rtol=1e-6)


@pytest.mark.parametrize("trainable", [False, True])
def test_frozen_embedding_does_not_change_in_a_fit_step(trainable):
    keras.utils.set_random_seed(0)
    layer = embeddings.TokenEmbedding(len(VOCABULARY), 4, trainable_embeddings=trainable)
    ids = keras.Input((None,), dtype="int32")
    model = keras.Model(ids, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(layer(ids))))
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    before = as_numpy(layer.embedding.embeddings).copy()
    assert len(layer.trainable_weights) == (1 if trainable else 0)
    model.fit(IDS, np.array([[5.0], [-5.0]]), epochs=1, batch_size=2, verbose=0)
    after = as_numpy(layer.embedding.embeddings)
    if trainable:
        assert not np.allclose(after[[4, 5, 6, 7]], before[[4, 5, 6, 7]])
    else:
        np.testing.assert_array_equal(after, before)


def test_config_round_trip():
    layer = embeddings.TokenEmbedding(9, 5, dropout_rate=0.2, trainable_embeddings=False, name="tok")
    config = layer.get_config()
    assert {k: config[k] for k in ("vocab_size", "dim", "dropout_rate", "trainable_embeddings", "name")} == {
        "vocab_size": 9, "dim": 5, "dropout_rate": 0.2, "trainable_embeddings": False, "name": "tok"}
    clone = embeddings.TokenEmbedding.from_config(config)
    assert clone.get_config() == config


# --------------------------------------------------------------------------- pretrained vectors

GLOVE = "the 0.1 0.2 0.3\nmovie -1 0 1.5\nunrelated 9 9 9\ngreat 2e-1 0.5 -0.25\n"


@pytest.fixture
def glove(tmp_path):
    path = tmp_path / "glove.3d.txt"
    path.write_text(GLOVE, encoding="utf-8")
    return path


def test_glove_rows_and_coverage(glove):
    matrix, coverage = embeddings.load_vectors(glove, VOCABULARY, 3, seed=1)
    assert matrix.shape == (8, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[4], np.float32([0.1, 0.2, 0.3]))
    np.testing.assert_array_equal(matrix[5], np.float32([-1, 0, 1.5]))
    np.testing.assert_array_equal(matrix[6], np.float32([0.2, 0.5, -0.25]))
    np.testing.assert_array_equal(matrix[0], np.zeros(3))
    assert coverage == 3 / 4  # the, movie, great of the, movie, great, zebra
    # Missing words keep small seeded random vectors.
    assert 0 < np.abs(matrix[7]).max() < 1
    again, _ = embeddings.load_vectors(glove, VOCABULARY, 3, seed=1)
    np.testing.assert_array_equal(again, matrix)
    other, _ = embeddings.load_vectors(glove, VOCABULARY, 3, seed=2)
    assert not np.array_equal(other[7], matrix[7])


def test_word2vec_text_format_with_header(tmp_path):
    path = tmp_path / "vectors.w2v.txt"
    path.write_text("3 2\nzebra 0.5 -0.5\nthe 1 2 \n</s> 7 7\n", encoding="utf-8")
    matrix, coverage = embeddings.load_vectors(path, VOCABULARY, 2)
    np.testing.assert_array_equal(matrix[7], np.float32([0.5, -0.5]))
    np.testing.assert_array_equal(matrix[4], np.float32([1, 2]))
    assert coverage == 2 / 4
    # Reserved tokens keep their own rows: padding stays zeros, "</s>" is not a vocabulary word.
    np.testing.assert_array_equal(matrix[0], np.zeros(2))
    assert not np.array_equal(matrix[3], np.float32([7, 7]))


def test_reserved_tokens_in_the_file_never_touch_padding_or_coverage(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("<pad> 1 1\n<unk> 2 2\nthe 3 3\n", encoding="utf-8")
    matrix, coverage = embeddings.load_vectors(path, VOCABULARY, 2)
    np.testing.assert_array_equal(matrix[0], np.zeros(2))
    np.testing.assert_array_equal(matrix[4], np.float32([3, 3]))
    assert coverage == 1 / 4


def test_first_vector_of_a_word_wins_and_lowercase_matching(tmp_path):
    path = tmp_path / "cased.txt"
    path.write_text("The 1 1\nthe 2 2\nMOVIE 3 3\n", encoding="utf-8")
    matrix, coverage = embeddings.load_vectors(path, VOCABULARY, 2)
    np.testing.assert_array_equal(matrix[4], np.float32([2, 2]))
    assert coverage == 1 / 4
    matrix, coverage = embeddings.load_vectors(path, VOCABULARY, 2, lowercase=True)
    np.testing.assert_array_equal(matrix[4], np.float32([1, 1]))
    np.testing.assert_array_equal(matrix[5], np.float32([3, 3]))
    assert coverage == 2 / 4


def test_wrong_width_names_the_line(glove):
    with pytest.raises(UserError) as error:
        embeddings.load_vectors(glove, VOCABULARY, 4)
    assert str(error.value) == f"{glove} line 1: vector has 3 values, expected embedding.dim = 4"


def test_short_line_of_a_vocabulary_word(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("the 1 2\nmovie 1\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        embeddings.load_vectors(path, VOCABULARY, 2)
    assert str(error.value) == f"{path} line 2: vector has 1 values, expected embedding.dim = 2"


def test_not_numbers(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("great a b\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        embeddings.load_vectors(path, VOCABULARY, 2)
    assert str(error.value) == f"{path} line 1: not a list of numbers"


def test_missing_vector_file(tmp_path):
    with pytest.raises(UserError, match=r"^embedding.pretrained_path = '.*nope.txt': no such file or folder"):
        embeddings.load_vectors(tmp_path / "nope.txt", VOCABULARY, 3)


def test_pretrained_vectors_frozen_in_a_layer(glove):
    matrix, _ = embeddings.load_vectors(glove, VOCABULARY, 3)
    layer = embeddings.TokenEmbedding(len(VOCABULARY), 3, trainable_embeddings=False, initial_matrix=matrix)
    np.testing.assert_array_equal(as_numpy(layer(IDS))[0, :3], matrix[[4, 5, 6]])
    assert layer.trainable_weights == []
