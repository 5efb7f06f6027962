"""Captioning (one-to-many): image -> caption with a CNN image encoder and an attention RNN decoder
(Show, Attend and Tell), decoded by the shared greedy / beam search, scored with BLEU-1..4."""

from __future__ import annotations

import base64
import logging
import pathlib
from typing import Any

import numpy as np
import tensorflow as tf

from rnnapps import losses, metrics, plots, serving_examples
from rnnapps.datasets import batching, images
from rnnapps.errors import UserError
from rnnapps.pipelines import base, search
from rnnapps.pipelines.caption import data, features, preprocess, reader, scenes, serving
from rnnapps.pipelines.caption import model as caption_model
from rnnapps.pipelines.caption import recipe as caption_recipe

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp")


class CaptionPipeline(search.SearchDecodingPipeline):
    """Image captioning: `pipeline("photo.jpg") -> {"image", "caption", "score"}`."""

    task = "caption"
    examples_name = "images"
    recipe_cls = caption_recipe.CaptionRecipe
    preprocessor_cls = preprocess.CaptionPreprocessor

    predict_batch_size = 32

    def make_serving(self) -> serving.CaptionerServing:
        decoding = self.recipe.decoding
        return serving.CaptionerServing(self.preprocessor, self.model, self.recipe.max_output_length,
                                        decoding.beam_size, decoding.alpha)

    @property
    def demo_inputs(self) -> tuple[bytes, ...]:
        """Three generated scenes like the demo data's, but not in it (PNG bytes)."""
        config = self.recipe.data
        scene_config = scenes.SceneConfig(image_size=config.demo_image_size, max_objects=config.demo_max_objects,
                                          background=config.demo_background, jitter=config.demo_jitter,
                                          seed=config.demo_seed + 999)
        pixels, _ = scenes.generate_scenes(3, scene_config)
        return tuple(images.encode_png(image) for image in pixels)

    # ------------------------------------------------------------------ training

    @classmethod
    def read_data(cls, recipe: caption_recipe.CaptionRecipe) -> data.CaptionSplits:
        """The recipe's captioned images, split by image."""
        return reader.read_splits(recipe.data, recipe.seed)

    @classmethod
    def plan_training(cls, recipe: caption_recipe.CaptionRecipe, preprocessor: preprocess.CaptionPreprocessor,
                      splits: data.CaptionSplits, run_dir: pathlib.Path) -> base.TrainingPlan:
        """(image, caption) batches over pixels, or over the cached features of a frozen encoder, and the
        model that reads them: a whole `Captioner`, or only its decoder on cached features."""
        encoder = preprocessor.feature_encoder
        if encoder is None:  # the encoder trains with the decoder
            encoder = caption_model.build_encoder(recipe)
        size = recipe.encoder.image_size

        def batches(examples: data.CaptionedImages, shuffle: bool, split: str):
            index = np.repeat(np.arange(len(examples)), [len(c) for c in examples.captions]).astype(np.int32)
            kept, decoder_in, target = preprocessor.training_targets(examples.pairs()[1], split)
            index = index[kept]
            table = features.image_table(examples, size, split, preprocessor.feature_encoder, run_dir / "features")
            one_per_image = shuffle and recipe.data.one_caption_per_image
            dataset = batching.recipe_batches((index, decoder_in), target, recipe.training, shuffle=shuffle,
                                              seed=recipe.seed, groups=index if one_per_image else None)
            pairs_per_epoch = len(np.unique(index)) if one_per_image else len(index)
            return dataset.map(lambda x, y: ((features.model_inputs(table, x[0]), x[1]), y)), pairs_per_epoch

        train_data, train_count = batches(splits.train, True, "train")  # (image, caption) pairs per epoch
        validation_data = batches(splits.validation, False, "validation")[0] if len(splits.validation) else None
        return base.TrainingPlan(
            build_model=lambda: caption_model.build_model(recipe, preprocessor.tokenizer.vocab_size, encoder),
            train_data=train_data, validation_data=validation_data, examples_per_epoch=train_count,
            loss=losses.sequence_loss(recipe.decoder.label_smoothing), metrics=[losses.TokenAccuracy()],
            summary={"train_images": len(splits.train), "train_pairs_per_epoch": train_count})

    @classmethod
    def finish_model(cls, recipe: caption_recipe.CaptionRecipe, trained: Any,
                     preprocessor: preprocess.CaptionPreprocessor) -> caption_model.Captioner:
        """A decoder trained on cached features gets its frozen image encoder back in front: raw images in."""
        if recipe.cached:
            return caption_model.with_encoder(preprocessor.feature_encoder, trained)
        return trained

    def serving_examples(self, splits: data.CaptionSplits) -> dict[str, Any]:
        """Three held-out images (of at most 300 kB each, so that the page stays light)."""
        chosen = []
        for image in serving_examples.held_out(splits, self.held_out_split).images[:100]:
            encoded = image if isinstance(image, bytes) else pathlib.Path(image).read_bytes()
            if len(encoded) <= 300_000:
                chosen.append({"b64": base64.b64encode(encoded).decode("ascii")})
            if len(chosen) == 3:
                break
        return {"inputs": {"image_bytes": chosen}} if chosen else {}

    def bundle_artifacts(self, splits: data.CaptionSplits, report: dict[str, Any]) -> dict[str, Any]:
        """attention.png: the attention of every word of the first test image's caption."""
        if not len(splits.test):
            return {}
        first = splits.test.subset([0])
        return {"attention.png": lambda path: self.plot_attention(first.images[0], path, name=first.names[0])}

    # ------------------------------------------------------------------ use

    def prediction_items(self, inputs: list[Any], **options) -> list[tuple[str | bytes, str]]:
        """(source, name) of every image: image file paths, folders (every image inside, sorted), or encoded
        image bytes (named "image N").

        Raises:
            UserError: an input is missing, not an image, too large or corrupt (names it).
        """
        return list(zip(*_expand_inputs(inputs)))

    def prediction_function(self, beam_size: int | None = None, **options):
        """Captions of a batch of images with beam width `beam_size` (default: the recipe's decoding.beam_size;
        1 = greedy)."""
        caption = self.serving.caption_function(self.beam_size(beam_size))

        def run(batch: list[tuple[str | bytes, str]]):
            sources, names = zip(*batch)
            return caption(tf.constant(self.preprocessor.load_pixels(list(sources), list(names))))

        return run

    def prediction_result(self, item: tuple[str | bytes, str], outputs: dict[str, Any]) -> dict[str, Any]:
        """{"image", "caption", "score"} of one image."""
        return {"image": item[1], "caption": outputs["caption"].decode("utf-8"), "score": float(outputs["score"])}

    def after_prediction(self, items: list[tuple[str | bytes, str]], results: list[Any], beam_size: int | None = None,
                         plot_attention: str | None = None, **options) -> None:
        """`plot_attention`: write the attention map of each word of the first image's caption to this PNG."""
        if plot_attention and items:
            self.plot_attention(items[0][0], plot_attention, beam_size, name=items[0][1])

    def plot_attention(self, source: str | bytes, path: str | pathlib.Path, beam_size: int | None = None,
                       name: str = "") -> pathlib.Path:
        """Draw the image once per generated word with that word's attention map on top."""
        beam_size = self.beam_size(beam_size)
        pixels = self.preprocessor.load_pixels([source], [name] if name else None)
        out = self.serving.caption_function(beam_size, with_attention=True)(tf.constant(pixels))
        words = self.preprocessor.words(out["ids"].numpy()[0].tolist())
        return plots.plot_image_attention(pixels[0], out["attention"].numpy()[0][:len(words)],
                                          self.model.encoder.grid_shape, words, path,
                                          title=out["caption"].numpy()[0].decode("utf-8"))

    def score(self, examples: data.CaptionedImages, beam_size: int | None = None) -> dict[str, Any]:
        """BLEU-1..4 (0-1) of this model's captions against every reference of each image."""
        hypotheses = [r["caption"] for r in self.predict(list(examples.images), beam_size=beam_size)]
        lowercase = bool(getattr(self.preprocessor.tokenizer, "lowercase", False))
        return {**metrics.caption_scores(hypotheses, examples.captions, lowercase=lowercase),
                "beam_size": beam_size or self.recipe.decoding.beam_size}

    def read_evaluation_data(self, source: str | None) -> data.CaptionedImages:
        """The recipe's test split (or every image of `source`, in the recipe's format)."""
        return reader.evaluation_examples(self.recipe.data, self.recipe.seed, source)

    # ------------------------------------------------------------------ presentation

    def summary(self) -> str:
        report = self.metrics.get("test", {})
        return self.format_report(report) if report else f"vocabulary: {self.preprocessor.tokenizer.vocab_size} tokens"

    def format_report(self, report: dict[str, Any]) -> str:
        return (f"BLEU-1 {report['bleu_1']:.3f}  BLEU-2 {report['bleu_2']:.3f}  BLEU-3 {report['bleu_3']:.3f}  "
                f"BLEU-4 {report['bleu_4']:.3f}  ({report['images']} images, beam {report['beam_size']})")

    def format_prediction(self, result: dict[str, Any]) -> str:
        return f"{result['image']}\t{result['caption']}"

    def serving_usage(self, path: pathlib.Path) -> str:
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default']"
                "(image_bytes=tf.constant([open('photo.jpg', 'rb').read()])) -> caption, score")


def _expand_inputs(inputs: list[Any]) -> tuple[list[str | bytes], list[str]]:
    """Image sources and their names: folders become their image files (sorted), bytes stay bytes."""
    sources: list[str | bytes] = []
    names: list[str] = []
    for index, item in enumerate(inputs):
        if isinstance(item, bytes):
            sources.append(item)
            names.append(f"image {index + 1}")
            continue
        if not isinstance(item, (str, pathlib.Path)):
            raise UserError(f"input {index} is a {type(item).__name__}; give an image path, a folder or bytes")
        path = pathlib.Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise UserError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
            sources += [str(p) for p in found]
            names += [str(p) for p in found]
        else:
            sources.append(str(path))
            names.append(str(path))
    return sources, names
