"""The recipe sections every task shares, and the limits they hold their values to.

`TokenizerConfig`, `EmbeddingConfig`, `RecurrentConfig`, `TrainingConfig` and `DecodeConfig` are the `[tokenizer]`,
`[embedding]`, `[encoder]`/`[decoder]`, `[training]` and `[decoding]` sections of the task recipes. Each section
validates itself (`Section.validate`), once, when the recipe loader (`rnnapps.config.load_recipe`) has read a
recipe: a task's own `validate()` then checks only its own fields and how the sections fit together. A section a
task owns can take part the same way by subclassing `Section`.

The ranges are named constants here, the one place they are written; `rnnapps.decoding` and the CLI read them.
Pure Python: no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

from rnnapps.errors import UserError

WHERE = "recipe"  # how messages name a loaded recipe (file, defaults and --set overrides together)

MAX_BEAM_SIZE = 64  # hypotheses a beam search keeps: beam x batch decoder states live at once
MAX_LENGTH_PENALTY = 5.0  # beam search's length-penalty exponent alpha (0 = none; GNMT uses 0.6-1.0)
MAX_DROPOUT_RATE = 0.95  # dropout at 1 would drop everything
MAX_LAYERS = 16  # stacked recurrent layers
MIN_VOCAB_SIZE = 5  # the reserved tokens (padding, unknown, start, end) and at least one real one
MIN_LEARNING_RATE, MAX_LEARNING_RATE = 1e-8, 10.0
MAX_LABEL_SMOOTHING = 0.5  # probability mass spread over the vocabulary in a sequence loss
MAX_SAMPLE_LENGTH = 100_000  # characters sampled per call (recipe, CLI, SavedModel): a guard against requests that
#                              would run for hours


class Section:
    """A recipe section that checks its own values (the recipe loader calls `validate` on every section of a
    loaded recipe that is one)."""

    def validate(self, name: str) -> None:
        """Raise `UserError` for a value out of range; `name` is the section's key in the recipe ("training",
        "source_tokenizer"), which the message uses to name the field as a recipe or `--set` spells it."""


def validate_sections(recipe: Any) -> None:
    """Let every `Section` of a recipe dataclass validate itself, in field order.

    Raises:
        UserError: the first value out of range (names the field and the allowed range).
    """
    for field in dataclasses.fields(recipe):
        section = getattr(recipe, field.name)
        if isinstance(section, Section):
            section.validate(field.name)


def check_range(where: str, key: str, value: float, low: float | None = None, high: float | None = None) -> None:
    """Raise `UserError` unless low <= value <= high (either bound may be None); NaN is always out of range."""
    outside = (low is not None and not value >= low) or (high is not None and not value <= high)
    if outside or (isinstance(value, float) and math.isnan(value)):
        bounds = f"between {low:g} and {high:g}" if low is not None and high is not None else (
            f">= {low:g}" if low is not None else f"<= {high:g}")
        raise UserError(f"{where}: {key} = {value!r} must be {bounds}")


def check_dropout(where: str, key: str, value: float) -> None:
    """Raise `UserError` unless 0 <= value <= MAX_DROPOUT_RATE."""
    check_range(where, key, value, 0, MAX_DROPOUT_RATE)


@dataclasses.dataclass(frozen=True)
class TokenizerConfig(Section):
    """How text becomes token ids (see `rnnapps.tokenizers`).

    Attributes:
        kind: "char", "word", "subword" (SentencePiece) or "abc" (musical tokens of ABC notation).
        vocab_size: largest vocabulary, reserved tokens included.
        min_frequency: word/char tokenizers drop tokens seen fewer times in the training split.
        lowercase: fold case before tokenizing.
        subword_model: SentencePiece algorithm, "unigram" or "bpe".
        character_coverage: SentencePiece share of characters kept (1.0 for small alphabets).
        path: load an already fitted tokenizer from this directory instead of fitting one.
    """

    kind: Literal["char", "word", "subword", "abc"] = "word"
    vocab_size: int = 20000
    min_frequency: int = 1
    lowercase: bool = True
    subword_model: Literal["unigram", "bpe"] = "unigram"
    character_coverage: float = 1.0
    path: str = ""

    def validate(self, name: str) -> None:
        check_range(WHERE, f"{name}.vocab_size", self.vocab_size, MIN_VOCAB_SIZE)
        check_range(WHERE, f"{name}.min_frequency", self.min_frequency, 1)
        if not 0 < self.character_coverage <= 1:
            raise UserError(f"{WHERE}: {name}.character_coverage = {self.character_coverage!r} must be > 0 and <= 1")


@dataclasses.dataclass(frozen=True)
class EmbeddingConfig(Section):
    """Token embedding (see `rnnapps.embeddings`).

    Attributes:
        dim: embedding width.
        dropout_rate: dropout on embedded tokens.
        pretrained_path: GloVe or word2vec text file aligned to the vocabulary ("" for none).
        trainable: fine-tune the embedding (False freezes pretrained vectors).
    """

    dim: int = 128
    dropout_rate: float = 0.0
    pretrained_path: str = ""
    trainable: bool = True

    def validate(self, name: str) -> None:
        check_range(WHERE, f"{name}.dim", self.dim, 1)
        check_dropout(WHERE, f"{name}.dropout_rate", self.dropout_rate)


@dataclasses.dataclass(frozen=True)
class RecurrentConfig(Section):
    """A stack of recurrent layers (see `rnnapps.layers.RecurrentStack`).

    Attributes:
        cell: "simple_rnn", "lstm" or "gru".
        units: units per direction per layer.
        num_layers: stacked layers.
        bidirectional: read the sequence both ways (encoders and classifiers only).
        dropout_rate: dropout between stacked layers.
        recurrent_dropout_rate: dropout on the recurrent state; > 0 disables the fused cuDNN kernel.
    """

    cell: Literal["simple_rnn", "lstm", "gru"] = "gru"
    units: int = 64
    num_layers: int = 1
    bidirectional: bool = True
    dropout_rate: float = 0.0
    recurrent_dropout_rate: float = 0.0

    def validate(self, name: str) -> None:
        check_range(WHERE, f"{name}.units", self.units, 1)
        check_range(WHERE, f"{name}.num_layers", self.num_layers, 1, MAX_LAYERS)
        check_dropout(WHERE, f"{name}.dropout_rate", self.dropout_rate)
        check_dropout(WHERE, f"{name}.recurrent_dropout_rate", self.recurrent_dropout_rate)


@dataclasses.dataclass(frozen=True)
class TrainingConfig(Section):
    """How the shared trainer fits a model (see `rnnapps.training`).

    Attributes:
        epochs: most epochs to train.
        batch_size: examples per batch (global, across replicas).
        learning_rate: Adam learning rate (the peak rate with a schedule).
        lr_schedule: "constant", or "cosine" decay from learning_rate to 0 over all epochs' steps.
        clip_norm: clip each gradient's norm (0 disables).
        clip_value: clip gradient values to [-v, v] (0 disables).
        weight_decay: decoupled weight decay (AdamW) per step, scaled by the learning rate (0 = plain Adam).
        early_stopping_patience: stop after this many epochs without improvement (0 disables).
        monitor: metric watched for early stopping and the best checkpoint.
        bucketing: batch sequences of similar length together (fewer padded steps).
        num_buckets: length buckets when bucketing.
        shuffle_buffer: examples in the shuffle buffer.
        full_batches: training batches all of batch_size examples, the remainder of each length bucket left to
            a later epoch's draw: "auto" (when that leaves out at most 2% of an epoch's examples on average),
            "always" or "never". A batch size the train step knows in advance makes every CPU step faster
            (about 15% on the IMDB recipe, benchmarks/RESULTS.md).
        precision: "float32", "mixed_float16" or "mixed_bfloat16".
        distribute: "auto" (mirrored over several GPUs; multi-process when RNNAPPS_NUM_PROCESSES > 1), "none",
            "mirrored" (all local devices) or "multi_process" (data-parallel over processes and machines, on
            JAX: rnnapps.distributed).
        coordinator: multi-process: process 0's host:port ("" = RNNAPPS_COORDINATOR).
        num_processes: multi-process: how many processes train together (0 = RNNAPPS_NUM_PROCESSES).
        process_id: multi-process: this process's id (-1 = RNNAPPS_PROCESS_ID); process 0 writes every file.
        step_timeout_s: multi-process: a process stops when no step has finished for this long (another one
            has most likely stopped).
        tensorboard: write TensorBoard logs into the run directory.
        max_minutes: stop after the epoch that crosses this training time (0 = no limit).
        steps_per_epoch: limit batches per epoch (0 = the whole dataset); for smoke runs.
    """

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_schedule: Literal["constant", "cosine"] = "constant"
    clip_norm: float = 1.0
    clip_value: float = 0.0
    weight_decay: float = 0.0
    early_stopping_patience: int = 3
    monitor: str = "val_loss"
    bucketing: bool = True
    num_buckets: int = 8
    shuffle_buffer: int = 50000
    full_batches: Literal["auto", "always", "never"] = "auto"
    precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = "float32"
    distribute: Literal["auto", "none", "mirrored", "multi_process"] = "auto"
    coordinator: str = ""
    num_processes: int = 0
    process_id: int = -1
    step_timeout_s: float = 300.0
    tensorboard: bool = False
    max_minutes: float = 0.0
    steps_per_epoch: int = 0

    def validate(self, name: str) -> None:
        check_range(WHERE, f"{name}.epochs", self.epochs, 1)
        check_range(WHERE, f"{name}.batch_size", self.batch_size, 1)
        check_range(WHERE, f"{name}.learning_rate", self.learning_rate, MIN_LEARNING_RATE, MAX_LEARNING_RATE)
        for key in ("clip_norm", "clip_value", "weight_decay", "early_stopping_patience", "max_minutes",
                    "steps_per_epoch", "num_processes"):
            check_range(WHERE, f"{name}.{key}", getattr(self, key), 0)
        check_range(WHERE, f"{name}.num_buckets", self.num_buckets, 1)
        check_range(WHERE, f"{name}.shuffle_buffer", self.shuffle_buffer, 1)
        check_range(WHERE, f"{name}.process_id", self.process_id, -1)
        check_range(WHERE, f"{name}.step_timeout_s", self.step_timeout_s, 1)


@dataclasses.dataclass(frozen=True)
class DecodeConfig(Section):
    """How the generative tasks with an end token (translation, captioning) decode.

    Attributes:
        beam_size: hypotheses kept by beam search (1 = greedy).
        alpha: length-penalty exponent of beam search (0 = none).
        max_output_length: most tokens generated (0 = the task's default).
    """

    beam_size: int = 4
    alpha: float = 0.6
    max_output_length: int = 0

    def validate(self, name: str) -> None:
        check_range(WHERE, f"{name}.beam_size", self.beam_size, 1, MAX_BEAM_SIZE)
        check_range(WHERE, f"{name}.alpha", self.alpha, 0, MAX_LENGTH_PENALTY)
        check_range(WHERE, f"{name}.max_output_length", self.max_output_length, 0)
