"""The image backbones an image encoder (`rnnapps.layers.image_encoder`) can be built on, by the name a recipe
gives them. Pure Python, so that recipes validate without importing Keras."""

# name -> (keras.applications constructor, module with preprocess_input); every constructor takes include_top,
# weights, input_shape. Looked up lazily by the encoder: keras.applications imports are slow.
BACKBONES = {
    "mobilenet_v3_small": ("MobileNetV3Small", "mobilenet_v3"),
    "mobilenet_v3_large": ("MobileNetV3Large", "mobilenet_v3"),
    "efficientnet_b0": ("EfficientNetB0", "efficientnet"),
    "inception_v3": ("InceptionV3", "inception_v3"),
    "resnet50": ("ResNet50", "resnet50"),
}
SMALL_CNN = "small_cnn"  # a small CNN trained from scratch, for machines that cannot download weights


def backbone_names() -> list[str]:
    """Every encoder name a recipe may give."""
    return [SMALL_CNN, *BACKBONES]
