"""Image encoders that turn an image into a grid of feature vectors for visual attention: a
`keras.applications` backbone (MobileNetV3, EfficientNet, InceptionV3, ResNet50) or a small CNN trained
from scratch, for machines that cannot download pretrained weights.
"""

from __future__ import annotations

import keras
from keras import ops

from rnnapps.backbones import BACKBONES, SMALL_CNN, backbone_names


@keras.saving.register_keras_serializable(package="rnnapps")
class ImageEncoder(keras.layers.Layer):
    """Images -> a grid of feature vectors.

    Args:
        backbone: "small_cnn" or a key of `BACKBONES`.
        image_size: side of the square input images.
        weights: "imagenet" (downloaded by keras.applications), "none" (random initialisation), or the
            path of a weights file for the backbone. Ignored by the small CNN (always trained here).
        filters: width of the small CNN's last block (its blocks have filters/4, filters/2, filters).

    Call args:
        images: float [batch, image_size, image_size, 3] with values in [0, 1].

    Returns:
        float [batch, cells, channels]: the last feature map flattened row by row (cells = grid height x
        width), the memory a decoder attends over.
    """

    def __init__(self, backbone: str = SMALL_CNN, image_size: int = 64, weights: str = "none", filters: int = 128,
                 **kwargs):
        super().__init__(**kwargs)
        if backbone != SMALL_CNN and backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {backbone_names()}, got {backbone!r}")
        self.backbone_name = backbone
        self.image_size = image_size
        self.weights_source = weights
        self.filters = filters
        if backbone == SMALL_CNN:
            self.network = _small_cnn(image_size, filters)
            self.preprocess = None
        else:
            constructor, module = BACKBONES[backbone]
            self.network = getattr(keras.applications, constructor)(
                include_top=False, weights="imagenet" if weights == "imagenet" else None,
                input_shape=(image_size, image_size, 3))
            if weights not in ("imagenet", "none", ""):
                self.network.load_weights(weights)
            self.preprocess = getattr(keras.applications, module).preprocess_input

    def build(self, input_shape):
        if not self.network.built:
            self.network.build(input_shape)

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(height, width) of the feature grid."""
        shape = self.network.compute_output_shape((1, self.image_size, self.image_size, 3))
        return int(shape[1]), int(shape[2])

    @property
    def output_channels(self) -> int:
        """Features per grid cell."""
        return int(self.network.compute_output_shape((1, self.image_size, self.image_size, 3))[-1])

    def call(self, images, training=None):
        x = ops.cast(images, self.compute_dtype)
        if self.preprocess is not None:
            # keras.applications models expect 0..255 pixels and bring their own scaling.
            x = self.preprocess(x * 255.0)
        grid = self.network(x, training=training)
        return ops.reshape(grid, (ops.shape(grid)[0], -1, ops.shape(grid)[-1]))

    def compute_output_shape(self, input_shape):
        height, width = self.grid_shape
        return (input_shape[0], height * width, self.output_channels)

    def get_config(self):
        # The trained weights travel with the saved model: rebuilding it must not download or read them.
        return {**super().get_config(), "backbone": self.backbone_name, "image_size": self.image_size,
                "weights": "none", "filters": self.filters}


def _small_cnn(image_size: int, filters: int) -> keras.Sequential:
    """Three blocks of two 3x3 convolutions (batch norm, ReLU), each halving the resolution: a 64x64 image
    becomes an 8x8 grid of `filters` channels."""
    # Batch-norm statistics follow the weights closely (momentum 0.9, not Keras' 0.99): on small datasets,
    # with few steps per epoch, the slow default left validation scored with stale statistics.
    blocks = []
    for width in (filters // 4, filters // 2, filters):
        for strides in (1, 2):
            blocks += [keras.layers.Conv2D(width, 3, strides=strides, padding="same", use_bias=False),
                       keras.layers.BatchNormalization(momentum=0.9), keras.layers.ReLU()]
    return keras.Sequential([keras.Input((image_size, image_size, 3)), *blocks], name="small_cnn")
