"""Sentiment (many-to-one): text -> label + probability with an embedding, a recurrent stack, a
pooling step and a softmax head; scored by accuracy, F1 and the confusion matrix on the test split."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
from collections.abc import Callable
from typing import Any

import keras

from rnnapps import embeddings, metrics, plots, runs, serving_examples, tokenizers
from rnnapps.pipelines import base
from rnnapps.pipelines.sentiment import data, preprocess, serving
from rnnapps.pipelines.sentiment import model as models
from rnnapps.pipelines.sentiment import recipe as recipes
from rnnapps.pretraining import pretrain, transfer

log = logging.getLogger(__name__)


class SentimentPipeline(base.Pipeline):
    """Text classification: `pipeline("great film!") -> {"label": "pos", "probability": 0.97, ...}`."""

    task = "sentiment"
    recipe_cls = recipes.SentimentRecipe
    preprocessor_cls = preprocess.SentimentPreprocessor
    demo_inputs = ("the movie was not great.", "i loved the story!", "the plot was dull but the cast was superb.",
                   "the ending is not boring at all")

    input_types = (str, bytes)
    predict_batch_size = 256

    def make_serving(self) -> serving.TextClassifierServing:
        return serving.TextClassifierServing(self.preprocessor, self.model)

    @property
    def tokenizer(self) -> tokenizers.Tokenizer:
        """The text tokenizer (the preprocessor's)."""
        return self.preprocessor.tokenizer

    @property
    def label_names(self) -> list[str]:
        """Class names, position = class id (the preprocessor's)."""
        return self.preprocessor.label_names

    # ------------------------------------------------------------------ training hooks

    @classmethod
    def read_data(cls, recipe: recipes.SentimentRecipe) -> data.ClassificationSplits:
        splits = data.read_splits(recipe.data, recipe.seed)
        log.info("labels: %s", ", ".join(splits.label_names))
        return splits

    @classmethod
    def plan_training(cls, recipe: recipes.SentimentRecipe, preprocessor: preprocess.SentimentPreprocessor,
                      splits: data.ClassificationSplits, run_dir: pathlib.Path) -> base.TrainingPlan:
        """Length-bucketed batches of the training and validation texts; the model starts from the pretrained
        encoder or the pretrained vectors if the recipe names them."""
        initial = None
        if recipe.embedding.pretrained_path:
            tokenizer = preprocessor.tokenizer
            initial, _ = embeddings.load_vectors(recipe.embedding.pretrained_path, tokenizer.id_to_token(
                range(tokenizer.vocab_size)), recipe.embedding.dim, seed=recipe.seed)
        train = preprocessor.batches(splits.train, recipe.training, shuffle=True, seed=recipe.seed)
        validation = preprocessor.batches(splits.validation, recipe.training, shuffle=False, seed=recipe.seed)
        summary = {"train_examples": len(splits.train), "validation_examples": len(splits.validation)}
        if recipe.pretraining.enabled:
            build_model, callbacks, summary["pretrained"] = cls._from_pretrained(recipe, preprocessor, splits,
                                                                                 run_dir)
        else:
            callbacks = []

            def build_model() -> keras.Model:
                return models.build_model(recipe, preprocessor.vocab_size, preprocessor.num_classes, initial)
        return base.TrainingPlan(
            build_model=build_model, train_data=train, validation_data=validation,
            examples_per_epoch=len(splits.train), loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")], callbacks=callbacks, summary=summary)

    @staticmethod
    def _from_pretrained(recipe: recipes.SentimentRecipe, preprocessor: preprocess.SentimentPreprocessor,
                         splits: data.ClassificationSplits, run_dir: pathlib.Path):
        """(model builder starting from the pretrained encoder, callbacks, facts for the training summary)."""
        config = recipe.pretraining
        encoder = pretrain.pretrained_encoder(recipe, splits.train.texts, run_dir / pretrain.RUN_FOLDER)
        gate = config.transfer if config.freeze_epochs else ""

        def build_model() -> keras.Model:
            model = models.build_model(recipe, preprocessor.vocab_size, preprocessor.num_classes, gradient_gate=gate)
            copied = transfer.transfer(encoder.model, model.get_layer("token_embedding"), model.get_layer("encoder"),
                                       config.transfer)
            log.info("starting from the pretrained %s (%s)%s", ", ".join(copied), encoder.path,
                     f", frozen for {config.freeze_epochs} epoch(s)" if gate else "")
            return model

        callbacks = [transfer.UnfreezeAfter(config.freeze_epochs)] if gate else []
        facts = {"encoder": str(encoder.path), "corpus": encoder.metrics.get("corpus"),
                 "minutes": round(encoder.metrics.get("training", {}).get("train_seconds", 0) / 60, 1),
                 "validation_sampled_loss": encoder.metrics.get("validation_sampled_loss")}
        return build_model, callbacks, facts

    @classmethod
    def pretrain(cls, recipe: recipes.SentimentRecipe, run_dir: str | pathlib.Path) -> pretrain.PretrainedEncoder:
        """Pretrain the recipe's embedding and encoder on its [pretraining] text (plus the training texts when
        pretraining.include_training_texts) into `run_dir`, resuming an interrupted run; fine-tune from it with
        `--set pretraining.path=RUN_DIR`.

        Returns:
            The `PretrainedEncoder` (its bundle is run_dir/bundle).
        """
        from rnnapps import training

        recipe = dataclasses.replace(recipe, pretraining=dataclasses.replace(recipe.pretraining, path=""))
        run_dir = runs.start_run(recipe, run_dir)
        training.set_seed(recipe.seed)
        return pretrain.pretrained_encoder(recipe, cls.read_data(recipe).train.texts, run_dir)

    def serving_examples(self, splits: data.ClassificationSplits) -> dict[str, Any]:
        """A short held-out text of each label (four at most)."""
        split = serving_examples.held_out(splits, self.held_out_split)
        by_label: dict[str, list[str]] = {}
        for index in serving_examples.spread(len(split), 2000):
            by_label.setdefault(split.labels[index], []).append(split.texts[index])
        texts = [text for label in sorted(by_label) for text in serving_examples.shortest(by_label[label], 1)]
        return {"inputs": {"text": texts[:4]}}

    def bundle_artifacts(self, splits: data.ClassificationSplits,
                         report: dict[str, Any]) -> dict[str, Callable[[pathlib.Path], Any]]:
        """confusion_matrix.png of the test split (when there is one)."""
        if not report:
            return {}
        return {"confusion_matrix.png": lambda path: plots.plot_confusion_matrix(
            report["confusion_matrix"], splits.label_names, path)}

    # ------------------------------------------------------------------ use

    def prediction_order(self, items: list[str | bytes]) -> list[int]:
        # Texts of similar length share a batch, so each batch pads little.
        return sorted(range(len(items)), key=lambda index: len(items[index]))

    def prediction_result(self, text: str | bytes, outputs: dict[str, Any]) -> dict[str, Any]:
        """{"text", "label", "probability" (of that label), "probabilities": {label: p}} of one classified text
        (any length; long texts are truncated to data.max_length tokens)."""
        return {"text": text if isinstance(text, str) else text.decode("utf-8", "replace"),
                "label": outputs["label"].decode("utf-8"), "probability": float(outputs["probability"]),
                "probabilities": {name: float(p) for name, p in zip(self.label_names, outputs["probabilities"])}}

    def score(self, examples: data.LabelledTexts, **options) -> dict[str, Any]:
        """Accuracy, F1 and the confusion matrix of this model on labelled texts.

        Returns:
            The classification report (see `rnnapps.metrics.classification_report`).

        Raises:
            UserError: a label the model does not know.
        """
        targets = self.preprocessor.label_ids(examples.labels)
        predicted = self.preprocessor.label_ids([result["label"] for result in self.predict(examples.texts)])
        return metrics.classification_report([int(i) for i in targets], predicted, self.label_names)

    def read_evaluation_data(self, source: str | None) -> data.LabelledTexts:
        """Labelled texts from `source` (same formats as data.source; all of it, or its own test split), or
        for None the test split of the recipe's own data (the same split as at training time)."""
        if source:
            config = dataclasses.replace(self.recipe.data, source=source, test_source="", format="auto",
                                         labels=tuple(self.label_names), test_fraction=0.0, validation_fraction=0.0)
            found = data.read_splits(config, self.recipe.seed)
            return found.test if len(found.test) else found.train
        return data.read_splits(dataclasses.replace(self.recipe.data, labels=tuple(self.label_names)),
                                self.recipe.seed).test

    def after_evaluation(self, report: dict[str, Any]) -> None:
        """Redraw the bundle's confusion_matrix.png for the latest evaluation."""
        if self.bundle_path is not None:
            plots.plot_confusion_matrix(report["confusion_matrix"], self.label_names,
                                        self.bundle_path / "confusion_matrix.png")

    # ------------------------------------------------------------------ presentation

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
