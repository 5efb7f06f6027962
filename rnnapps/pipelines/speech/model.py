"""The speech recogniser: log-mel frames -> an optional 2-D convolutional front-end that shortens time -> the
shared recurrent stack -> scores over the alphabet plus the CTC blank (the padding id). Pure Keras 3 (no
TensorFlow here), trained with `rnnapps.losses.ctc`, decoded with `rnnapps.decoding.ctc`.
"""

from __future__ import annotations

import keras
from keras import ops

from rnnapps import layers
from rnnapps.pipelines.speech import recipe as recipes
from rnnapps.special_tokens import PAD_ID

_NOT_BLANK = -1e4  # the logit of every non-blank class on a padding frame: probability e^-10000, i.e. zero


@keras.saving.register_keras_serializable(package="rnnapps")
class ConvSubsampling(keras.layers.Layer):
    """Stride-2 3x3 convolutions (ReLU) over time and mel bins, each halving both, the channels of each frame
    then flattened: float [batch, frames, bins] -> [batch, ceil(frames / subsample), ceil(bins / subsample) *
    filters]. subsample 1 passes the frames through.

    Causal in time: output step j of a convolution reads its input steps 2j-2, 2j-1 and 2j (zeros before the
    first), never a later one. So a recording's steps do not depend on the padding after it in a batch, and the
    front-end can run chunk by chunk on a stream, keeping its last two input steps (`CONTEXT`).

    Args:
        subsample: 1, 2 or 4.
        filters: channels of each convolution.
    """

    CONTEXT = 2  # earlier input steps each convolution reads

    def __init__(self, subsample: int = 2, filters: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.subsample = subsample
        self.filters = filters
        count = {1: 0, 2: 1, 4: 2}[subsample]
        self.convolutions = [keras.layers.Conv2D(filters, 3, strides=2, padding="valid", activation="relu",
                                                 name=f"conv_{index}") for index in range(count)]

    def _bins(self, bins: int) -> int:
        for _ in self.convolutions:
            bins = -(-bins // 2)
        return bins

    def build(self, input_shape):
        shape = (input_shape[0], None, input_shape[2], 1)
        for convolution in self.convolutions:
            shape = (shape[0], None, shape[2] + 2, shape[3])
            convolution.build(shape)
            shape = convolution.compute_output_shape(shape)

    def call(self, frames):
        if not self.convolutions:
            return frames
        x = ops.expand_dims(frames, -1)
        for convolution in self.convolutions:
            x = convolution(self.pad(x))
        shape = ops.shape(x)
        return ops.reshape(x, (shape[0], shape[1], self._bins(frames.shape[-1]) * self.filters))

    def pad(self, x, context: bool = True):
        """[batch, steps, bins, channels] padded for one convolution: `CONTEXT` zero steps before (unless the
        caller put real earlier steps there: `context=False`), one zero bin on each side of the bins."""
        return ops.pad(x, ((0, 0), (self.CONTEXT if context else 0, 0), (1, 1), (0, 0)))

    def compute_output_shape(self, input_shape):
        if not self.convolutions:
            return tuple(input_shape)
        frames = None if input_shape[1] is None else -(-input_shape[1] // self.subsample)
        return (input_shape[0], frames, self._bins(input_shape[2]) * self.filters)

    def get_config(self):
        return {**super().get_config(), "subsample": self.subsample, "filters": self.filters}


@keras.saving.register_keras_serializable(package="rnnapps")
class FrameMask(keras.layers.Layer):
    """The real frames after subsampling: (frame counts int [batch], frames [batch, steps, ...]) -> bool
    [batch, steps], True on the first ceil(count / subsample) steps of each row."""

    def __init__(self, subsample: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.subsample = subsample

    def call(self, counts, frames):
        steps = output_counts(counts, self.subsample)
        return ops.less(ops.arange(ops.shape(frames)[1])[None, :], steps[:, None])

    def get_config(self):
        return {**super().get_config(), "subsample": self.subsample}


@keras.saving.register_keras_serializable(package="rnnapps")
class BlankOutside(keras.layers.Layer):
    """Makes padding frames certain blanks: (logits float [batch, steps, classes], mask bool [batch, steps]) ->
    logits where masked-out steps score 0 for the blank (PAD_ID) and -1e4 for every other class. The CTC loss
    over the padded length then equals the loss over the real frames (`rnnapps.losses.ctc`)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, logits, mask=None):
        # The mask ends here: it is in the logits now, and a mask on the output would make Keras weight the
        # per-recording CTC loss [batch] by a mask [batch, steps].
        return None

    def call(self, logits, mask):
        classes = ops.shape(logits)[-1]
        blank = ops.where(ops.equal(ops.arange(classes), PAD_ID), 0.0, _NOT_BLANK)
        return ops.where(mask[:, :, None], logits, ops.cast(blank, logits.dtype)[None, None, :])


def build_model(recipe: recipes.SpeechRecipe, classes: int) -> keras.Model:
    """The recogniser: (frames float32 [batch, time, mel_bins], frame counts int32 [batch]) -> logits float32
    [batch, ceil(time / subsample), classes], padding steps certain blanks.

    Args:
        recipe: the recipe (its features, frontend and encoder sections).
        classes: the tokenizer's vocabulary size; class PAD_ID is the CTC blank.

    Returns:
        The uncompiled `keras.Model` named "speech_recognizer".

    Example:
        model = build_model(SpeechRecipe(), classes=30)
        logits = model((np.zeros((2, 100, 80), "float32"), np.array([100, 60])))  # [2, 50, 30]
    """
    frames = keras.Input(shape=(None, recipe.features.mel_bins), dtype="float32", name="frames")
    counts = keras.Input(shape=(), dtype="int32", name="frame_counts")
    x = ConvSubsampling(recipe.frontend.subsample, recipe.frontend.filters, name="frontend")(frames)
    mask = FrameMask(recipe.frontend.subsample, name="frame_mask")(counts, x)
    encoder = recipe.encoder
    x = layers.RecurrentStack(encoder.cell, encoder.units, encoder.num_layers, encoder.bidirectional,
                              encoder.dropout_rate, encoder.recurrent_dropout_rate, name="encoder")(x, mask=mask)
    x = keras.layers.Dropout(encoder.dropout_rate)(x)
    logits = keras.layers.Dense(classes, dtype="float32", name="characters")(x)
    logits = BlankOutside(name="blank_outside")(logits, mask)
    return keras.Model((frames, counts), logits, name="speech_recognizer")


def output_counts(counts, subsample: int):
    """Steps of the model's output for `counts` input frames (int [batch]): ceil(count / subsample)."""
    return ops.cast(ops.ceil(ops.cast(counts, "float32") / subsample), "int32")
