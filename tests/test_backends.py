"""The model code is backend-agnostic Keras 3 (ARCHITECTURE.md): on the JAX backend, in a process where TensorFlow
cannot be imported at all, the translation, generation, captioning, forecasting and pretraining models build,
learn a toy task with a plain `fit`, and the generative ones decode themselves (`rnnapps.decoding.decode`) under
`jax.jit`. This is how GPU speed is measured on machines that have JAX but no TensorFlow."""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

SCRIPT = textwrap.dedent(r'''
    import importlib.abc
    import os
    import sys

    class NoTensorFlow(importlib.abc.MetaPathFinder):
        """Make `import tensorflow` fail, as on a machine where it is not installed."""

        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith(("tensorflow.", "tensorflow_text", "tf_keras")):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by this test)")
            return None

    sys.meta_path.insert(0, NoTensorFlow())
    os.environ["KERAS_BACKEND"] = "jax"

    import jax
    import keras
    import numpy as np
    from keras import ops

    from rnnapps import decoding, losses
    from rnnapps.layers.image_encoder import ImageEncoder
    from rnnapps.pipelines.caption.model import CaptionDecoder, Captioner
    from rnnapps.pipelines.forecast.losses import ForecastLoss
    from rnnapps.pipelines.forecast.model import RecurrentForecaster
    from rnnapps.pipelines.generate.model import RecurrentLanguageModel
    from rnnapps.pipelines.translate.model import Seq2Seq
    from rnnapps.pretraining.model import EncoderLanguageModel, mean_token_loss
    from rnnapps.special_tokens import END_ID, START_ID

    assert keras.backend.backend() == "jax" and "tensorflow" not in sys.modules
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)

    def teacher_forcing(targets):
        """targets int32 [n, time] ending in END -> decoder inputs (START + targets[:-1])."""
        return np.concatenate([np.full((len(targets), 1), START_ID, "int32"), targets[:, :-1]], axis=1)

    def fraction_right(ids, targets):
        """Share of the rows of ids [n, max_length] that start with their target row."""
        return float(np.mean(np.all(np.asarray(ids)[:, :targets.shape[1]] == targets, axis=1)))

    # Translation: reverse four tokens. Bidirectional GRU encoder, Bahdanau attention, input feeding.
    source = rng.integers(4, 12, (512, 4)).astype("int32")
    target = np.concatenate([source[:, ::-1], np.full((512, 1), END_ID, "int32")], axis=1)
    translator = Seq2Seq(source_vocab_size=12, target_vocab_size=12, embedding_dim=16, encoder_units=24,
                         decoder_units=48, attention="bahdanau", input_feeding=True)
    translator.compile(optimizer=keras.optimizers.Adam(0.01), loss=losses.sequence_loss())
    history = translator.fit((source, teacher_forcing(target)), target, batch_size=64, epochs=12, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0], history.history["loss"]

    @jax.jit
    def translate(source):
        return [decoding.decode(translator, source, decoding.search_strategy(beam, 0.6), 8).ids for beam in (1, 3)]

    greedy, beam = translate(source[:64])
    assert fraction_right(greedy, target[:64]) >= 0.9, np.asarray(greedy)[:4]
    assert fraction_right(beam, target[:64]) >= fraction_right(greedy, target[:64]) - 0.05

    # Generation: a character model of a repeating text, sampled with top-k inside jax.jit.
    text = np.tile(np.arange(4, 10, dtype="int32"), 60)
    windows = np.stack([text[i:i + 13] for i in range(0, 300, 3)])
    language_model = RecurrentLanguageModel(10, embedding_dim=8, cell="lstm", units=32, num_layers=1)
    language_model.compile(optimizer=keras.optimizers.Adam(0.02), loss=losses.sequence_loss())
    language_model.fit(windows[:, :-1], windows[:, 1:], batch_size=20, epochs=30, verbose=0)
    prompt = np.array([[4, 5, 6]] * 2, "int32")

    @jax.jit
    def generate(uniforms):
        return decoding.decode(language_model, prompt, decoding.Sampling(top_k=2), 12, uniforms=uniforms).ids

    generated = np.asarray(generate(decoding.uniforms_for(3, 12, 2)))
    expected = np.tile(np.arange(4, 10), 3)[3:15]
    assert np.mean(generated == expected) >= 0.9, generated

    # Captioning: a small CNN and an attention LSTM name the colour of a square's image.
    colours = rng.integers(0, 3, 128)
    images = np.zeros((128, 16, 16, 3), "float32")
    images[np.arange(128), 4:12, 4:12, colours] = 1.0
    captions = np.stack([colours + 4, np.full(128, END_ID)], axis=1).astype("int32")
    captioner = Captioner(ImageEncoder("small_cnn", image_size=16, filters=16),
                          CaptionDecoder(8, embedding_dim=8, cell="lstm", units=24))
    captioner.compile(optimizer=keras.optimizers.Adam(0.01), loss=losses.sequence_loss())
    captioner.fit((images, teacher_forcing(captions)), captions, batch_size=16, epochs=8, verbose=0)

    @jax.jit
    def caption(images):
        return decoding.decode(captioner, images, decoding.BeamSearch(beam_size=2), 4).ids

    assert fraction_right(caption(images[:64]), captions[:64]) >= 0.9

    # Forecasting: two sines, channel-independent segments, SegRNN's parallel decoding and quantiles.
    steps = np.arange(2000)
    series = np.stack([np.sin(2 * np.pi * steps / 12), np.cos(2 * np.pi * steps / 8)], axis=1).astype("float32")
    starts = np.arange(24, 1990)
    past = np.stack([series[s - 24:s] for s in starts])
    future = np.stack([series[s:s + 8] for s in starts])
    forecaster = RecurrentForecaster(24, 8, num_targets=2, units=16, head="parallel", segment_length=4,
                                     quantiles=(0.1, 0.9))
    forecaster.compile(optimizer=keras.optimizers.Adam(0.01), loss=ForecastLoss((0.1, 0.9)))
    forecaster.fit(past, future, batch_size=64, epochs=4, verbose=0)
    forecast = np.asarray(jax.jit(forecaster)(past[:200]))
    naive_error = np.mean((past[:200, -1:] - future[:200]) ** 2)
    assert np.mean((forecast[..., 0] - future[:200]) ** 2) < 0.1 * naive_error

    # Pretraining: a bidirectional GRU language model with the sampled softmax learns a cycle of 9 words.
    stream = np.tile(np.arange(4, 13), 400)
    windows = np.stack([stream[s:s + 14] for s in range(0, len(stream) - 14, 3)]).astype("int32")
    pretrained = EncoderLanguageModel(40, 16, cell="gru", units=32, bidirectional=True, num_sampled=16, seed=1)
    pretrained.compile(optimizer=keras.optimizers.Adam(0.01), loss=mean_token_loss)
    history = pretrained.fit(windows, np.zeros(len(windows)), epochs=8, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.3 < 1.5 < history.history["loss"][0], history.history["loss"]
    print("ALL GOOD on", keras.backend.backend(), jax.devices()[0].platform)
''')


@pytest.mark.slow
def test_models_learn_and_decode_on_jax_without_tensorflow(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and "ALL GOOD on jax cpu" in done.stdout, done.stderr[-4000:]
