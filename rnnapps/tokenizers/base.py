"""The tokenizer contract shared by the char, word and subword tokenizers.

A tokenizer is a `tf.Module`: its lookup tables are tracked, so a SavedModel that holds it tokenizes
raw strings inside the graph. Tokenizers are fitted on training text only, saved as plain asset
files (nothing pickled) and loaded back with `rnnapps.tokenizers.load`.

Reserved ids are the same for every tokenizer: 0 padding, 1 unknown, 2 start, 3 end.
"""

from __future__ import annotations

import abc
import json
import pathlib
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import tensorflow as tf

from rnnapps.errors import UserError
from rnnapps.special_tokens import END_ID, PAD_ID, RESERVED_TOKENS, START_ID, UNK_ID  # noqa: F401  (re-exported)

CONFIG_FILE = "tokenizer.json"


def sanitize_utf8(texts: tf.Tensor) -> tf.Tensor:
    """Replace invalid UTF-8 byte sequences with U+FFFD so string ops never fail on bad bytes.

    Args:
        texts: string tensor of any shape.

    Returns:
        String tensor of the same shape, valid UTF-8.
    """
    return tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)


def as_string_tensor(texts: Any) -> tf.Tensor:
    """Turn a str, a list of str or a string tensor into a 1-D string tensor [batch]."""
    if isinstance(texts, str):
        texts = [texts]
    tensor = tf.convert_to_tensor(texts, dtype=tf.string)
    if tensor.shape.rank == 0:
        tensor = tf.reshape(tensor, [1])
    return tensor


class Tokenizer(tf.Module, abc.ABC):
    """Base class: text <-> token ids, in graph.

    Subclasses set `kind`, implement `tokenize`, `detokenize`, `id_to_token`, `_save_assets`,
    `_from_assets` and `fit`.
    """

    kind: ClassVar[str]

    @property
    @abc.abstractmethod
    def vocab_size(self) -> int:
        """Number of ids, reserved ids included."""

    @abc.abstractmethod
    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Map strings to ids.

        Args:
            texts: string tensor [batch] (any UTF-8, invalid bytes are replaced).

        Returns:
            int32 ragged tensor [batch, (tokens)] without start/end ids.
        """

    @abc.abstractmethod
    def detokenize(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
        """Map ids back to strings; padding, start and end ids are dropped.

        Args:
            ids: int tensor [batch, tokens], dense (padded) or ragged.

        Returns:
            string tensor [batch].
        """

    @abc.abstractmethod
    def id_to_token(self, ids: Iterable[int]) -> list[str]:
        """Readable token strings for ids (for attention plots and debugging)."""

    def tokens(self) -> list[str]:
        """Every token, by id (reserved tokens first): list index = token id."""
        return self.id_to_token(range(self.vocab_size))

    @classmethod
    @abc.abstractmethod
    def fit(cls, texts: Iterable[str], config: Any) -> Tokenizer:
        """Fit a tokenizer on training texts.

        Args:
            texts: training-split strings.
            config: a `rnnapps.sections.TokenizerConfig`.

        Returns:
            The fitted tokenizer.
        """

    @abc.abstractmethod
    def _settings(self) -> dict[str, Any]:
        """JSON-ready constructor settings saved in tokenizer.json."""

    @abc.abstractmethod
    def _save_assets(self, directory: pathlib.Path) -> None:
        """Write the vocabulary or model files into `directory`."""

    @classmethod
    @abc.abstractmethod
    def _from_assets(cls, directory: pathlib.Path, settings: dict[str, Any]) -> Tokenizer:
        """Rebuild from files written by `_save_assets`."""

    def save(self, directory: str | pathlib.Path) -> None:
        """Write tokenizer.json and the asset files into `directory` (created if needed)."""
        directory = pathlib.Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_assets(directory)
        config = {"kind": self.kind, "vocab_size": self.vocab_size, **self._settings()}
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")

    def tokenize_python(self, texts: str | list[str]) -> list[list[int]]:
        """Eager convenience: ids for a str or list of str, as Python lists."""
        return self.tokenize(as_string_tensor(texts)).to_list()

    def detokenize_python(self, ids: list[list[int]]) -> list[str]:
        """Eager convenience: strings for lists of ids."""
        ragged = tf.ragged.constant(ids, dtype=tf.int32, ragged_rank=1) if ids else tf.zeros([0, 0], tf.int32)
        return [t.decode("utf-8") for t in self.detokenize(ragged).numpy()]


_REGISTRY: dict[str, type[Tokenizer]] = {}


def token_texts(tokenizer: Tokenizer, ids: tf.Tensor) -> tf.Tensor:
    """Each id's own text, in graph (the labels of an attention heatmap).

    Args:
        tokenizer: the tokenizer the ids come from.
        ids: int32 [batch, time].

    Returns:
        string [batch, time]: each token detokenized alone; "" for padding, start and end.
    """
    texts = tokenizer.detokenize(tf.reshape(ids, [-1, 1]))
    return tf.reshape(texts, tf.shape(ids))


def encode_batch(tokenizer: Tokenizer, texts: tf.Tensor, max_length: int, keep: str = "start") -> tf.Tensor:
    """Tokenize, truncate and right-pad a batch of strings.

    Args:
        tokenizer: any rnnapps tokenizer.
        texts: string tensor [batch].
        max_length: tokens kept per text.
        keep: keep the "start" or the "end" of a text that is too long.

    Returns:
        int32 tensor [batch, time] padded with PAD_ID; time >= 1 even when every text is empty, so
        recurrent layers always see at least one (masked) step.
    """
    ids = tokenizer.tokenize(texts)
    ids = ids[:, -max_length:] if keep == "end" else ids[:, :max_length]
    dense = ids.to_tensor(default_value=PAD_ID)
    return tf.pad(dense, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(dense)[1])]], constant_values=PAD_ID)


def register(cls: type[Tokenizer]) -> type[Tokenizer]:
    """Class decorator: make a tokenizer kind loadable by `load` and fittable by `fit`."""
    _REGISTRY[cls.kind] = cls
    return cls


def fit(texts: Iterable[str], config: Any) -> Tokenizer:
    """Fit the tokenizer kind named by `config.kind` on `texts` (training split only)."""
    if config.kind not in _REGISTRY:
        raise UserError(f"tokenizer.kind = {config.kind!r} is not one of {sorted(_REGISTRY)}")
    return _REGISTRY[config.kind].fit(texts, config)


def load(directory: str | pathlib.Path) -> Tokenizer:
    """Load a tokenizer saved with `Tokenizer.save`.

    Raises:
        UserError: the directory has no tokenizer.json or names an unknown kind.
    """
    directory = pathlib.Path(directory)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise UserError(f"{directory} holds no tokenizer ({CONFIG_FILE} is missing)")
    settings = json.loads(config_path.read_text(encoding="utf-8"))
    kind = settings.pop("kind", None)
    settings.pop("vocab_size", None)
    if kind not in _REGISTRY:
        raise UserError(f"{config_path}: unknown tokenizer kind {kind!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[kind]._from_assets(directory, settings)


def fitted_tokenizer(config: Any, texts: Iterable[str], directory: str | pathlib.Path) -> Tokenizer:
    """A run's tokenizer: loaded from `config.path`, or from an earlier (interrupted) run of the same
    directory so that resumed training keeps its vocabulary; otherwise fitted on `texts` (the training
    split) and saved to `directory`.

    Args:
        config: a `rnnapps.sections.TokenizerConfig`.
        texts: training-split strings.
        directory: where this run keeps the tokenizer.

    Returns:
        The tokenizer.
    """
    directory = pathlib.Path(directory)
    if config.path:
        return load(config.path)
    if (directory / CONFIG_FILE).is_file():
        return load(directory)
    tokenizer = fit(texts, config)
    tokenizer.save(directory)
    return tokenizer


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Group `items` into lists of `size` (the last one may be shorter)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def pieces_at_line_breaks(text: str, size: int) -> Iterator[str]:
    """Cut a long text into pieces that each end just after a line break (no token of any tokenizer here spans
    one), so the pieces tokenize exactly as the whole text does; string ops on one huge string are slow. A piece
    holds at most `size` characters, or one whole line when a line is longer."""
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            line_break = text.rfind("\n", start, end)
            if line_break < start:  # a line longer than `size`: the piece ends with it
                line_break = text.find("\n", end)
                line_break = len(text) - 1 if line_break < 0 else line_break
            end = line_break + 1
        yield text[start:end]
        start = end


def vocabulary_table(tokens: list[str], name: str) -> tf.lookup.StaticHashTable:
    """A string -> int64 id table for `tokens` (id = position); unknown strings map to UNK_ID."""
    initializer = tf.lookup.KeyValueTensorInitializer(
        keys=tf.constant(tokens, dtype=tf.string),
        values=tf.range(len(tokens), dtype=tf.int64),
    )
    return tf.lookup.StaticHashTable(initializer, default_value=UNK_ID, name=name)


def strip_special_ids(ids: tf.Tensor | tf.RaggedTensor) -> tf.RaggedTensor:
    """Cut each row at its first END id and drop PAD and START ids.

    Args:
        ids: int tensor [batch, tokens], dense or ragged.

    Returns:
        int32 ragged tensor [batch, (tokens)].
    """
    if not isinstance(ids, tf.RaggedTensor):
        ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids))
    ids = tf.cast(ids, tf.int32)
    # Everything from the first END onwards is dropped: cumsum marks it.
    before_end = tf.equal(tf.math.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=1), 0)
    keep = before_end & tf.not_equal(ids, PAD_ID) & tf.not_equal(ids, START_ID)
    return tf.ragged.boolean_mask(ids, keep)


def counted_vocabulary(counts: dict[str, int], vocab_size: int, min_frequency: int) -> list[str]:
    """Reserved tokens followed by the most frequent tokens (ties broken alphabetically).

    Args:
        counts: token -> frequency in the training split.
        vocab_size: total size, reserved tokens included.
        min_frequency: drop tokens seen fewer times.

    Returns:
        The vocabulary list; position = id.
    """
    if vocab_size <= len(RESERVED_TOKENS):
        raise UserError(f"tokenizer.vocab_size = {vocab_size} must be larger than {len(RESERVED_TOKENS)}")
    ranked = sorted(
        (token for token, count in counts.items() if count >= min_frequency and token not in RESERVED_TOKENS),
        key=lambda token: (-counts[token], token),
    )
    vocabulary = list(RESERVED_TOKENS) + ranked[: vocab_size - len(RESERVED_TOKENS)]
    if len(vocabulary) == len(RESERVED_TOKENS):
        raise UserError("the training text is empty: the tokenizer found no tokens to learn")
    return vocabulary
