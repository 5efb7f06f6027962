"""The captioning recipe: data, caption tokenizer, image encoder, recurrent decoder, decoding, training."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from rnnapps import backbones, sections
from rnnapps.errors import UserError
from rnnapps.pipelines.caption import data as caption_data


@dataclasses.dataclass(frozen=True)
class ImageEncoderConfig:
    """The image encoder (see `rnnapps.layers.image_encoder.ImageEncoder`).

    Attributes:
        backbone: "small_cnn" (trained here, needs no download) or a keras.applications backbone:
            mobilenet_v3_small, mobilenet_v3_large, efficientnet_b0, inception_v3, resnet50.
        image_size: images are resized to this square side.
        weights: backbone weights: "imagenet" (downloaded by Keras on first use), "none", or the path
            of a weights file. The small CNN always starts from random weights.
        filters: channels of the small CNN's last block.
        trainable: train the encoder with the decoder. The small CNN must train; a pretrained backbone
            is usually frozen (false), which lets its features be cached.
        cache_features: with a frozen encoder, compute every image's features once and keep them on disk
            in the run directory, so later epochs do not run the CNN.
    """

    backbone: str = backbones.SMALL_CNN
    image_size: int = 64
    weights: str = "none"
    filters: int = 128
    trainable: bool = True
    cache_features: bool = True


@dataclasses.dataclass(frozen=True)
class CaptionDecoderConfig(sections.Section):
    """The recurrent caption decoder (see `rnnapps.pipelines.caption.model.CaptionDecoder`).

    Attributes:
        embedding_dim: word embedding width.
        cell: "simple_rnn", "lstm" or "gru".
        units: decoder units (also the attention width).
        num_layers: stacked decoder layers.
        attention: "bahdanau" (additive, as in Show, Attend and Tell), "luong_dot" or "luong_general".
        dropout_rate: dropout on embeddings, features and between layers.
        attention_regularization: weight of the doubly stochastic attention penalty (0 = off).
        input_feeding: feed each step's attentional vector (what it looked at) into the next step, as
            Show, Attend and Tell feeds its context into the LSTM: the decoder then knows which object it
            has described. It trains one step at a time.
        label_smoothing: spread this much probability mass over the vocabulary in the loss.
    """

    embedding_dim: int = 128
    cell: Literal["simple_rnn", "lstm", "gru"] = "lstm"
    units: int = 256
    num_layers: int = 1
    attention: Literal["bahdanau", "luong_dot", "luong_general"] = "bahdanau"
    dropout_rate: float = 0.2
    attention_regularization: float = 0.0
    input_feeding: bool = False
    label_smoothing: float = 0.0

    def validate(self, name: str) -> None:
        where = sections.WHERE
        sections.check_range(where, f"{name}.embedding_dim", self.embedding_dim, 1)
        sections.check_range(where, f"{name}.units", self.units, 1)
        sections.check_range(where, f"{name}.num_layers", self.num_layers, 1, sections.MAX_LAYERS)
        sections.check_dropout(where, f"{name}.dropout_rate", self.dropout_rate)
        sections.check_range(where, f"{name}.attention_regularization", self.attention_regularization, 0)
        sections.check_range(where, f"{name}.label_smoothing", self.label_smoothing, 0, sections.MAX_LABEL_SMOOTHING)


@dataclasses.dataclass(frozen=True)
class CaptionRecipe:
    """A captioning recipe: data, caption tokenizer, image encoder, decoder, decoding and training."""

    # Recipes and bundles written before the sections were named alike across tasks.
    renamed_keys: ClassVar[dict[str, str]] = {"decode": "decoding", "decoder.max_length": "data.max_caption_length"}

    task: str = "caption"
    seed: int = 42
    data: caption_data.CaptionDataConfig = dataclasses.field(default_factory=caption_data.CaptionDataConfig)
    tokenizer: sections.TokenizerConfig = dataclasses.field(
        default_factory=lambda: sections.TokenizerConfig(kind="word", vocab_size=5000))
    encoder: ImageEncoderConfig = dataclasses.field(default_factory=ImageEncoderConfig)
    decoder: CaptionDecoderConfig = dataclasses.field(default_factory=CaptionDecoderConfig)
    decoding: sections.DecodeConfig = dataclasses.field(default_factory=sections.DecodeConfig)
    # No length bucketing by default: it batches captions of one length together, and with them one kind of
    # image (generated scenes: one object or two). The batch-norm statistics of a CNN that trains then follow
    # whichever kind came last: in a bucketed scenes run, validation token accuracy stalled near 0.6 while
    # training reached 0.84, and test BLEU-4 was 0.34.
    training: sections.TrainingConfig = dataclasses.field(
        default_factory=lambda: sections.TrainingConfig(epochs=20, learning_rate=0.002, early_stopping_patience=3,
                                                       bucketing=False))

    @property
    def max_output_length(self) -> int:
        """Most tokens a generated caption may have."""
        return self.decoding.max_output_length or self.data.max_caption_length + 5

    @property
    def cached(self) -> bool:
        """Features are computed once and cached (a frozen encoder)."""
        return not self.encoder.trainable and self.encoder.cache_features

    def validate(self) -> None:
        """Raise `UserError` for values out of range or combinations that cannot work (each shared section checks
        its own ranges: `rnnapps.sections`)."""
        where = sections.WHERE
        names = backbones.backbone_names()
        if self.encoder.backbone not in names:
            raise UserError(f"{where}: encoder.backbone = {self.encoder.backbone!r} is not one of "
                            f"{', '.join(names)}")
        if self.encoder.backbone == backbones.SMALL_CNN and not self.encoder.trainable:
            raise UserError(f"{where}: encoder.trainable = false freezes a small CNN that has never been "
                            "trained; keep it trainable or choose a pretrained backbone")
        sections.check_range(where, "encoder.image_size", self.encoder.image_size, 16, 1024)
        sections.check_range(where, "encoder.filters", self.encoder.filters, 4, 4096)
        sections.check_range(where, "data.max_caption_length", self.data.max_caption_length, 2, 500)
