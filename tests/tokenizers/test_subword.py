"""SubwordTokenizer (SentencePiece): round trips on non-ASCII text, errors, assets, tf.data, SavedModel."""

import re

import pytest
import tensorflow as tf

from rnnapps import sections, tokenizers
from rnnapps.errors import UserError
from rnnapps.tokenizers import subword

CORPUS = [
    "¿Dónde está la estación?",
    "La estación está cerca del río.",
    "¿Cuánto cuesta el billete de tren?",
    "Tôi không biết tiếng Việt.",
    "Bạn có khỏe không?",
    "Hà Nội là thủ đô của Việt Nam.",
    "The cat sat on the mat.",
    "Where is the train station?",
]
# The unigram model can make at most this many pieces from CORPUS (SentencePiece says so when asked for more).
MOST_PIECES = 69


def fit(texts=CORPUS, **settings):
    return tokenizers.fit(texts, sections.TokenizerConfig(kind="subword", **{"vocab_size": 60, **settings}))


@pytest.fixture(scope="module")
def tokenizer():
    return fit()


def test_fit_gives_the_reserved_pieces_first(tokenizer):
    assert isinstance(tokenizer, subword.SubwordTokenizer)
    assert tokenizer.vocab_size == 60
    assert tokenizer.id_to_token([0, 1, 2, 3, 4, 60]) == ["<pad>", "<unk>", "<s>", "</s>", "▁", "<unk>"]


def test_fit_is_reproducible(tokenizer):
    assert fit().model == tokenizer.model


def test_tokenize_gives_subword_pieces(tokenizer):
    (ids,) = tokenizer.tokenize_python("¿Dónde está el tren?")
    pieces = ["▁¿", "d", "ó", "n", "de", "▁est", "á", "▁", "e", "l", "▁tr", "e", "n", "?"]
    assert tokenizer.id_to_token(ids) == pieces


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_round_trip_is_exact_on_lowercased_text(model_type):
    tokenizer = fit(subword_model=model_type, vocab_size=60 if model_type == "unigram" else 100)
    texts = CORPUS + ["¿Dónde está el tren?", "Tôi biết tiếng Việt.", "Where is the cat?"]
    ids = tokenizer.tokenize_python(texts)
    assert min(min(row) for row in ids) > 3  # no reserved id, and no unknown piece, in text made of known characters
    assert tokenizer.detokenize_python(ids) == [text.lower() for text in texts]


def test_lowercase_is_applied_in_graph_at_inference(tokenizer):
    assert tokenizer.tokenize_python("DÓNDE ESTÁ LA ESTACIÓN") == tokenizer.tokenize_python("dónde está la estación")


def test_without_lowercase_case_is_kept():
    cased = fit(lowercase=False)
    assert cased.detokenize_python(cased.tokenize_python("¿Dónde está La estación?")) == ["¿Dónde está La estación?"]


def test_unknown_characters_map_to_unk(tokenizer):
    assert tokenizer.tokenize_python("中") == [[4, 1]]
    assert tokenizer.detokenize_python([[4, 1]]) == [" ⁇ "]


def test_empty_and_blank_strings_give_empty_rows(tokenizer):
    assert tokenizer.tokenize_python(["", "   ", "\n"]) == [[], [], []]
    assert tokenizer.tokenize(tf.constant([], tf.string)).to_list() == []


def test_invalid_utf8_is_replaced_not_fatal(tokenizer):
    # SentencePiece's NFKC normalisation turns the U+FFFD replacement character into a word boundary.
    assert tokenizer.tokenize(tf.constant([b"d\xffe", b"\xc3"])).to_list() == [[4, 42, 4, 5], []]


def test_detokenize_drops_padding_and_start_and_cuts_at_end(tokenizer):
    (ids,) = tokenizer.tokenize_python("la estación")
    dense = tf.constant([[2, *ids, 3, *ids, 0], [2] + [0] * (2 * len(ids) + 2)])
    assert tokenizer.detokenize(dense).numpy().tolist() == ["la estación".encode(), b""]


def test_save_and_load_give_identical_ids(tokenizer, tmp_path):
    tokenizer.save(tmp_path)
    assert (tmp_path / subword.MODEL_FILE).read_bytes() == tokenizer.model
    loaded = tokenizers.load(tmp_path)
    assert isinstance(loaded, subword.SubwordTokenizer)
    assert (loaded.vocab_size, loaded.lowercase) == (60, True)
    assert loaded.tokenize_python(CORPUS) == tokenizer.tokenize_python(CORPUS)


def test_works_in_tf_data_and_tf_function(tokenizer):
    texts = ["Bạn có khỏe không?", "", "the cat"]
    expected = tokenizer.tokenize_python(texts)
    dataset = tf.data.Dataset.from_tensor_slices(texts).batch(2).map(tokenizer.tokenize)
    assert [row for batch in dataset for row in batch.to_list()] == expected

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(texts):
        return tokenizer.detokenize(tokenizer.tokenize(texts))

    assert round_trip(tf.constant(texts)).numpy().tolist() == [text.lower().encode() for text in texts]


def test_survives_saved_model(tokenizer, tmp_path, saved_and_loaded):
    loaded = saved_and_loaded(tokenizer, tmp_path)
    texts = ["¿Dónde está la estación?", "Hà Nội", ""]
    ids = loaded.tokenize(tf.constant(texts))
    assert ids.numpy().tolist() == tokenizer.tokenize(tf.constant(texts)).to_tensor().numpy().tolist()
    assert loaded.detokenize(ids).numpy().tolist() == [text.lower().encode() for text in texts]


def test_too_large_vocab_size_names_the_largest_possible():
    message = (f"tokenizer.vocab_size = 8000 is too large for this training text "
               f"(SentencePiece can make at most {MOST_PIECES} pieces); lower it")
    with pytest.raises(UserError, match=re.escape(message)):
        fit(vocab_size=8000)
    assert fit(vocab_size=MOST_PIECES).vocab_size == MOST_PIECES


def test_too_small_vocab_size_is_a_user_error():
    message = ("tokenizer.vocab_size = 20 is too small for this training text (SentencePiece needs at least 39 "
               "pieces to cover its characters); raise it or lower tokenizer.character_coverage")
    with pytest.raises(UserError, match=re.escape(message)):
        fit(vocab_size=20)


def test_fit_on_blank_text_is_a_user_error():
    with pytest.raises(UserError, match="the training text is empty"):
        fit(["", "  ", "\n"])


def test_lines_longer_than_sentencepiece_allows_are_cut_not_dropped():
    # One 15,001-character line: SentencePiece alone would skip it (and find no text at all).
    tokenizer = fit(["ab " * 5000 + "z"], vocab_size=8)
    assert tokenizer.id_to_token(tokenizer.tokenize_python("z ab")[0]) == ["▁", "z", "▁", "a", "b"]


def test_a_pipeline_seeds_before_it_builds_tokenizers_because_reseeding_kills_sentencepiece():
    """Documents the TensorFlow behaviour `training.set_seed` warns about."""
    from rnnapps import training

    tokenizer = fit()
    training.set_seed(1)
    with pytest.raises(tf.errors.NotFoundError, match="SentencepieceOp"):
        tf.function(lambda x: tokenizer.tokenize(x).to_tensor())(tf.constant(["the cat"]))
    fresh = fit()
    assert tf.function(lambda x: fresh.tokenize(x).to_tensor())(tf.constant(["the cat"])).shape[0] == 1
