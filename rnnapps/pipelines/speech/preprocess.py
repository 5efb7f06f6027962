"""The speech preprocessor: the alphabet (a character tokenizer fitted on the training transcripts, "text" in the
bundle), audio -> log-mel frames for the training batches and inside the SavedModel, and model scores -> text."""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np
import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps import sections, tokenizers
from rnnapps.datasets import audio, batching
from rnnapps.decoding import ctc
from rnnapps.pipelines import base
from rnnapps.pipelines.speech import data, features
from rnnapps.pipelines.speech import model as models
from rnnapps.pipelines.speech import recipe as recipes
from rnnapps.special_tokens import RESERVED_TOKENS

# The alphabet is every character of the training transcripts: no frequency cut, no size cap in practice.
_ALPHABET = sections.TokenizerConfig(kind="char", vocab_size=10_000, min_frequency=1, lowercase=False)


class SpeechPreprocessor(base.Preprocessor):
    """Recordings <-> model inputs and outputs, the same in training, scoring and the SavedModel.

    Args:
        tokenizer: the character tokenizer of the transcripts; its padding id is the CTC blank.
        recipe: the recipe (features, augment and frontend sections).

    Example:
        frames, counts = preprocessor.features(samples, lengths)   # [batch, time, mel_bins], [batch]
        texts, scores = preprocessor.decode(model((frames, counts)), counts, beam_size=1)
    """

    def __init__(self, tokenizer: tokenizers.Tokenizer, recipe: recipes.SpeechRecipe,
                 statistics: tuple[np.ndarray, np.ndarray] | None = None):
        self.tokenizer = tokenizer
        self.recipe = recipe
        self.sample_rate = recipe.features.sample_rate
        self.log_mel = features.LogMel(recipe.features, statistics)
        self.augmenter = features.Augmenter(recipe.augment, self.sample_rate)

    @property
    def tokenizers(self) -> dict[str, tokenizers.Tokenizer]:
        """{"text": the character tokenizer}, as stored in the bundle."""
        return {"text": self.tokenizer}

    @property
    def metadata(self) -> dict[str, Any]:
        """{"sample_rate", "alphabet"} (and "feature_mean", "feature_std" for global normalisation), as stored
        in the bundle's metadata."""
        facts = {"sample_rate": self.sample_rate, "alphabet": self.alphabet}
        if self.log_mel.statistics is not None:
            facts["feature_mean"], facts["feature_std"] = (s.tolist() for s in self.log_mel.statistics)
        return facts

    @property
    def alphabet(self) -> list[str]:
        """The characters the model can write."""
        return list(self.tokenizer.vocabulary[len(RESERVED_TOKENS):])

    @property
    def classes(self) -> int:
        """Scores per frame: the vocabulary, whose padding id is the blank."""
        return self.tokenizer.vocab_size

    @classmethod
    def fit(cls, recipe: recipes.SpeechRecipe, splits: data.SpeechSplits, run_dir: pathlib.Path) -> SpeechPreprocessor:
        """The alphabet of the (normalised) training transcripts, or an interrupted run's; for global
        normalisation, each mel bin's mean and deviation over the training recordings."""
        statistics = None
        if recipe.features.normalization == "global":
            statistics = features.LogMel(recipe.features).fit_statistics(splits.train.audio)
        return cls(tokenizers.fitted_tokenizer(_ALPHABET, splits.train.texts, run_dir / "tokenizer"), recipe,
                   statistics)

    @classmethod
    def from_bundle(cls, recipe: recipes.SpeechRecipe, loaded: bundles.Bundle) -> SpeechPreprocessor:
        metadata = loaded.metadata
        statistics = ((metadata["feature_mean"], metadata["feature_std"]) if "feature_mean" in metadata else None)
        return cls(loaded.tokenizers["text"], recipe, statistics)

    # ------------------------------------------------------------------ training

    def batches(self, examples: data.Utterances, config: sections.TrainingConfig, *, shuffle: bool, seed: int,
                augment: bool = False) -> tf.data.Dataset:
        """((frames float32 [batch, time, mel_bins], frame counts int32 [batch]), labels int32 [batch, length])
        batches of recordings of similar length; labels right-padded with the blank.

        Args:
            examples: the recordings.
            config: the recipe's training section (batch size, bucketing, shuffle buffer).
            shuffle: reshuffle every epoch.
            seed: shuffle seed.
            augment: apply the recipe's `[augment]` (training batches only).
        """
        lengths = np.array([len(samples) for samples in examples.audio], np.int64)
        samples = tf.RaggedTensor.from_row_lengths(np.concatenate(examples.audio).astype(np.float32), lengths)
        labels = self.tokenizer.tokenize(tf.constant(examples.texts, tf.string))
        dataset = batching.recipe_batches((samples, lengths.astype(np.int32)), labels, config, shuffle=shuffle,
                                          seed=seed)
        return dataset.map(lambda inputs, targets: (self.features(*inputs, augment=augment), targets),
                           num_parallel_calls=tf.data.AUTOTUNE)

    # ------------------------------------------------------------------ in graph (training and serving)

    def features(self, samples: tf.Tensor, lengths: tf.Tensor, augment: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """Recordings at the model's rate, float32 [batch, samples] right-padded, lengths int [batch] ->
        (frames float32 [batch, time, mel_bins], frame counts int32 [batch]), augmented for training if asked."""
        if augment and self.augmenter.changes_audio:
            samples, lengths = self.augmenter.audio(samples, lengths)
        frames, counts = self.log_mel(samples, lengths, warp=self.augmenter.warp() if augment else None)
        if augment:
            frames = self.augmenter.features(frames, counts)
        return frames, counts

    def decode_wavs(self, wavs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """WAV files' bytes, string [batch] -> (mono samples at the model's rate float32 [batch, samples], right-
        padded; lengths int32 [batch]). Refuses (InvalidArgumentError) audio longer than `audio.MAX_SECONDS`."""
        def one(wav):
            samples, rate = audio.decode_wav(wav)
            tf.debugging.assert_less_equal(
                tf.shape(samples)[0], tf.cast(rate, tf.int32) * int(audio.MAX_SECONDS),
                message=f"the audio is longer than {audio.MAX_SECONDS / 60:g} minutes; send shorter pieces")
            return audio.resample(samples, rate, self.sample_rate)

        ragged = tf.map_fn(one, wavs, fn_output_signature=tf.RaggedTensorSpec([None], tf.float32, ragged_rank=0))
        return ragged.to_tensor(), tf.cast(ragged.row_lengths(), tf.int32)

    def decode(self, logits: tf.Tensor, counts: tf.Tensor, beam_size: int) -> tuple[tf.Tensor, tf.Tensor]:
        """Model scores float32 [batch, steps, classes] of recordings of `counts` frames (int32 [batch]) ->
        (texts string [batch], log probability of each float32 [batch])."""
        ids, scores = ctc.ctc_decode(logits, self.output_counts(counts), beam_size)
        return self.texts(ids), tf.convert_to_tensor(scores)

    def output_counts(self, counts: tf.Tensor) -> tf.Tensor:
        """The model's output steps (int32 [batch]) for recordings of `counts` feature frames (int32 [batch])."""
        return models.output_counts(counts, self.recipe.frontend.subsample)

    def texts(self, ids) -> tf.Tensor:
        """Class ids int32 [batch, length] (PAD_ID after each transcript) -> transcripts string [batch]."""
        return tidy_spaces(self.tokenizer.detokenize(tf.convert_to_tensor(ids)))


def tidy_spaces(texts: tf.Tensor) -> tf.Tensor:
    """Decoded texts (string [batch]) with runs of spaces made one and none at the ends, as transcripts are
    normalised (`text.normalise`): a model may write a space before its first word or after its last."""
    return tf.strings.strip(tf.strings.regex_replace(texts, " +", " "))
