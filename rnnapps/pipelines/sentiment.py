"""Sentiment (many-to-one): text -> label + probability with an embedding, a recurrent stack, a
pooling step and a softmax head."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
from typing import Any, Literal

import keras
import numpy as np
import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps import config as recipes
from rnnapps import embeddings, export, layers, metrics, plots, tokenizers, training
from rnnapps.datasets import batching
from rnnapps.datasets import text_classification as text_data
from rnnapps.errors import UserError
from rnnapps.pipelines import base

log = logging.getLogger(__name__)

PREDICT_BATCH = 256


@dataclasses.dataclass(frozen=True)
class ClassifierHeadConfig:
    """How the recurrent outputs become class probabilities.

    Attributes:
        pooling: "last" (final state), "max", "mean", "max_mean" or "attention" over all steps.
        hidden_units: a ReLU layer before the softmax (0 = none).
        dropout_rate: dropout before the output layer(s).
    """

    pooling: Literal["last", "max", "mean", "max_mean", "attention"] = "max"
    hidden_units: int = 0
    dropout_rate: float = 0.3


@dataclasses.dataclass(frozen=True)
class SentimentRecipe:
    """A sentiment recipe: data, tokenizer, embedding, encoder, head and training sections."""

    task: str = "sentiment"
    seed: int = 42
    data: text_data.TextClassificationDataConfig = dataclasses.field(
        default_factory=text_data.TextClassificationDataConfig)
    tokenizer: recipes.TokenizerConfig = dataclasses.field(default_factory=recipes.TokenizerConfig)
    embedding: recipes.EmbeddingConfig = dataclasses.field(default_factory=recipes.EmbeddingConfig)
    encoder: recipes.RecurrentConfig = dataclasses.field(default_factory=recipes.RecurrentConfig)
    head: ClassifierHeadConfig = dataclasses.field(default_factory=ClassifierHeadConfig)
    training: recipes.TrainingConfig = dataclasses.field(default_factory=recipes.TrainingConfig)

    def validate(self) -> None:
        """Raise `UserError` for values out of range."""
        where = "recipe"
        recipes.check_range(where, "data.max_length", self.data.max_length, 1)
        recipes.check_range(where, "data.validation_fraction", self.data.validation_fraction, 0, 0.9)
        recipes.check_range(where, "data.test_fraction", self.data.test_fraction, 0, 0.9)
        recipes.check_range(where, "tokenizer.vocab_size", self.tokenizer.vocab_size, 5)
        recipes.check_range(where, "embedding.dim", self.embedding.dim, 1)
        recipes.check_range(where, "encoder.units", self.encoder.units, 1)
        recipes.check_range(where, "encoder.num_layers", self.encoder.num_layers, 1, 16)
        for key in ("embedding.dropout_rate", "encoder.dropout_rate", "encoder.recurrent_dropout_rate",
                    "head.dropout_rate"):
            section, name = key.split(".")
            recipes.check_range(where, key, getattr(getattr(self, section), name), 0, 0.95)
        recipes.check_range(where, "training.epochs", self.training.epochs, 1)
        recipes.check_range(where, "training.batch_size", self.training.batch_size, 1)
        recipes.check_range(where, "training.learning_rate", self.training.learning_rate, 1e-8, 10)


def build_model(recipe: SentimentRecipe, vocab_size: int, num_classes: int,
                initial_embeddings: np.ndarray | None = None) -> keras.Model:
    """The classifier: ids [batch, time] int32 -> class probabilities [batch, num_classes] float32."""
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = embeddings.TokenEmbedding(
        vocab_size, recipe.embedding.dim, dropout_rate=recipe.embedding.dropout_rate,
        trainable_embeddings=recipe.embedding.trainable, initial_matrix=initial_embeddings, name="token_embedding",
    )(ids)
    encoder = recipe.encoder
    pooled_by_rnn = recipe.head.pooling == "last"
    x = layers.RecurrentStack(
        encoder.cell, encoder.units, encoder.num_layers, encoder.bidirectional, encoder.dropout_rate,
        encoder.recurrent_dropout_rate, return_sequences=not pooled_by_rnn, name="encoder",
    )(x)
    if not pooled_by_rnn:
        x = layers.SequencePooling(recipe.head.pooling, name="pooling")(x)
    x = keras.layers.Dropout(recipe.head.dropout_rate)(x)
    if recipe.head.hidden_units:
        x = keras.layers.Dense(recipe.head.hidden_units, activation="relu", name="hidden")(x)
        x = keras.layers.Dropout(recipe.head.dropout_rate)(x)
    probabilities = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="classes")(x)
    return keras.Model(ids, probabilities, name="sentiment_classifier")


class SentimentPipeline(base.Pipeline):
    """Text classification: `pipeline("great film!") -> {"label": "pos", "probability": 0.97, ...}`."""

    task = "sentiment"
    recipe_cls = SentimentRecipe
    demo_inputs = ("the movie was not great.", "i loved the story!", "the plot was dull but the cast was superb.",
                   "the ending is not boring at all")

    def __init__(self, recipe: SentimentRecipe, model: keras.Model, tokenizer: tokenizers.Tokenizer,
                 label_names: list[str], bundle_path: pathlib.Path | None = None):
        super().__init__(recipe, bundle_path)
        self.model = model
        self.tokenizer = tokenizer
        self.label_names = list(label_names)
        self.serving = export.TextClassifierServing(tokenizer, model, self.label_names, recipe.data.max_length,
                                                    recipe.data.truncation)

    # ------------------------------------------------------------------ training

    @classmethod
    def train(cls, recipe: SentimentRecipe, run_dir: str | pathlib.Path) -> SentimentPipeline:
        """Read data, fit (or reuse) the tokenizer, train, evaluate on the test split, write the bundle.

        Returns:
            The trained pipeline; `pipeline.bundle_path` is `run_dir/bundle`.
        """
        run_dir = cls.start_run(recipe, run_dir)
        training.set_seed(recipe.seed)  # first: it would invalidate tokenizers created before it
        data = text_data.read_splits(recipe.data, recipe.seed)
        log.info("data: %d train, %d validation, %d test examples; labels %s", len(data.train),
                 len(data.validation), len(data.test), data.label_names)
        tokenizer = base.fitted_tokenizer(recipe.tokenizer, data.train.texts, run_dir / "tokenizer")
        initial = None
        if recipe.embedding.pretrained_path:
            initial, _ = embeddings.load_vectors(recipe.embedding.pretrained_path, tokenizer.id_to_token(
                range(tokenizer.vocab_size)), recipe.embedding.dim, seed=recipe.seed)

        def batches(examples: text_data.LabelledTexts, shuffle: bool) -> tf.data.Dataset:
            ids = batching.truncate(tokenizer.tokenize(tf.constant(examples.texts, tf.string)),
                                    recipe.data.max_length, recipe.data.truncation)
            targets = np.asarray(data.label_ids(examples), dtype=np.int32)
            return batching.padded_batches(
                ids, targets, recipe.training.batch_size, shuffle=shuffle, seed=recipe.seed,
                bucketing=recipe.training.bucketing, num_buckets=recipe.training.num_buckets,
                shuffle_buffer=recipe.training.shuffle_buffer)

        result = training.train(
            lambda: build_model(recipe, tokenizer.vocab_size, len(data.label_names), initial),
            batches(data.train, shuffle=True),
            batches(data.validation, shuffle=False),
            recipe.training,
            run_dir,
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            seed=None,
            steps_per_epoch=-(-len(data.train) // recipe.training.batch_size),
        )
        pipeline = cls(recipe, result.model, tokenizer, data.label_names)
        report = pipeline._report(data.test) if len(data.test) else {}
        log.info("test accuracy %.4f, macro F1 %.4f on %d examples", report.get("accuracy", float("nan")),
                 report.get("macro_f1", float("nan")), report.get("examples", 0))
        summary = {"test": report, "training": training.summary(
            result, train_examples=len(data.train), validation_examples=len(data.validation))}
        artifacts = training.history_artifacts(result, run_dir)
        if report:
            artifacts["confusion_matrix.png"] = lambda path: plots.plot_confusion_matrix(
                report["confusion_matrix"], data.label_names, path)
        pipeline.bundle_path = bundles.save(
            run_dir / bundles.BUNDLE_DIR, task=cls.task, model=result.model, tokenizers_by_name={"text": tokenizer},
            recipe=recipe, metrics=summary, extra_metadata={"label_names": data.label_names},
            artifacts=artifacts)
        return pipeline

    @classmethod
    def from_bundle(cls, path: str | pathlib.Path) -> SentimentPipeline:
        loaded = bundles.load(path, cls.task)
        return cls(cls.recipe_from_bundle(loaded), loaded.model, loaded.tokenizers["text"],
                   loaded.metadata["label_names"], loaded.path)

    # ------------------------------------------------------------------ use

    def predict(self, inputs: list[str], **options) -> list[dict[str, Any]]:
        """Classify texts.

        Args:
            inputs: raw strings (any length; long texts are truncated to data.max_length tokens).

        Returns:
            One {"text", "label", "probability", "probabilities": {label: p}} dict per input.
        """
        for index, text in enumerate(inputs):
            if not isinstance(text, (str, bytes)):
                raise UserError(f"input {index} is a {type(text).__name__}, expected a string")
        results = []
        for start in range(0, len(inputs), PREDICT_BATCH):
            chunk = inputs[start:start + PREDICT_BATCH]
            out = self.serving.classify(tf.constant(chunk, tf.string))
            for text, label, probability, row in zip(chunk, out["label"].numpy(), out["probability"].numpy(),
                                                     out["probabilities"].numpy()):
                results.append({
                    "text": text if isinstance(text, str) else text.decode("utf-8", "replace"),
                    "label": label.decode("utf-8"),
                    "probability": float(probability),
                    "probabilities": {name: float(p) for name, p in zip(self.label_names, row)},
                })
        return results

    def evaluate(self, source: str | None = None, **options) -> dict[str, Any]:
        """Accuracy, F1 and the confusion matrix on held-out data.

        Args:
            source: labelled data to evaluate on (same formats as data.source); None = the test split
                of the recipe's own data (the same split as at training time).

        The report is stored in the bundle's metrics.json: under "test" for the recipe's test split,
        under "data:SOURCE" for other data.

        Returns:
            The classification report (see `rnnapps.metrics.classification_report`).
        """
        if source:
            config = dataclasses.replace(self.recipe.data, source=source, test_source="", format="auto",
                                         labels=tuple(self.label_names), test_fraction=0.0, validation_fraction=0.0)
            found = text_data.read_splits(config, self.recipe.seed)
            examples = found.test if len(found.test) else found.train
        else:
            examples = text_data.read_splits(
                dataclasses.replace(self.recipe.data, labels=tuple(self.label_names)), self.recipe.seed).test
        if not len(examples):
            raise UserError("there are no test examples to evaluate on; pass --data FILE")
        report = self._report(examples)
        self.store_evaluation(report, source)
        if self.bundle_path is not None:
            plots.plot_confusion_matrix(report["confusion_matrix"], self.label_names,
                                        self.bundle_path / "confusion_matrix.png")
        return report

    def _report(self, examples: text_data.LabelledTexts) -> dict[str, Any]:
        unknown = sorted(set(examples.labels) - set(self.label_names))
        if unknown:
            raise UserError(f"the evaluation data has label {unknown[0]!r}; this model knows {self.label_names}")
        index = {name: i for i, name in enumerate(self.label_names)}
        # Sorting by length keeps each batch's padding small; predictions are put back in order after.
        order = np.argsort([len(text) for text in examples.texts], kind="stable")
        predicted = np.empty(len(order), dtype=np.int64)
        for start in range(0, len(order), PREDICT_BATCH):
            chunk = order[start:start + PREDICT_BATCH]
            out = self.serving.classify(tf.constant([examples.texts[i] for i in chunk], tf.string))
            predicted[chunk] = out["label_id"].numpy()
        return metrics.classification_report([index[label] for label in examples.labels], predicted,
                                             self.label_names)

    def summary(self) -> str:
        report = self.metrics.get("test", {})
        return self.format_report(report) if report else f"labels: {', '.join(self.label_names)}"

    def format_report(self, report: dict[str, Any]) -> str:
        lines = [f"accuracy {report['accuracy']:.4f}   macro F1 {report['macro_f1']:.4f}   "
                 f"({report['examples']} examples)"]
        for name, scores in report["per_class"].items():
            lines.append(f"  {name:>12}: precision {scores['precision']:.3f}  recall {scores['recall']:.3f}  "
                         f"F1 {scores['f1']:.3f}  support {scores['support']}")
        return "\n".join(lines)

    def format_prediction(self, result: dict[str, Any]) -> str:
        text = " ".join(result["text"].split())
        return f"{result['label']}\t{result['probability']:.3f}\t{text[:77] + '...' if len(text) > 80 else text}"

    def serving_usage(self, path: pathlib.Path) -> str:
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default'](text=tf.constant(['...']))"
                " -> label, probability, probabilities, label_id")

    def export(self, path: str | pathlib.Path) -> pathlib.Path:
        """SavedModel with signature `serving_default(text: string [batch]) -> label, probability, ...`."""
        return export.save(self.serving, path, {"serving_default": self.serving.classify})
