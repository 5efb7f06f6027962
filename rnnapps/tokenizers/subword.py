"""SentencePiece subword tokenizer: trained with `sentencepiece`, run in graph by `tensorflow_text`."""

from __future__ import annotations

import io
import pathlib
import re
from collections.abc import Iterable, Iterator
from typing import Any

import sentencepiece
import tensorflow as tf
import tensorflow_text

from rnnapps.errors import UserError
from rnnapps.tokenizers import base

MODEL_FILE = "sentencepiece.model"
_FIT_BATCH = 2048
# SentencePiece silently skips sentences longer than this many bytes; we cut lines into pieces of at
# most a quarter as many characters (UTF-8 takes at most 4 bytes a character) so no text is lost.
_MAX_SENTENCE_BYTES = 8192
_MAX_SENTENCE_CHARS = _MAX_SENTENCE_BYTES // 4
# Larger corpora are sampled down to this many sentences, which keeps training to seconds or minutes.
_INPUT_SENTENCE_SIZE = 1_000_000
_SEED = 0


@base.register
class SubwordTokenizer(base.Tokenizer):
    """SentencePiece (unigram or BPE) pieces as tokens, for translation and captioning.

    Normalisation: invalid UTF-8 replaced by U+FFFD and optional Unicode lowercasing (in graph, the
    same at fit and at inference), then SentencePiece's own NFKC normalisation, which also collapses
    runs of whitespace. Unknown characters map to `base.UNK_ID` and detokenize as " ⁇ ".

    Example:
        >>> recipe = sections.TokenizerConfig(kind="subword", vocab_size=20)
        >>> tokenizer = SubwordTokenizer.fit(["¿Dónde está la estación?"] * 10, recipe)
        >>> tokenizer.detokenize_python(tokenizer.tokenize_python("Dónde"))
        ['dónde']
    """

    kind = "subword"

    def __init__(self, model: bytes, lowercase: bool = True, name: str | None = None):
        """Args:
            model: a serialized SentencePiece model whose first pieces are `base.RESERVED_TOKENS`.
            lowercase: fold case before tokenizing.
        """
        super().__init__(name=name)
        processor = sentencepiece.SentencePieceProcessor(model_proto=model)
        self.pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
        if tuple(self.pieces[: len(base.RESERVED_TOKENS)]) != base.RESERVED_TOKENS:
            raise ValueError(f"a SentencePiece model must start with the pieces {base.RESERVED_TOKENS}")
        self.model = model
        self.lowercase = lowercase
        self._sentencepiece = tensorflow_text.SentencepieceTokenizer(model=model, out_type=tf.int32)

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return self._sentencepiece.tokenize(_normalize(texts, self.lowercase))

    def detokenize(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
        return self._sentencepiece.detokenize(base.strip_special_ids(ids))

    def id_to_token(self, ids: Iterable[int]) -> list[str]:
        return [self.pieces[i] if 0 <= i < len(self.pieces) else "<unk>" for i in ids]

    @classmethod
    def fit(cls, texts: Iterable[str], config: Any) -> SubwordTokenizer:
        # A fixed seed makes the sampling of large corpora, and so the vocabulary, reproducible.
        sentencepiece.set_random_generator_seed(_SEED)
        model = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=_training_sentences(texts, config.lowercase),
                model_writer=model,
                vocab_size=config.vocab_size,
                model_type=config.subword_model,
                character_coverage=config.character_coverage,
                pad_id=base.PAD_ID,
                unk_id=base.UNK_ID,
                bos_id=base.START_ID,
                eos_id=base.END_ID,
                pad_piece=base.RESERVED_TOKENS[base.PAD_ID],
                unk_piece=base.RESERVED_TOKENS[base.UNK_ID],
                bos_piece=base.RESERVED_TOKENS[base.START_ID],
                eos_piece=base.RESERVED_TOKENS[base.END_ID],
                max_sentence_length=_MAX_SENTENCE_BYTES,
                input_sentence_size=_INPUT_SENTENCE_SIZE,
                shuffle_input_sentence=True,
                minloglevel=2,
            )
        except RuntimeError as error:
            user_error = _user_error(str(error), config.vocab_size)
            if user_error is None:
                raise
            raise user_error from None
        return cls(model.getvalue(), lowercase=config.lowercase)

    def _settings(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase}

    def _save_assets(self, directory: pathlib.Path) -> None:
        (directory / MODEL_FILE).write_bytes(self.model)

    @classmethod
    def _from_assets(cls, directory: pathlib.Path, settings: dict[str, Any]) -> SubwordTokenizer:
        return cls((directory / MODEL_FILE).read_bytes(), **settings)


def _normalize(texts: tf.Tensor, lowercase: bool) -> tf.Tensor:
    """Replace invalid UTF-8 and optionally lowercase: string tensor [batch] -> [batch]."""
    texts = base.sanitize_utf8(texts)
    return tf.strings.lower(texts, encoding="utf-8") if lowercase else texts


def _training_sentences(texts: Iterable[str], lowercase: bool) -> Iterator[str]:
    """Normalised, non-blank training lines, cut to fit SentencePiece's sentence length limit."""
    for batch in base.batched(texts, _FIT_BATCH):
        for text in _normalize(tf.constant(batch), lowercase).numpy():
            for line in text.decode("utf-8").splitlines():
                for start in range(0, len(line), _MAX_SENTENCE_CHARS):
                    sentence = line[start : start + _MAX_SENTENCE_CHARS]
                    if sentence.strip():
                        yield sentence


def _user_error(message: str, vocab_size: int) -> UserError | None:
    """A `UserError` saying what to change for errors the recipe or the text caused, else None."""
    if "!sentences_.empty()" in message:
        return UserError("the training text is empty: the tokenizer found no tokens to learn")
    too_large = re.search(r"Vocabulary size too high \(\d+\)\. Please set it to a value <= (\d+)", message)
    if too_large:
        return UserError(
            f"tokenizer.vocab_size = {vocab_size} is too large for this training text "
            f"(SentencePiece can make at most {too_large.group(1)} pieces); lower it"
        )
    too_small = re.search(r"Vocabulary size is smaller than required_chars\. \d+ vs (\d+)", message)
    if too_small:
        return UserError(
            f"tokenizer.vocab_size = {vocab_size} is too small for this training text (SentencePiece needs "
            f"at least {too_small.group(1)} pieces to cover its characters); raise it or lower "
            "tokenizer.character_coverage"
        )
    return None
