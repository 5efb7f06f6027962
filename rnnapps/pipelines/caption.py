"""Captioning (one-to-many): image -> caption with a CNN image encoder and an attention RNN decoder
(Show, Attend and Tell), decoded by the shared greedy / beam search, scored with BLEU-1..4."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import pathlib
from typing import Any, Literal

import keras
import numpy as np
import tensorflow as tf

from rnnapps import atomic, export, losses, metrics, plots, tokenizers, training
from rnnapps import bundle as bundles
from rnnapps import config as recipes
from rnnapps.datasets import batching, captions, images, scenes
from rnnapps.errors import UserError
from rnnapps.layers.captioner import CaptionDecoder, Captioner
from rnnapps.layers.image_encoder import SMALL_CNN, ImageEncoder, backbone_names
from rnnapps.pipelines import base

log = logging.getLogger(__name__)

PREDICT_BATCH = 32
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp")


@dataclasses.dataclass(frozen=True)
class ImageEncoderConfig:
    """The image encoder (see `rnnapps.layers.ImageEncoder`).

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

    backbone: str = SMALL_CNN
    image_size: int = 64
    weights: str = "none"
    filters: int = 128
    trainable: bool = True
    cache_features: bool = True


@dataclasses.dataclass(frozen=True)
class CaptionDecoderConfig:
    """The caption decoder (see `rnnapps.layers.CaptionDecoder`).

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
        max_length: caption tokens kept for training (longer captions are dropped) and, plus 5, the
            most generated.
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
    max_length: int = 30


@dataclasses.dataclass(frozen=True)
class CaptionRecipe:
    """A captioning recipe: data, caption tokenizer, image encoder, decoder, decoding and training."""

    task: str = "caption"
    seed: int = 42
    data: captions.CaptionDataConfig = dataclasses.field(default_factory=captions.CaptionDataConfig)
    tokenizer: recipes.TokenizerConfig = dataclasses.field(
        default_factory=lambda: recipes.TokenizerConfig(kind="word", vocab_size=5000))
    encoder: ImageEncoderConfig = dataclasses.field(default_factory=ImageEncoderConfig)
    decoder: CaptionDecoderConfig = dataclasses.field(default_factory=CaptionDecoderConfig)
    decode: recipes.DecodeConfig = dataclasses.field(default_factory=recipes.DecodeConfig)
    # No length bucketing by default: it batches captions of one length together, and with them one kind of
    # image (generated scenes: one object or two). The batch-norm statistics of a CNN that trains then follow
    # whichever kind came last: in a bucketed scenes run, validation token accuracy stalled near 0.6 while
    # training reached 0.84, and test BLEU-4 was 0.34.
    training: recipes.TrainingConfig = dataclasses.field(
        default_factory=lambda: recipes.TrainingConfig(epochs=20, learning_rate=0.002, early_stopping_patience=3,
                                                       bucketing=False))

    @property
    def max_output_length(self) -> int:
        """Most tokens a generated caption may have."""
        return self.decode.max_output_length or self.decoder.max_length + 5

    @property
    def cached(self) -> bool:
        """Features are computed once and cached (a frozen encoder)."""
        return not self.encoder.trainable and self.encoder.cache_features

    def validate(self) -> None:
        """Raise `UserError` for values out of range or combinations that cannot work."""
        where = "recipe"
        if self.encoder.backbone not in backbone_names():
            raise UserError(f"{where}: encoder.backbone = {self.encoder.backbone!r} is not one of "
                            f"{', '.join(backbone_names())}")
        if self.encoder.backbone == SMALL_CNN and not self.encoder.trainable:
            raise UserError(f"{where}: encoder.trainable = false freezes a small CNN that has never been "
                            "trained; keep it trainable or choose a pretrained backbone")
        recipes.check_range(where, "encoder.image_size", self.encoder.image_size, 16, 1024)
        recipes.check_range(where, "encoder.filters", self.encoder.filters, 4, 4096)
        recipes.check_range(where, "decoder.units", self.decoder.units, 1)
        recipes.check_range(where, "decoder.max_length", self.decoder.max_length, 2, 500)
        recipes.check_range(where, "decoder.dropout_rate", self.decoder.dropout_rate, 0, 0.9)
        recipes.check_range(where, "decoder.label_smoothing", self.decoder.label_smoothing, 0, 0.5)
        recipes.check_range(where, "decode.beam_size", self.decode.beam_size, 1, 64)
        recipes.check_range(where, "training.epochs", self.training.epochs, 1)
        recipes.check_range(where, "training.batch_size", self.training.batch_size, 1)


def build_encoder(recipe: CaptionRecipe) -> ImageEncoder:
    """The recipe's image encoder (weights loaded or downloaded as the recipe says)."""
    config = recipe.encoder
    try:
        encoder = ImageEncoder(config.backbone, config.image_size, config.weights, config.filters,
                               name="image_encoder")
    except (OSError, ValueError) as error:
        raise UserError(f"encoder.weights = {config.weights!r}: cannot load the {config.backbone} weights "
                        f"({str(error).splitlines()[0]}); use \"none\" offline, or a local weights file") from None
    encoder.trainable = config.trainable
    return encoder


def build_decoder(recipe: CaptionRecipe, vocab_size: int) -> CaptionDecoder:
    """The recipe's caption decoder: (features, caption ids) -> logits [batch, time, vocab]."""
    config = recipe.decoder
    return CaptionDecoder(vocab_size, config.embedding_dim, config.cell, config.units, config.num_layers,
                          config.attention, config.dropout_rate, config.attention_regularization,
                          config.input_feeding, name="caption_decoder")


def load_pixels(sources: list[str | bytes], size: int, names: list[str] | None = None) -> np.ndarray:
    """Decode and resize images (paths or encoded bytes) exactly as the SavedModel does.

    Returns:
        float32 [count, size, size, 3], RGB in [0, 1].

    Raises:
        UserError: an image is missing, not an image, too large or corrupt (names it).
    """
    pixels = np.zeros((len(sources), size, size, 3), np.float32)
    for index, source in enumerate(sources):
        pixels[index] = images.load_image(source, size, name=names[index] if names else "")
    return pixels


def _as_bytes(pixels: np.ndarray) -> np.ndarray:
    """float [0, 1] pixels -> uint8: a quarter of the memory for a training set held in memory."""
    return np.round(pixels * 255.0).astype(np.uint8)


def pixel_table(examples: captions.CaptionedImages, size: int, chunk: int = 256) -> np.ndarray:
    """Every image of `examples` decoded and resized: uint8 [images, size, size, 3] (decoded in chunks, so
    that the float pixels of a whole dataset never sit in memory at once)."""
    parts = [_as_bytes(load_pixels(examples.images[start:start + chunk], size, examples.names[start:start + chunk]))
             for start in range(0, len(examples), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, size, size, 3), np.uint8)


def _as_float(pixels):
    return tf.cast(pixels, tf.float32) / 255.0


def cached_features(encoder: ImageEncoder, examples: captions.CaptionedImages, size: int, directory: pathlib.Path,
                    split: str, batch_size: int = 32) -> np.ndarray:
    """Features [images, cells, channels] (float16) of every image, computed once and kept in `directory`.

    The file name holds a hash of the encoder settings, the source of its weights and the image list, so
    a changed dataset or encoder never reads stale features.
    """
    # get_config() always says weights "none" (a rebuilt model must not download them): name the source here.
    key = hashlib.sha256(repr((encoder.get_config(), encoder.weights_source, size, examples.names, [
        image if isinstance(image, str) else hashlib.sha256(image).hexdigest() for image in examples.images
    ])).encode()).hexdigest()[:16]
    path = directory / f"{split}-{key}.npy"
    if path.is_file():
        log.info("%s: image features read from the cache %s", split, path)
        return np.load(path)
    log.info("%s: computing image features of %d images (once; cached in %s)", split, len(examples), directory)
    encode = tf.function(lambda pixels: encoder(pixels, training=False), reduce_retracing=True)
    parts = []
    for start in range(0, len(examples), batch_size):
        chunk = load_pixels(examples.images[start:start + batch_size], size, examples.names[start:start + batch_size])
        parts.append(np.asarray(encode(chunk)).astype(np.float16))
    features = np.concatenate(parts) if parts else np.zeros((0,), np.float16)
    directory.mkdir(parents=True, exist_ok=True)
    atomic.write_file(path, lambda tmp: np.save(tmp, features, allow_pickle=False))
    return features


class CaptionPipeline(base.Pipeline):
    """Image captioning: `pipeline("photo.jpg") -> {"image", "caption", "score"}`."""

    task = "caption"
    recipe_cls = CaptionRecipe

    def __init__(self, recipe: CaptionRecipe, model: Captioner, tokenizer: tokenizers.Tokenizer,
                 bundle_path: pathlib.Path | None = None):
        super().__init__(recipe, bundle_path)
        self.model = model
        self.tokenizer = tokenizer
        self.serving = export.CaptionerServing(tokenizer, model, recipe.max_output_length, recipe.decode.beam_size,
                                               recipe.decode.alpha)

    @property
    def demo_inputs(self) -> tuple[bytes, ...]:
        """Three generated scenes like the demo data's, but not in it (PNG bytes)."""
        data = self.recipe.data
        config = scenes.SceneConfig(image_size=data.demo_image_size, max_objects=data.demo_max_objects,
                                    background=data.demo_background, jitter=data.demo_jitter, seed=data.demo_seed + 999)
        pixels, _ = scenes.generate_scenes(3, config)
        return tuple(images.encode_png(image) for image in pixels)

    # ------------------------------------------------------------------ training

    @classmethod
    def train(cls, recipe: CaptionRecipe, run_dir: str | pathlib.Path) -> CaptionPipeline:
        """Read captioned images, fit (or reuse) the tokenizer, train (on cached features when the encoder
        is frozen), score BLEU on the test split, write the bundle."""
        run_dir = cls.start_run(recipe, run_dir)
        training.set_seed(recipe.seed)  # first: it would invalidate tokenizers created before it
        data = captions.read_splits(recipe.data, recipe.seed)
        log.info("data: %d train, %d validation, %d test images", len(data.train), len(data.validation),
                 len(data.test))
        tokenizer = base.fitted_tokenizer(recipe.tokenizer, data.train.pairs()[1], run_dir / "tokenizer")
        encoder = build_encoder(recipe)
        size = recipe.encoder.image_size

        def image_table(examples: captions.CaptionedImages, split: str) -> tf.Tensor:
            if recipe.cached:
                return tf.constant(cached_features(encoder, examples, size, run_dir / "features", split))
            return tf.constant(pixel_table(examples, size))

        def batches(examples: captions.CaptionedImages, shuffle: bool, split: str):
            index = np.repeat(np.arange(len(examples)), [len(c) for c in examples.captions]).astype(np.int32)
            ids = tokenizer.tokenize(tf.constant(examples.pairs()[1], tf.string))
            keep = (ids.row_lengths() > 0) & (ids.row_lengths() < recipe.decoder.max_length)
            ids, index = tf.ragged.boolean_mask(ids, keep), index[keep.numpy()]
            if not len(index):
                raise UserError(f"no {split} captions are left; raise decoder.max_length "
                                f"(now {recipe.decoder.max_length}) or check the data")
            rows = ids.nrows()
            start = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tokenizers.START_ID))
            end = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tokenizers.END_ID))
            table = image_table(examples, split)
            one_per_image = shuffle and recipe.data.one_caption_per_image
            dataset = batching.padded_batches(
                (index, tf.concat([start, ids], axis=1)), tf.concat([ids, end], axis=1), recipe.training.batch_size,
                shuffle=shuffle, seed=recipe.seed, bucketing=recipe.training.bucketing,
                num_buckets=recipe.training.num_buckets, shuffle_buffer=recipe.training.shuffle_buffer,
                groups=index if one_per_image else None)
            lookup = (lambda i: tf.cast(tf.gather(table, i), tf.float32)) if recipe.cached else (
                lambda i: _as_float(tf.gather(table, i)))
            pairs_per_epoch = len(np.unique(index)) if one_per_image else len(index)
            return dataset.map(lambda x, y: ((lookup(x[0]), x[1]), y)), pairs_per_epoch

        train_data, train_count = batches(data.train, True, "train")  # (image, caption) pairs per epoch
        validation_data = batches(data.validation, False, "validation")[0] if len(data.validation) else None
        config = recipe.training
        if validation_data is None and config.monitor.startswith("val_"):
            config = dataclasses.replace(config, monitor=config.monitor.removeprefix("val_"))

        def build_model() -> keras.Model:
            decoder = build_decoder(recipe, tokenizer.vocab_size)
            return decoder if recipe.cached else Captioner(encoder, decoder, name="captioner")

        result = training.train(
            build_model, train_data, validation_data, config, run_dir,
            loss=losses.sequence_loss(recipe.decoder.label_smoothing), metrics=[losses.TokenAccuracy()], seed=None,
            steps_per_epoch=-(-train_count // config.batch_size))
        if recipe.cached:
            model = Captioner(encoder, _uncompiled_copy(result.model, recipe, tokenizer.vocab_size), name="captioner")
            model.build(((None, size, size, 3), (None, None)))  # both parts are built: this only marks it so
        else:
            model = result.model
        pipeline = cls(recipe, model, tokenizer)
        report = pipeline.score(data.test) if len(data.test) else {}
        if report:
            log.info("test BLEU-1 %.3f, BLEU-4 %.3f on %d images", report["bleu_1"], report["bleu_4"],
                     report["images"])
        summary = {"test": report, "training": training.summary(result, train_images=len(data.train),
                                                                 train_pairs_per_epoch=train_count)}
        artifacts = training.history_artifacts(result, run_dir)
        if len(data.test):
            first = data.test.subset([0])
            artifacts["attention.png"] = lambda path: pipeline.plot_attention(first.images[0], path,
                                                                              name=first.names[0])
        pipeline.bundle_path = bundles.save(
            run_dir / bundles.BUNDLE_DIR, task=cls.task, model=model, tokenizers_by_name={"caption": tokenizer},
            recipe=recipe, metrics=summary, artifacts=artifacts)
        return pipeline

    @classmethod
    def from_bundle(cls, path: str | pathlib.Path) -> CaptionPipeline:
        loaded = bundles.load(path, cls.task)
        return cls(cls.recipe_from_bundle(loaded), loaded.model, loaded.tokenizers["caption"], loaded.path)

    # ------------------------------------------------------------------ use

    def predict(self, inputs: list[Any], beam_size: int | None = None, plot_attention: str | None = None,
                **options) -> list[dict[str, Any]]:
        """Caption images.

        Args:
            inputs: image file paths, folders (every image inside, sorted), or encoded image bytes.
            beam_size: beam width (default: the recipe's decode.beam_size; 1 = greedy).
            plot_attention: write the attention map of each word of the first image's caption to this PNG.

        Returns:
            One {"image", "caption", "score"} dict per image.

        Raises:
            UserError: an input is missing, not an image, too large or corrupt (names it).
        """
        beam_size = self.recipe.decode.beam_size if beam_size is None else beam_size
        if not 1 <= beam_size <= 64:
            raise UserError(f"the beam size (--beam) must be between 1 and 64, got {beam_size}")
        sources, names = _expand_inputs(inputs)
        caption = self.serving.caption_function(beam_size)
        results = []
        for start in range(0, len(sources), PREDICT_BATCH):
            pixels = load_pixels(sources[start:start + PREDICT_BATCH], self.recipe.encoder.image_size,
                                 names[start:start + PREDICT_BATCH])
            out = caption(tf.constant(pixels))
            for name, text, score in zip(names[start:start + PREDICT_BATCH], out["caption"].numpy(),
                                         out["score"].numpy()):
                results.append({"image": name, "caption": text.decode("utf-8"), "score": float(score)})
        if plot_attention and sources:
            self.plot_attention(sources[0], plot_attention, beam_size, name=names[0])
        return results

    def plot_attention(self, source: str | bytes, path: str | pathlib.Path, beam_size: int | None = None,
                       name: str = "") -> pathlib.Path:
        """Draw the image once per generated word with that word's attention map on top."""
        beam_size = self.recipe.decode.beam_size if beam_size is None else beam_size
        pixels = load_pixels([source], self.recipe.encoder.image_size, [name] if name else None)
        out = self.serving.caption_function(beam_size, with_attention=True)(tf.constant(pixels))
        ids = [i for i in out["ids"].numpy()[0].tolist() if i != tokenizers.PAD_ID]
        words = [token if i != tokenizers.END_ID else "<end>" for i, token in zip(ids, self.tokenizer.id_to_token(ids))]
        return plots.plot_image_attention(pixels[0], out["attention"].numpy()[0][:len(words)],
                                          self.model.encoder.grid_shape, words, path,
                                          title=out["caption"].numpy()[0].decode("utf-8"))

    def score(self, examples: captions.CaptionedImages, beam_size: int | None = None) -> dict[str, Any]:
        """BLEU-1..4 (0-1) of this model's captions against every reference of each image."""
        hypotheses = [r["caption"] for r in self.predict(list(examples.images), beam_size=beam_size)]
        lowercase = bool(getattr(self.tokenizer, "lowercase", False))
        return {**metrics.caption_scores(hypotheses, examples.captions, lowercase=lowercase),
                "beam_size": beam_size or self.recipe.decode.beam_size}

    def evaluate(self, source: str | None = None, beam_size: int | None = None, **options) -> dict[str, Any]:
        """BLEU-1..4 on the recipe's test split (or on every image of `source`, in the recipe's format)."""
        config = self.recipe.data
        if source:
            config = dataclasses.replace(config, source=source, format="auto", validation_fraction=0.0,
                                         test_fraction=0.0, train_list="", validation_list="", test_list="")
            data = captions.read_splits(config, self.recipe.seed)
            examples = data.test if len(data.test) else data.train
        else:
            examples = captions.read_splits(config, self.recipe.seed).test
        if not len(examples):
            raise UserError("there are no test images to evaluate on; pass --data FILE")
        report = self.score(examples, beam_size)
        self.store_evaluation(report, source, variant=f"beam{beam_size}"
                              if beam_size not in (None, self.recipe.decode.beam_size) else "")
        return report

    def summary(self) -> str:
        report = self.metrics.get("test", {})
        return self.format_report(report) if report else f"vocabulary: {self.tokenizer.vocab_size} tokens"

    def format_report(self, report: dict[str, Any]) -> str:
        return (f"BLEU-1 {report['bleu_1']:.3f}  BLEU-2 {report['bleu_2']:.3f}  BLEU-3 {report['bleu_3']:.3f}  "
                f"BLEU-4 {report['bleu_4']:.3f}  ({report['images']} images, beam {report['beam_size']})")

    def format_prediction(self, result: dict[str, Any]) -> str:
        return f"{result['image']}\t{result['caption']}"

    def serving_usage(self, path: pathlib.Path) -> str:
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default']"
                "(image_bytes=tf.constant([open('photo.jpg', 'rb').read()])) -> caption, score")

    def export(self, path: str | pathlib.Path) -> pathlib.Path:
        """SavedModel with `serving_default` (beam search) and `caption_greedy`: image bytes [batch] -> caption."""
        return export.save(self.serving, path, {"serving_default": self.serving.caption,
                                                "caption_greedy": self.serving.caption_greedy})


def _uncompiled_copy(decoder: CaptionDecoder, recipe: CaptionRecipe, vocab_size: int) -> CaptionDecoder:
    """The trained decoder's weights in a fresh, never compiled decoder: nested inside a Captioner, a
    compiled one would save its training loss (a closure) and could not be loaded again."""
    fresh = build_decoder(recipe, vocab_size)
    fresh.build(decoder.get_build_config()["input_shape"])
    fresh.set_weights(decoder.get_weights())
    return fresh


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
