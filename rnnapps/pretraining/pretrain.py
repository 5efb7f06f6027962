"""Pretrain a text task's embedding and encoder as a language model on unlabelled text, with the shared
trainer (checkpoints every epoch, resume, time budget, history), and keep the result as a bundle of its own
(task "pretrained_encoder": the language model and its tokenizer) that any number of fine-tuning runs read."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps import tokenizers, training
from rnnapps.datasets import batching, text_corpus
from rnnapps.errors import UserError
from rnnapps.pretraining import config as configs
from rnnapps.pretraining import model as models

log = logging.getLogger(__name__)

TASK = "pretrained_encoder"
RUN_FOLDER = "pretraining"  # in a task's run directory: the pretraining run (checkpoints, bundle/)
_TOKENIZE_BATCH = 1024


@dataclasses.dataclass
class PretrainedEncoder:
    """A pretrained language model and the tokenizer it read with.

    Attributes:
        model: the `EncoderLanguageModel`.
        tokenizer: its tokenizer; a model started from this encoder must use it.
        path: the bundle it was loaded from.
        metrics: the bundle's metrics (validation loss, training time, corpus).
    """

    model: models.EncoderLanguageModel
    tokenizer: tokenizers.Tokenizer
    path: pathlib.Path
    metrics: dict[str, Any]


def pretrained_encoder(recipe: Any, training_texts: Sequence[str], run_dir: str | pathlib.Path) -> PretrainedEncoder:
    """The pretrained encoder a recipe asks for: loaded from `pretraining.path`, or from `run_dir/bundle`
    when an earlier call finished it, or trained now in `run_dir` (resuming an interrupted pretraining).

    Args:
        recipe: a text task's recipe with `seed`, `tokenizer`, `embedding`, `encoder`, `training` and
            `pretraining` sections.
        training_texts: the task's training texts (read when pretraining.include_training_texts, or when
            pretraining.source = "training"); never its validation or test texts.
        run_dir: the pretraining run directory (e.g. the task run's pretraining/ folder).

    Returns:
        The `PretrainedEncoder`.

    Raises:
        UserError: no pretraining was asked for, the path holds no pretrained encoder, or the text is too short.
    """
    config: configs.PretrainingConfig = recipe.pretraining
    if config.path:
        return load(config.path)
    if not config.source:
        raise UserError("this recipe asks for no pretraining: set pretraining.source (unlabelled text, or "
                        f"\"{configs.TRAINING_TEXTS}\") or pretraining.path")
    run_dir = pathlib.Path(run_dir)
    if (run_dir / bundles.BUNDLE_DIR / bundles.METADATA_FILE).is_file():
        return load(run_dir)
    return _pretrain(recipe, training_texts, run_dir)


def load(path: str | pathlib.Path) -> PretrainedEncoder:
    """Load a pretrained encoder: its bundle, the pretraining run directory that holds it, or the run directory
    of a task training that pretrained first (its pretraining/ folder).

    Raises:
        UserError: the path holds no pretrained encoder, or another task's bundle.
    """
    path = pathlib.Path(path)
    if (path / RUN_FOLDER / bundles.BUNDLE_DIR / bundles.METADATA_FILE).is_file():
        path = path / RUN_FOLDER  # the run directory of a training that pretrained first
    try:
        bundles.resolve(path)
    except UserError:
        raise UserError(f"{path} holds no pretrained encoder; write one with 'rnnapps TASK pretrain --out {path}' or "
                        f"name the {RUN_FOLDER}/ folder of a run that pretrained") from None
    loaded = bundles.load(path, TASK)
    return PretrainedEncoder(loaded.model, loaded.tokenizers["text"], loaded.path, loaded.metrics)


def read_documents(config: configs.PretrainingConfig, training_texts: Sequence[str]) -> tuple[list[str], str]:
    """The pretraining documents (one per line of the text read) and where they came from.

    Returns:
        (documents, origin): the task's training texts first (when included), then the unlabelled ones.
    """
    documents = list(training_texts) if config.include_training_texts or config.source == configs.TRAINING_TEXTS else []
    origin = [f"{len(documents):,} training text{'s' if len(documents) != 1 else ''}"] if documents else []
    if config.source and config.source != configs.TRAINING_TEXTS:
        corpus = text_corpus.read_corpus(text_corpus.TextCorpusConfig(
            source=config.source, validation_fraction=0.0, file_suffix=config.file_suffix))
        unlabelled = [line for line in corpus.train.splitlines() if line.strip()]
        documents.extend(unlabelled)
        origin.append(f"{len(unlabelled):,} documents of {corpus.origin}")
    return documents, " + ".join(origin)


def token_stream(tokenizer: tokenizers.Tokenizer, documents: Sequence[str]) -> np.ndarray:
    """All documents' token ids one after another: int32 [tokens] (documents without tokens add nothing)."""
    pieces = [tokenizer.tokenize(tf.constant(batch, tf.string)).flat_values.numpy()
              for batch in tokenizers.base.batched(documents, _TOKENIZE_BATCH)]
    return np.concatenate(pieces).astype(np.int32) if pieces else np.zeros([0], np.int32)


def windows(ids: np.ndarray, window: int, batch_size: int, *, shuffle: bool, seed: int) -> tf.data.Dataset:
    """(window int32 [batch, window + 2], placeholder targets float32 [batch]) batches for
    `EncoderLanguageModel`, cut from the running text (`batching.language_model_windows`)."""
    dataset = batching.language_model_windows(ids, window + 1, batch_size, shuffle=shuffle, seed=seed)
    return dataset.map(lambda inputs, targets: (tf.concat([inputs[:, :1], targets], axis=1),
                                                tf.zeros(tf.shape(inputs)[:1])))


def _pretrain(recipe: Any, training_texts: Sequence[str], run_dir: pathlib.Path) -> PretrainedEncoder:
    config: configs.PretrainingConfig = recipe.pretraining
    documents, origin = read_documents(config, training_texts)
    held = round(len(documents) * config.validation_fraction)
    train_documents, validation_documents = documents[:len(documents) - held], documents[len(documents) - held:]
    log.info("pretraining on %s: %s documents, %s held out", origin, f"{len(train_documents):,}",
             f"{len(validation_documents):,}")
    tokenizer = tokenizers.fitted_tokenizer(recipe.tokenizer, train_documents, run_dir / "tokenizer")
    train_ids = token_stream(tokenizer, train_documents)
    validation_ids = token_stream(tokenizer, validation_documents)
    needed = config.window + 2
    if len(train_ids) < needed:
        raise UserError(f"pretraining text: {len(train_ids)} tokens, too few for one window of {needed}; use more "
                        "text (pretraining.source) or a smaller pretraining.window")
    train = windows(train_ids, config.window, config.batch_size, shuffle=True, seed=recipe.seed)
    validation = (windows(validation_ids, config.window, config.batch_size, shuffle=False, seed=recipe.seed)
                  if len(validation_ids) >= needed else None)
    steps = config.steps_per_epoch or training.steps_for((len(train_ids) - 1) // (config.window + 1),
                                                         config.batch_size)
    log.info("pretraining text: %s training tokens, %s validation tokens; %d steps per epoch",
             f"{len(train_ids):,}", f"{len(validation_ids):,}", steps)
    settings = dataclasses.replace(
        recipe.training, epochs=config.epochs, batch_size=config.batch_size, learning_rate=config.learning_rate,
        lr_schedule="cosine", max_minutes=config.max_minutes, early_stopping_patience=0,
        steps_per_epoch=config.steps_per_epoch, monitor="val_loss" if validation is not None else "loss",
        bucketing=False)
    result = training.train(lambda: build_language_model(recipe, tokenizer.vocab_size), train, validation, settings,
                            run_dir, loss=models.mean_token_loss, seed=None, steps_per_epoch=steps)
    validation_losses = result.history.get("val_loss", [])
    metrics = {"corpus": origin, "train_tokens": int(len(train_ids)), "validation_tokens": int(len(validation_ids)),
               "validation_sampled_loss": validation_losses[result.best_epoch - 1]
               if validation_losses and result.best_epoch else None, "training": training.summary(result)}
    log.info("pretraining done in %.1f min (%s)", result.train_seconds / 60, result.stop_reason)
    path = bundles.save(run_dir / bundles.BUNDLE_DIR, task=TASK, model=result.model,
                        tokenizers_by_name={"text": tokenizer}, recipe=recipe, metrics=metrics,
                        artifacts=training.history_artifacts(result, run_dir))
    return PretrainedEncoder(result.model, tokenizer, path, metrics)


def build_language_model(recipe: Any, vocab_size: int) -> models.EncoderLanguageModel:
    """The `EncoderLanguageModel` shaped like a recipe's embedding and encoder (uncompiled)."""
    encoder, config = recipe.encoder, recipe.pretraining
    if encoder.recurrent_dropout_rate:
        log.info("pretraining keeps encoder.recurrent_dropout_rate = 0 (the fused cuDNN kernel); it is a "
                 "fine-tuning setting")
    return models.EncoderLanguageModel(
        vocab_size, recipe.embedding.dim, embedding_dropout_rate=recipe.embedding.dropout_rate, cell=encoder.cell,
        units=encoder.units, num_layers=encoder.num_layers, bidirectional=encoder.bidirectional,
        layer_dropout_rate=encoder.dropout_rate, output_dropout_rate=config.dropout_rate,
        num_sampled=min(config.sampled_words, vocab_size - 1), seed=recipe.seed, name="encoder_language_model")
