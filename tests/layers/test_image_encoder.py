"""Image encoders (the shared building block of the captioner): the small CNN's grid, and a keras.applications
backbone built offline without weights."""

import numpy as np
import pytest

from rnnapps.backbones import backbone_names
from rnnapps.layers.image_encoder import ImageEncoder


def test_small_cnn_gives_an_8x8_grid_for_64_pixel_images():
    encoder = ImageEncoder("small_cnn", image_size=64, filters=32)
    grid = encoder(np.random.default_rng(0).random((2, 64, 64, 3)).astype("float32"))
    assert tuple(grid.shape) == (2, 64, 32) and encoder.grid_shape == (8, 8) and encoder.output_channels == 32


def test_a_keras_applications_backbone_builds_offline_without_weights():
    encoder = ImageEncoder("mobilenet_v3_small", image_size=64, weights="none")
    grid = encoder(np.zeros((1, 64, 64, 3), "float32"))
    assert grid.shape[0] == 1 and grid.shape[1] == np.prod(encoder.grid_shape) and grid.shape[2] > 0
    assert "inception_v3" in backbone_names()
    with pytest.raises(ValueError, match="backbone must be one of"):
        ImageEncoder("vgg99")
