"""Images as the captioning model reads them: decoded pixels, tables of a whole split's pixels for training,
and the image features of a frozen encoder, computed once and cached on disk."""

from __future__ import annotations

import hashlib
import logging
import pathlib

import numpy as np
import tensorflow as tf

from rnnapps import atomic
from rnnapps.datasets import images
from rnnapps.layers import image_encoder
from rnnapps.pipelines.caption import data

log = logging.getLogger(__name__)


def load_pixels(sources: list[str | bytes], size: int, names: list[str] | None = None) -> np.ndarray:
    """Decode and resize images (paths or encoded bytes) exactly as the SavedModel does.

    Args:
        sources: image file paths or encoded image bytes.
        size: side of the square output.
        names: what to call each image in errors (default: its path, or "image bytes").

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


def pixel_table(examples: data.CaptionedImages, size: int, chunk: int = 256) -> np.ndarray:
    """Every image of `examples` decoded and resized: uint8 [images, size, size, 3] (decoded in chunks, so
    that the float pixels of a whole dataset never sit in memory at once)."""
    parts = [_as_bytes(load_pixels(examples.images[start:start + chunk], size, examples.names[start:start + chunk]))
             for start in range(0, len(examples), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, size, size, 3), np.uint8)


def cached_features(encoder: image_encoder.ImageEncoder, examples: data.CaptionedImages, size: int,
                    directory: pathlib.Path, split: str, batch_size: int = 32) -> np.ndarray:
    """Features [images, cells, channels] (float16) of every image, computed once and kept in `directory`.

    The file name holds a hash of the encoder settings, the source of its weights and the image list, so
    a changed dataset or encoder never reads stale features.

    Args:
        encoder: the frozen image encoder.
        examples: the split's images.
        size: side the images are resized to.
        directory: the cache folder (the run directory's features/).
        split: the split's name, the start of the file name.
        batch_size: images encoded at a time.
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


def image_table(examples: data.CaptionedImages, size: int, split: str,
                encoder: image_encoder.ImageEncoder | None = None, directory: pathlib.Path | None = None) -> tf.Tensor:
    """What a training split's images turn into before batching, one row per image.

    Args:
        examples: the split's images.
        size: side the images are resized to.
        split: the split's name (names the cache file).
        encoder: a frozen encoder whose features are cached in `directory`; None: the pixels themselves.
        directory: the feature cache folder (with `encoder`).

    Returns:
        float16 features [images, cells, channels] with an encoder, uint8 pixels [images, size, size, 3]
        without; `model_inputs` turns rows of either into what the model reads.
    """
    if encoder is not None:
        return tf.constant(cached_features(encoder, examples, size, directory, split))
    return tf.constant(pixel_table(examples, size))


def model_inputs(table: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """Rows `index` int32 [batch] of an `image_table` as float32: features as they are, uint8 pixels scaled
    to [0, 1] (in graph: a tf.data map)."""
    rows = tf.gather(table, index)
    if table.dtype == tf.uint8:
        return tf.cast(rows, tf.float32) / 255.0
    return tf.cast(rows, tf.float32)
