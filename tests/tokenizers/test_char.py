"""CharTokenizer: exact ids, exact round trips, assets, and use inside tf.data, tf.function and SavedModel."""

import json
import random

import pytest
import tensorflow as tf

from rnnapps import sections, tokenizers
from rnnapps.errors import UserError
from rnnapps.tokenizers import char, vocabulary

# Counts: l 5, o 3, h 2, then one each, ties in code point order ("\n" < " " < "d" < ... < "é").
TEXTS = ["hello world\n", "héllo"]
VOCABULARY = ["<pad>", "<unk>", "<s>", "</s>", "l", "o", "h", "\n", " ", "d", "e", "r", "w", "é"]


def fit(texts=TEXTS, **settings):
    return tokenizers.fit(texts, sections.TokenizerConfig(kind="char", lowercase=False, **settings))


@pytest.fixture(scope="module")
def tokenizer():
    return fit()


def test_fit_counts_characters_most_frequent_first(tokenizer):
    assert isinstance(tokenizer, char.CharTokenizer)
    assert tokenizer.vocabulary == VOCABULARY
    assert tokenizer.vocab_size == 14


def test_fit_honours_vocab_size_and_min_frequency():
    assert fit(vocab_size=6).vocabulary == VOCABULARY[:6]
    assert fit(min_frequency=2).vocabulary == VOCABULARY[:7]


def test_fit_on_empty_text_is_a_user_error():
    with pytest.raises(UserError, match="the training text is empty"):
        fit(["", ""])


def test_tokenize_gives_exact_ids_without_reserved_ids(tokenizer):
    assert tokenizer.tokenize_python(["hello", "", "o\nh é"]) == [[6, 10, 4, 4, 5], [], [5, 7, 6, 8, 13]]


def test_round_trip_is_exact(tokenizer):
    text = "hello world\nhéllo  old"
    assert tokenizer.detokenize_python(tokenizer.tokenize_python(text)) == [text]


def test_unknown_characters_map_to_unk(tokenizer):
    assert tokenizer.tokenize_python("hEy!") == [[6, 1, 1, 1]]
    assert tokenizer.detokenize_python([[6, 1]]) == ["h<unk>"]


def test_invalid_utf8_is_replaced_not_fatal(tokenizer):
    assert tokenizer.tokenize(tf.constant([b"h\xffo\xc3"])).to_list() == [[6, 1, 5, 1]]


def test_lowercase_applies_at_fit_and_at_inference():
    lower = tokenizers.fit(["ÉLLO", "l"], sections.TokenizerConfig(kind="char", lowercase=True))
    assert lower.vocabulary == ["<pad>", "<unk>", "<s>", "</s>", "l", "o", "é"]
    assert lower.tokenize_python(["ÉlLo", "éllo"]) == [[6, 4, 4, 5], [6, 4, 4, 5]]


def test_detokenize_drops_padding_and_start_and_cuts_at_end(tokenizer):
    dense = tf.constant([[2, 6, 10, 4, 4, 5, 3, 6, 6], [2, 5, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0]])
    assert tokenizer.detokenize(dense).numpy().tolist() == [b"hello", b"o", b""]
    ragged = tf.ragged.constant([[6, 3, 5], [3], []])
    assert tokenizer.detokenize(ragged).numpy().tolist() == [b"h", b"", b""]


def test_id_to_token(tokenizer):
    assert tokenizer.id_to_token([0, 7, 13, 99]) == ["<pad>", "\n", "é", "<unk>"]


def test_save_and_load_give_identical_ids(tokenizer, tmp_path):
    tokenizer.save(tmp_path)
    assert json.loads((tmp_path / vocabulary.VOCABULARY_FILE).read_text(encoding="utf-8")) == VOCABULARY
    assert json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8")) == {
        "kind": "char", "vocab_size": 14, "lowercase": False}
    loaded = tokenizers.load(tmp_path)
    assert isinstance(loaded, char.CharTokenizer)
    texts = ["hello world\n", "xé"]
    assert loaded.tokenize_python(texts) == tokenizer.tokenize_python(texts)


def test_works_in_tf_data_and_tf_function(tokenizer):
    dataset = tf.data.Dataset.from_tensor_slices(["hello", "", "old"]).batch(2).map(tokenizer.tokenize)
    assert [batch.to_list() for batch in dataset] == [[[6, 10, 4, 4, 5], []], [[5, 4, 9]]]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(texts):
        return tokenizer.detokenize(tokenizer.tokenize(texts))

    assert round_trip(tf.constant(["hello", "world\n"])).numpy().tolist() == [b"hello", b"world\n"]


def test_survives_saved_model(tokenizer, tmp_path, saved_and_loaded):
    loaded = saved_and_loaded(tokenizer, tmp_path)
    ids = loaded.tokenize(tf.constant(["hello", "old", ""]))
    assert ids.numpy().tolist() == [[6, 10, 4, 4, 5], [5, 4, 9, 0, 0], [0, 0, 0, 0, 0]]
    assert loaded.detokenize(ids).numpy().tolist() == [b"hello", b"old", b""]


def test_fits_a_megabyte_of_text():
    alphabet = "abcdefghijklmnopqrstuvwxyz ,.;!?\nABCDEFGHIJKLMNOPQRSTUVWXYZ"
    rng = random.Random(0)
    text = "".join(rng.choices(alphabet, k=1_000_000))
    fitted = fit([text], vocab_size=100)
    assert fitted.vocab_size == 4 + len(alphabet)
