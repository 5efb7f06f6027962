"""WordTokenizer, and the shared `tokenizers.fit` / `tokenizers.load` entry points."""

import json
import re

import pytest
import tensorflow as tf

from rnnapps import sections, tokenizers
from rnnapps.errors import UserError
from rnnapps.tokenizers import word

TEXTS = ["Good movie!", "A good, good film.<br />Bad? No."]
# Counts: good 3, "." 2, then one each in code point order.
VOCABULARY = ["<pad>", "<unk>", "<s>", "</s>", "good", ".", "!", ",", "?", "a", "bad", "film", "movie", "no"]


def fit(texts=TEXTS, **settings):
    return tokenizers.fit(texts, sections.TokenizerConfig(kind="word", **settings))


@pytest.fixture(scope="module")
def tokenizer():
    return fit()


def test_fit_counts_words_and_punctuation(tokenizer):
    assert isinstance(tokenizer, word.WordTokenizer)
    assert tokenizer.vocabulary == VOCABULARY


def test_fit_honours_vocab_size_and_min_frequency():
    assert fit(vocab_size=5).vocabulary == VOCABULARY[:5]
    assert fit(min_frequency=2).vocabulary == VOCABULARY[:6]


def test_split_normalises_text(tokenizer):
    words = tokenizer.split(tf.constant(["Don't STOP!<br/>Été", ""])).to_list()
    assert words == [[b"don't", b"stop", b"!", "été".encode()], []]


def test_tokenize_gives_exact_ids(tokenizer):
    assert tokenizer.tokenize_python(["Good movie!", "A bad film.<br/>", ""]) == [[4, 12, 6], [9, 10, 11, 5], []]


def test_round_trip_up_to_normalisation(tokenizer):
    ids = tokenizer.tokenize_python(["Good, good film!", "No<br />bad ?"])
    assert tokenizer.detokenize_python(ids) == ["good, good film!", "no bad?"]


def test_unknown_words_map_to_unk(tokenizer):
    assert tokenizer.tokenize_python("Great movie!") == [[1, 12, 6]]
    assert tokenizer.detokenize_python([[1, 12, 6]]) == ["<unk> movie!"]


def test_invalid_utf8_is_replaced_not_fatal(tokenizer):
    assert tokenizer.tokenize(tf.constant([b"good \xff film"])).to_list() == [[4, 1, 11]]


def test_detokenize_drops_padding_and_start_and_cuts_at_end(tokenizer):
    dense = tf.constant([[2, 4, 11, 6, 3, 13, 0], [2, 13, 0, 0, 0, 0, 0]])
    assert tokenizer.detokenize(dense).numpy().tolist() == [b"good film!", b"no"]


def test_id_to_token(tokenizer):
    assert tokenizer.id_to_token([3, 4, 50]) == ["</s>", "good", "<unk>"]


def test_vocabulary_must_start_with_reserved_tokens():
    with pytest.raises(ValueError, match="a vocabulary must start with"):
        word.WordTokenizer(["good", "<pad>"])


def test_save_and_load_give_identical_ids(tokenizer, tmp_path):
    tokenizer.save(tmp_path)
    assert json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8")) == {
        "kind": "word", "vocab_size": 14, "lowercase": True}
    loaded = tokenizers.load(tmp_path)
    assert isinstance(loaded, word.WordTokenizer)
    assert loaded.tokenize_python(TEXTS) == tokenizer.tokenize_python(TEXTS)


def test_works_in_tf_data_and_tf_function(tokenizer):
    dataset = tf.data.Dataset.from_tensor_slices(["Good film", "", "no!"]).batch(2).map(tokenizer.tokenize)
    assert [batch.to_list() for batch in dataset] == [[[4, 11], []], [[13, 6]]]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(texts):
        return tokenizer.detokenize(tokenizer.tokenize(texts))

    assert round_trip(tf.constant(["Good film !"])).numpy().tolist() == [b"good film!"]


def test_survives_saved_model(tokenizer, tmp_path, saved_and_loaded):
    loaded = saved_and_loaded(tokenizer, tmp_path)
    ids = loaded.tokenize(tf.constant(["Good movie!", "bad"]))
    assert ids.numpy().tolist() == [[4, 12, 6], [10, 0, 0]]
    assert loaded.detokenize(ids).numpy().tolist() == [b"good movie!", b"bad"]


# The shared entry points.


def test_load_without_tokenizer_json_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=re.escape(f"{tmp_path} holds no tokenizer (tokenizer.json is missing)")):
        tokenizers.load(tmp_path)


def test_load_of_an_unknown_kind_is_a_user_error(tmp_path):
    (tmp_path / "tokenizer.json").write_text('{"kind": "morse"}', encoding="utf-8")
    message = "unknown tokenizer kind 'morse'; known: ['abc', 'char', 'subword', 'word']"
    with pytest.raises(UserError, match=re.escape(message)):
        tokenizers.load(tmp_path)


def test_fit_of_an_unknown_kind_is_a_user_error():
    message = "tokenizer.kind = 'morse' is not one of ['abc', 'char', 'subword', 'word']"
    with pytest.raises(UserError, match=re.escape(message)):
        tokenizers.fit(TEXTS, sections.TokenizerConfig(kind="morse"))


def test_vocab_size_must_leave_room_after_reserved_tokens():
    with pytest.raises(UserError, match=re.escape("tokenizer.vocab_size = 4 must be larger than 4")):
        fit(vocab_size=4)
