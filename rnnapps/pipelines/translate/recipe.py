"""The translation recipe: data, one tokenizer per side (or one shared), the encoder, the decoder, the rest of
the model, decoding and training. Sections written before the per-task packages (`[model.encoder]`, the
`model.decoder_*` keys, `[decode]`) still load, through `TranslateRecipe.renamed_keys`."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from rnnapps import sections
from rnnapps.errors import UserError
from rnnapps.pipelines.translate import data


@dataclasses.dataclass(frozen=True)
class ModelConfig(sections.Section):
    """What the encoder and the decoder share (the `[model]` section).

    Attributes:
        embedding_dim: source and target embedding width.
        dropout_rate: dropout in encoder and decoder (on embeddings, between stacked layers, before the
            output projection); the only dropout setting translate uses.
        label_smoothing: spread this much probability mass over the vocabulary in the loss.
    """

    embedding_dim: int = 128
    dropout_rate: float = 0.1
    label_smoothing: float = 0.0

    def validate(self, name: str) -> None:
        sections.check_range(sections.WHERE, f"{name}.embedding_dim", self.embedding_dim, 1)
        sections.check_dropout(sections.WHERE, f"{name}.dropout_rate", self.dropout_rate)
        sections.check_range(sections.WHERE, f"{name}.label_smoothing", self.label_smoothing, 0,
                             sections.MAX_LABEL_SMOOTHING)


@dataclasses.dataclass(frozen=True)
class DecoderConfig(sections.Section):
    """The attention decoder (the `[decoder]` section; see `rnnapps.layers.decoder.AttentionDecoder`).

    Attributes:
        cell: "simple_rnn", "lstm" or "gru".
        units: decoder units (also the attention query width).
        num_layers: stacked decoder layers.
        attention: "bahdanau" (additive), "luong_dot" or "luong_general" (multiplicative).
        input_feeding: feed each step's attentional vector into the next step (Luong et al., 2015); the
            decoder then trains one step at a time, which is slower.
        tie_embeddings: share the target embedding with the output projection (model.embedding_dim must
            equal units).
    """

    cell: Literal["simple_rnn", "lstm", "gru"] = "gru"
    units: int = 256
    num_layers: int = 1
    attention: Literal["bahdanau", "luong_dot", "luong_general"] = "luong_general"
    input_feeding: bool = False
    tie_embeddings: bool = False

    def validate(self, name: str) -> None:
        sections.check_range(sections.WHERE, f"{name}.units", self.units, 1)
        sections.check_range(sections.WHERE, f"{name}.num_layers", self.num_layers, 1, sections.MAX_LAYERS)


@dataclasses.dataclass(frozen=True)
class TranslateRecipe:
    """A translation recipe.

    Attributes:
        shared_tokenizer: fit ONE tokenizer, with the source_tokenizer settings, on the training text of
            both sides and use it for both (a joint SentencePiece vocabulary, useful for related languages
            that share words and names); target_tokenizer must then be left out or equal source_tokenizer.
        encoder: the recurrent stack that reads the source (bidirectional is usual). Its dropout comes from
            model.dropout_rate: encoder.dropout_rate and encoder.recurrent_dropout_rate must stay 0.
        decoder: the attention decoder that writes the translation.
        decoding: beam width, length penalty and most output tokens of `predict`, `evaluate` and the
            SavedModel's `serving_default`.
    """

    # Old dotted key -> new one: recipes and bundles written before the per-task packages load unchanged.
    renamed_keys: ClassVar[dict[str, str]] = {
        "model.encoder": "encoder",
        "model.decoder_cell": "decoder.cell",
        "model.decoder_units": "decoder.units",
        "model.decoder_layers": "decoder.num_layers",
        "model.attention": "decoder.attention",
        "model.input_feeding": "decoder.input_feeding",
        "model.tie_embeddings": "decoder.tie_embeddings",
        "decode": "decoding",
    }

    task: str = "translate"
    seed: int = 42
    shared_tokenizer: bool = False
    data: data.ParallelDataConfig = dataclasses.field(
        default_factory=lambda: data.ParallelDataConfig(source="demo:translation", max_length=50))
    # Case is kept on both sides: translations come out with their capitals, and cased BLEU (what is
    # reported) is not penalised on each one. `lowercase = true` stays available.
    source_tokenizer: sections.TokenizerConfig = dataclasses.field(
        default_factory=lambda: sections.TokenizerConfig(kind="subword", vocab_size=4000, lowercase=False))
    target_tokenizer: sections.TokenizerConfig = dataclasses.field(
        default_factory=lambda: sections.TokenizerConfig(kind="subword", vocab_size=4000, lowercase=False))
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    encoder: sections.RecurrentConfig = dataclasses.field(
        default_factory=lambda: sections.RecurrentConfig(units=128, bidirectional=True))
    decoder: DecoderConfig = dataclasses.field(default_factory=DecoderConfig)
    decoding: sections.DecodeConfig = dataclasses.field(default_factory=sections.DecodeConfig)
    training: sections.TrainingConfig = dataclasses.field(default_factory=sections.TrainingConfig)

    # data.max_length means up to three things; these properties are the one place that resolves them, so
    # the preprocessor, the pipeline and its messages ask here instead of re-deriving which field is in force.

    @property
    def max_source_length(self) -> int:
        """Most source tokens the model reads when it translates (data.max_length): longer inputs are
        truncated to this many in `predict`, `evaluate` and the SavedModel."""
        return self.data.max_length

    @property
    def max_output_length(self) -> int:
        """Most tokens a translation may have: decoding.max_output_length, or data.max_length + 10 for 0."""
        return self.decoding.max_output_length or (self.max_source_length or 50) + 10

    @property
    def pair_length_field(self) -> tuple[str, int]:
        """The recipe field that sets the longest training (and validation) pair kept, and its value.

        Returns:
            ("data.max_pair_length", value) when that field is set, else ("data.max_length", value): recipes
            written before max_pair_length existed filter pairs by max_length. Messages name the field
            returned, so that a user raises the one in force.
        """
        if self.data.max_pair_length:
            return "data.max_pair_length", self.data.max_pair_length
        return "data.max_length", self.data.max_length

    @property
    def max_pair_length(self) -> int:
        """The longest training (and validation) pair kept: the value of `pair_length_field`."""
        return self.pair_length_field[1]

    def validate(self) -> None:
        """Raise `UserError` for data settings out of range or settings translate would not use (each section
        checks its own ranges: `rnnapps.sections`)."""
        where = sections.WHERE
        sections.check_range(where, "data.max_length", self.data.max_length, 1)
        sections.check_range(where, "data.max_pair_length", self.data.max_pair_length, 0)
        for key in ("dropout_rate", "recurrent_dropout_rate"):
            # The model applies model.dropout_rate to the encoder; accepting these and ignoring them would
            # train another model than the recipe says.
            value = getattr(self.encoder, key)
            if value != getattr(sections.RecurrentConfig(), key):
                raise UserError(f"{where}: encoder.{key} = {value!r} is not used by translate; the encoder's "
                                f"dropout is model.dropout_rate: remove encoder.{key} and set model.dropout_rate")
        if self.shared_tokenizer and self.target_tokenizer not in (self.source_tokenizer,
                                                                   TranslateRecipe().target_tokenizer):
            raise UserError(f"{where}: shared_tokenizer = true uses the [source_tokenizer] settings for both "
                            "sides; remove [target_tokenizer] or make it equal")
        if self.decoder.tie_embeddings and self.model.embedding_dim != self.decoder.units:
            raise UserError(f"{where}: decoder.tie_embeddings needs model.embedding_dim "
                            f"({self.model.embedding_dim}) == decoder.units ({self.decoder.units})")
